/*-------------------------------------------------------------------------
 *
 * src/api.c  (level: entry point)
 *	  SQL entry points: every C function the interface scripts install
 *	  (lambda_views--1.0.sql and its updates), in the order they list them.
 *	  Each one reads its arguments, refuses NULLs where they make no sense,
 *	  and calls the operation or layer below; none is called from C.
 *
 * Two kinds of SQL-callable C functions live elsewhere, with what they
 * belong to: the partial-state type's input/output functions and the
 * support functions of the partial/merge aggregates (partial.c, ground:
 * aggregate states), and the guard's trigger and event trigger functions
 * (guard.c), which PostgreSQL calls, not users.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "lambda_views.h"
#include "operations.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(lv_create_view);
PG_FUNCTION_INFO_V1(lv_fold);
PG_FUNCTION_INFO_V1(lv_recompute);
PG_FUNCTION_INFO_V1(lv_alter_view);
PG_FUNCTION_INFO_V1(lv_rollback_view);
PG_FUNCTION_INFO_V1(lv_drop_view);
PG_FUNCTION_INFO_V1(lv_tail);
PG_FUNCTION_INFO_V1(lv_tail_where);
PG_FUNCTION_INFO_V1(lv_serving_mark);
PG_FUNCTION_INFO_V1(lv_worker_pid);
PG_FUNCTION_INFO_V1(lv_wake_launcher);
PG_FUNCTION_INFO_V1(lv_pending_rows);
PG_FUNCTION_INFO_V1(lv_high_water_mark);
PG_FUNCTION_INFO_V1(lv_product_view_id);
PG_FUNCTION_INFO_V1(lv_run_check_sql);
PG_FUNCTION_INFO_V1(lv_completeness);
PG_FUNCTION_INFO_V1(lv_sync_comments);
PG_FUNCTION_INFO_V1(lv_purge);
PG_FUNCTION_INFO_V1(lv_upgrade_1_1_detach);
PG_FUNCTION_INFO_V1(lv_upgrade_1_1_attach);
PG_FUNCTION_INFO_V1(lv_upgrade_1_1_state);
PG_FUNCTION_INFO_V1(lv_upgrade_1_2_move);
PG_FUNCTION_INFO_V1(lv_upgrade_1_4_route);
PG_FUNCTION_INFO_V1(lv_upgrade_1_6_relation);
PG_FUNCTION_INFO_V1(lv_upgrade_1_7_speed);
PG_FUNCTION_INFO_V1(lv_fold_tally);
PG_FUNCTION_INFO_V1(lv_store_product);
PG_FUNCTION_INFO_V1(lv_store_check);
PG_FUNCTION_INFO_V1(lv_delete_check);
PG_FUNCTION_INFO_V1(lv_record_check);

/* view_id_arg returns the non-null view_id argument argno. */
static int32
view_id_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("view_id must not be null")));
	return PG_GETARG_INT32(argno);
}

/*
 * lv_create_view is lambda_views.create_view(name, query, append_key,
 * speed_interval, batch_interval, initial_batch, owner_role, description,
 * freshness_sla, completeness_sla, tags).
 */
Datum
lv_create_view(PG_FUNCTION_ARGS)
{
	Datum		product[5];
	bool		product_null[5];
	int			i;

	PreventCommandIfReadOnly("lambda_views.create_view()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and query of a lambda view must not be null")));
	for (i = 0; i < 5; i++)
	{
		product_null[i] = PG_ARGISNULL(6 + i);
		product[i] = product_null[i] ? (Datum) 0 : PG_GETARG_DATUM(6 + i);
	}
	PG_RETURN_OID(lv_create_view_op(text_to_cstring(PG_GETARG_TEXT_PP(0)),
									text_to_cstring(PG_GETARG_TEXT_PP(1)),
									PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2)),
									PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3),
									PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4),
									!PG_ARGISNULL(5) && PG_GETARG_BOOL(5),
									product, product_null));
}

/*
 * lv_fold is lambda_views.fold(name): fold now and return the number of
 * source rows folded.
 */
Datum
lv_fold(PG_FUNCTION_ARGS)
{
	LvView	   *view;
	int64		folded;

	PreventCommandIfReadOnly("lambda_views.fold()");
	view = lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)), NoLock);
	lv_check_owner(view);
	lv_refuse_retired(view, "fold");
	folded = lv_fold_view(view, 0, 0, NULL, 0, NULL);
	lv_drop_retired_batches(view, 0);
	lv_advance_versions(view);
	PG_RETURN_INT64(folded);
}

/*
 * lv_recompute is lambda_views.recompute(name): rebuild the batch now and
 * return the number of source rows read.
 */
Datum
lv_recompute(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	LvView	   *view;
	LvView	   *current;
	int64		rows;

	PreventCommandIfReadOnly("lambda_views.recompute()");
	view = lv_view_by_name(name, NoLock);
	lv_check_owner(view);
	lv_refuse_retired(view, "recompute");
	rows = lv_recompute_view(view);
	/* a pending alter_view switches now; its batch is built the same way */
	lv_advance_versions(view);
	current = lv_view_by_name(name, NoLock);
	if (current->view_id != view->view_id)
		rows = lv_recompute_view(current);
	PG_RETURN_INT64(rows);
}

/*
 * lv_alter_view is lambda_views.alter_view(name, query, rows_per_second,
 * keep_old): start building a new version from the first source row
 * (version.c); returns its relation while it replays.
 */
Datum
lv_alter_view(PG_FUNCTION_ARGS)
{
	int32		rows_per_second = 0;

	PreventCommandIfReadOnly("lambda_views.alter_view()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and query of a lambda view must not be null")));
	if (!PG_ARGISNULL(2))
		rows_per_second = PG_GETARG_INT32(2);
	PG_RETURN_OID(lv_alter_view_op(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								   text_to_cstring(PG_GETARG_TEXT_PP(1)),
								   PG_ARGISNULL(2) ? NULL : &rows_per_second,
								   PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3)));
}

/*
 * lv_rollback_view is lambda_views.rollback_view(name): serve the most
 * recently retired version again, folded up to the head (version.c);
 * returns the version that was serving.
 */
Datum
lv_rollback_view(PG_FUNCTION_ARGS)
{
	PreventCommandIfReadOnly("lambda_views.rollback_view()");
	PG_RETURN_INT32(lv_rollback_view_op(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * lv_drop_view is lambda_views.drop_view(name): drop the relation, its
 * storage and its catalog entry.
 */
Datum
lv_drop_view(PG_FUNCTION_ARGS)
{
	LvView	   *view;

	PreventCommandIfReadOnly("lambda_views.drop_view()");
	view = lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)), AccessExclusiveLock);
	lv_check_owner(view);
	lv_drop_view_op(view);
	PG_RETURN_VOID();
}

/*
 * lv_tail is lambda_views.tail(view_id, source): the partial states of the
 * committed source rows beyond the speed watermark, in the caller's
 * snapshot (serving.c).  Empty when lambda_views.realtime is off.
 */
Datum
lv_tail(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (lv_realtime)
		lv_serve_tail(PG_GETARG_INT32(0), rsinfo->setResult, rsinfo->expectedDesc, NULL);
	return (Datum) 0;
}

/*
 * lv_tail_where is lambda_views.tail_where(view_id, source, key_numbers,
 * VARIADIC key_values): the tail of the groups whose key key_numbers[i]
 * equals key_values[i] (serving.c).  The planner puts it in place of
 * lambda_views.tail in a read filtered on group keys (quiet.c).
 */
Datum
lv_tail_where(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LvTailFilter filter;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			i;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lambda_views.tail_where takes its key values one by one, not as a VARIADIC array")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("view_id and key_numbers must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("key_numbers must be a one-dimensional array")));
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &nulls, &filter.n);
	if (filter.n != PG_NARGS() - 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda_views.tail_where got %d key numbers and %d key values",
						filter.n, PG_NARGS() - 3),
				 errhint("Pass one value per key number.")));
	filter.keyno = palloc(Max(filter.n, 1) * sizeof(int));
	filter.values = palloc(Max(filter.n, 1) * sizeof(Datum));
	filter.types = palloc(Max(filter.n, 1) * sizeof(Oid));
	filter.any_null = false;
	for (i = 0; i < filter.n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("key_numbers must not contain nulls")));
		filter.keyno[i] = DatumGetInt32(elems[i]);
		filter.types[i] = get_fn_expr_argtype(fcinfo->flinfo, i + 3);
		if (!OidIsValid(filter.types[i]))
			elog(ERROR, "lambda_views.tail_where: could not determine the type of key value %d", i + 1);
		filter.any_null |= PG_ARGISNULL(i + 3);
		filter.values[i] = PG_ARGISNULL(i + 3) ? (Datum) 0 : PG_GETARG_DATUM(i + 3);
	}
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (lv_realtime)
		lv_serve_tail(PG_GETARG_INT32(0), rsinfo->setResult, rsinfo->expectedDesc, &filter);
	return (Datum) 0;
}

/*
 * lv_serving_mark is lambda_views.serving_mark(view_id): the read mark of a
 * view over a Citus distributed table, its batch generation and the key
 * ranges of its real-time tail (serving.c).
 */
Datum
lv_serving_mark(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		view_id = view_id_arg(fcinfo, 0);

	InitMaterializedSRF(fcinfo, 0);
	lv_serve_mark(view_id, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/*
 * lv_worker_pid is lambda_views.worker_pid(view_id): the pid of the worker
 * folding this database, or NULL when none runs (always when the library is
 * not preloaded).
 */
Datum
lv_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid = lv_db_worker_pid(MyDatabaseId);

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/*
 * lv_wake_launcher is lambda_views.wake_launcher(): called by CREATE
 * EXTENSION so the launcher starts a worker for this database once it
 * commits.  False when the library is not preloaded: there is no launcher.
 */
Datum
lv_wake_launcher(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lv_wake_launcher_at_commit());
}

/*
 * lv_pending_rows is lambda_views.pending_rows(view_id): the committed
 * source rows beyond the speed watermark (capture.c); NULL for callers who
 * may not read the view.
 */
Datum
lv_pending_rows(PG_FUNCTION_ARGS)
{
	int64		pending;

	if (!lv_view_pending_rows(PG_GETARG_INT32(0), &pending))
		PG_RETURN_NULL();
	PG_RETURN_INT64(pending);
}

/*
 * lv_high_water_mark is lambda_views.high_water_mark(view_id): the last
 * append key the source's sequence handed out (capture.c); NULL for callers
 * who may not read the view.
 */
Datum
lv_high_water_mark(PG_FUNCTION_ARGS)
{
	int64		high_water;

	if (!lv_view_high_water(PG_GETARG_INT32(0), &high_water))
		PG_RETURN_NULL();
	PG_RETURN_INT64(high_water);
}

/*
 * lv_product_view_id is lambda_views.product_view_id(name): the id of the
 * lambda view of that name, with the same errors as fold() and recompute().
 */
Datum
lv_product_view_id(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name of a lambda view must not be null")));
	PG_RETURN_INT32(lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)), NoLock)->view_id);
}

/*
 * lv_run_check_sql is lambda_views.run_check_sql(view_id, sql, search_path,
 * execute, OUT failing_rows, OUT first_row): runs, or only plans, a check
 * query as the view's owner (products.c).
 */
Datum
lv_run_check_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, true};
	int64		failing;
	char	   *first_row;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("view, check query and search_path must not be null")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lambda_views.run_check_sql must return a row")));
	lv_run_check(PG_GETARG_INT32(0), text_to_cstring(PG_GETARG_TEXT_PP(1)),
				 text_to_cstring(PG_GETARG_TEXT_PP(2)), PG_GETARG_BOOL(3),
				 &failing, &first_row);
	values[0] = Int64GetDatum(failing);
	if (first_row != NULL)
	{
		values[1] = CStringGetTextDatum(first_row);
		nulls[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * lv_completeness is lambda_views.completeness(view_id, OUT speed_watermark,
 * OUT source_rows, OUT covered_rows) (products.c).
 */
Datum
lv_completeness(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	int64		counts[3];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lambda_views.completeness must return a row")));
	lv_completeness_of(PG_GETARG_INT32(0), counts);
	for (i = 0; i < 3; i++)
		values[i] = Int64GetDatum(counts[i]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * lv_sync_comments is lambda_views.sync_comments(view_id): the view's and
 * its columns' comments from its product metadata (products.c).
 */
Datum
lv_sync_comments(PG_FUNCTION_ARGS)
{
	lv_sync_product_comments(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/*
 * lv_purge is lambda_views.purge(source, before, ts_column): the only way to
 * delete from a source (products.c).  Returns the rows deleted.
 */
Datum
lv_purge(PG_FUNCTION_ARGS)
{
	PreventCommandIfReadOnly("lambda_views.purge()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, before and ts_column of a purge must not be null"),
				 errhint("Pass the table, the cut-off time and the timestamp column, e.g. lambda_views.purge('events', now() - interval '90 days', 'ts').")));
	PG_RETURN_INT64(lv_purge_source(PG_GETARG_OID(0), PG_GETARG_DATUM(1),
									NameStr(*PG_GETARG_NAME(2))));
}

/*
 * require_superuser_update refuses anyone but a superuser running ALTER
 * EXTENSION lambda_views UPDATE: the upgrade_* functions below exist only
 * while an update script runs.
 */
static void
require_superuser_update(void)
{
	if (!superuser() || !creating_extension)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only ALTER EXTENSION lambda_views UPDATE may call this function")));
}

/* lv_upgrade_1_1_detach is lambda_views.upgrade_1_1_detach(view_id) (upgrade.c). */
Datum
lv_upgrade_1_1_detach(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_1_detach_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/* lv_upgrade_1_1_attach is lambda_views.upgrade_1_1_attach(view_id) (upgrade.c). */
Datum
lv_upgrade_1_1_attach(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_1_attach_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/* lv_upgrade_1_2_move is lambda_views.upgrade_1_2_move(view_id) (upgrade.c). */
Datum
lv_upgrade_1_2_move(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_2_move_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/* lv_upgrade_1_4_route is lambda_views.upgrade_1_4_route(view_id) (upgrade.c). */
Datum
lv_upgrade_1_4_route(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_4_route_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/* lv_upgrade_1_6_relation is lambda_views.upgrade_1_6_relation(view_id) (upgrade.c). */
Datum
lv_upgrade_1_6_relation(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_6_relation_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/* lv_upgrade_1_7_speed is lambda_views.upgrade_1_7_speed(view_id) (upgrade.c). */
Datum
lv_upgrade_1_7_speed(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	lv_upgrade_1_7_speed_view(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/*
 * lv_fold_tally is lambda_views.fold_tally(rows): a fold statement passes
 * each group's row count through it (speed.c); it returns its argument.
 * Called elsewhere it changes only the caller's own count of a fold it is
 * not running (fold_range resets it before its statement).
 */
Datum
lv_fold_tally(PG_FUNCTION_ARGS)
{
	int64		rows = PG_GETARG_INT64(0);

	lv_speed_tally(rows);
	PG_RETURN_INT64(rows);
}

/*
 * lv_upgrade_1_1_state is lambda_views.upgrade_1_1_state(state, aggregate):
 * a 1.0 state (bytea) as a lambda_views.state (upgrade.c).
 */
Datum
lv_upgrade_1_1_state(PG_FUNCTION_ARGS)
{
	require_superuser_update();
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("aggregate to run must not be null")));
	PG_RETURN_POINTER(lv_upgrade_1_1_wrap_state(PG_GETARG_BYTEA_PP(0), PG_GETARG_OID(1)));
}

/*
 * lv_store_product is lambda_views.store_product(view_id, owner_role,
 * description, freshness_sla, completeness_sla, tags, column_comments,
 * check_interval, via) (products.c): NULL keeps the current value.
 */
Datum
lv_store_product(PG_FUNCTION_ARGS)
{
	Datum		args[9];
	bool		nulls[9];
	int			i;

	(void) view_id_arg(fcinfo, 0);
	for (i = 0; i < 9; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		args[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	lv_store_product_op(args, nulls);
	PG_RETURN_VOID();
}

/*
 * lv_store_check is lambda_views.store_check(view_id, check_name, sql,
 * search_path) (products.c).
 */
Datum
lv_store_check(PG_FUNCTION_ARGS)
{
	int32		view_id = view_id_arg(fcinfo, 0);

	lv_store_check_op(view_id,
					  PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
					  PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
					  PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3));
	PG_RETURN_VOID();
}

/*
 * lv_delete_check is lambda_views.delete_check(view_id, check_name)
 * (products.c): false if there was no such check.
 */
Datum
lv_delete_check(PG_FUNCTION_ARGS)
{
	int32		view_id = view_id_arg(fcinfo, 0);

	PG_RETURN_BOOL(lv_delete_check_op(view_id, PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1)));
}

/*
 * lv_record_check is lambda_views.record_check(view_id, check_name, passed,
 * detail) (products.c).
 */
Datum
lv_record_check(PG_FUNCTION_ARGS)
{
	int32		view_id = view_id_arg(fcinfo, 0);
	bool		passed = false;

	if (!PG_ARGISNULL(2))
		passed = PG_GETARG_BOOL(2);
	lv_record_check_op(view_id, PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
					   PG_ARGISNULL(2) ? NULL : &passed,
					   PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3));
	PG_RETURN_VOID();
}

/*
 * The guard's triggers (guard.c): lambda_views.refuse_modification on every
 * source, lambda_views.on_sql_drop for DROP of a view's relation.
 */
PG_FUNCTION_INFO_V1(lv_refuse_modification);
PG_FUNCTION_INFO_V1(lv_on_sql_drop);

/*
 * lv_refuse_modification is the trigger that refuses UPDATE, DELETE and
 * TRUNCATE while a lambda view reads the table.
 */
Datum
lv_refuse_modification(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lambda_views.refuse_modification must be called as a trigger")));
	return lv_guard_modification((TriggerData *) fcinfo->context);
}

/*
 * lv_on_sql_drop is the sql_drop event trigger: when a lambda view's
 * relation is dropped, forget it.
 */
Datum
lv_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lambda_views.on_sql_drop must be called as an event trigger")));
	lv_guard_forget_dropped();
	PG_RETURN_VOID();
}
