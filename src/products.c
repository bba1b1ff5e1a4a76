/*-------------------------------------------------------------------------
 *
 * products.c
 *	  Data products: the pieces of lambda_views' product layer that must act
 *	  as another role than the caller.
 *
 * Quality checks read the source and the view's storage as the view's
 * owner (never as the caller, who may be the superuser of a background
 * worker), under the settings pinned at create_view.  Product comments are
 * written as the view's owner, for a member of the owning role or of the
 * product's owner_role.  lambda_views.purge() is the one governed way to
 * delete source rows: it deletes as the source's owner while the
 * immutability trigger lets exactly that statement through, then rebuilds
 * every view on the source in the same transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/syscache.h"

#include "lambda_views.h"
#include "definition.h"
#include "products.h"

PG_FUNCTION_INFO_V1(lv_product_view_id);
PG_FUNCTION_INFO_V1(lv_run_check_sql);
PG_FUNCTION_INFO_V1(lv_completeness);
PG_FUNCTION_INFO_V1(lv_sync_comments);
PG_FUNCTION_INFO_V1(lv_purge);

/* the source lambda_views.purge() is deleting from right now, if any */
static Oid	purging_source = InvalidOid;

/*
 * lv_purge_allows says whether the immutability trigger should let a DELETE
 * on relid through: only while purge() deletes from it or its partition root.
 * A backend-local variable, so no setting a user can SET opens the way.
 */
bool
lv_purge_allows(Oid relid)
{
	if (!OidIsValid(purging_source))
		return false;
	if (relid == purging_source)
		return true;
	return list_member_oid(get_partition_ancestors(relid), purging_source);
}

/* require_owner_privs fails unless the caller has the privileges of the view's owner. */
static void
require_owner_privs(LvView *view, const char *what)
{
	if (!has_privs_of_role(GetUserId(), view->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of lambda view \"%s\" to %s", view->view_name, what),
				 errhint("Only the view's owner or a member of the owning role can do this.")));
}

/*
 * lambda_views.product_view_id(name text): the id of the serving lambda view
 * of that name, with the same errors as fold() and recompute().
 */
Datum
lv_product_view_id(PG_FUNCTION_ARGS)
{
	LvView	   *view;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name of a lambda view must not be null")));
	view = lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_INT32(view->view_id);
}

/*
 * lambda_views.run_check_sql(view_id int, sql text, search_path text, execute bool,
 *                            OUT failing_rows bigint, OUT first_row text)
 *
 * Runs a user-defined check, as the view's owner under its pinned settings:
 * search_path as add_check's caller had it; the query is wrapped as a
 * subquery, so it can only be one SELECT (or VALUES, or WITH without
 * data-modifying parts).  Without execute, only
 * plans it (add_check validates this way).  The caller must have the
 * privileges of the view's owner.
 */
Datum
lv_run_check_sql(PG_FUNCTION_ARGS)
{
	LvView	   *view;
	char	   *sql;
	char	   *query;
	char	   *path;
	bool		execute = PG_GETARG_BOOL(3);
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	TupleDesc	tupdesc;
	Datum		values[2] = {0};
	bool		nulls[2] = {true, true};
	MemoryContext outer = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("view, check query and search_path must not be null")));
	view = lv_view_by_id(PG_GETARG_INT32(0), false);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	path = text_to_cstring(PG_GETARG_TEXT_PP(2));
	require_owner_privs(view, "run its checks");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	/* a newline first, so a trailing -- comment cannot swallow the rest */
	query = psprintf("SELECT pg_catalog.count(*) OVER (), pg_catalog.row_to_json(lv_check)::pg_catalog.text "
					 "FROM (%s\n) lv_check LIMIT 1", sql);

	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	/* names in the check resolve as they did for add_check's caller */
	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	values[0] = Int64GetDatum(0);
	nulls[0] = false;
	if (!execute)
	{
		/* one SELECT, said plainly before the wrapped form is planned */
		SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
		List	   *sources;

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		sources = SPI_plan_get_plan_sources(plan);
		if (list_length(sources) != 1 ||
			((CachedPlanSource *) linitial(sources))->commandTag != CMDTAG_SELECT)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("check query must be a single SELECT"),
					 errdetail("A check returns the rows that break it; it changes nothing."),
					 errhint("Pass a SELECT that returns no rows when all is well.")));
		if (SPI_prepare(query, 0, NULL) == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	}
	else if (SPI_execute(query, false, 1) > 0 && SPI_processed > 0)
	{
		bool		isnull;
		char	   *row;

		values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		row = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		if (row != NULL)
		{
			/* in the caller's context: SPI's goes away */
			MemoryContext old = MemoryContextSwitchTo(outer);

			values[1] = CStringGetTextDatum(row);
			MemoryContextSwitchTo(old);
			nulls[1] = false;
		}
	}
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * lambda_views.completeness(view_id int, OUT speed_watermark bigint,
 *                           OUT source_rows bigint, OUT covered_rows bigint)
 *
 * In one statement, so one snapshot: the source rows up to the speed
 * watermark that pass the view's filter, and the rows the current batch
 * generation and the speed table say they hold (sum of nrows).  As the
 * view's owner; the caller must have the owner's privileges.
 */
Datum
lv_completeness(PG_FUNCTION_ARGS)
{
	LvView	   *view = lv_view_by_id(PG_GETARG_INT32(0), false);
	LvDefinition *def;
	char	   *definition;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bool		isnull;
	int			i;

	require_owner_privs(view, "check it");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	SPI_execute_with_args("SELECT definition FROM lambda_views.views WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						  NULL, false, 1);
	if (SPI_processed == 0)
		elog(ERROR, "lambda view %d has no catalog entry", view->view_id);
	definition = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	def = lv_parse_definition(definition, view->append_key);

	/* the batch and speed rows a reader would use (see batch.c) */
	SPI_execute_with_args(psprintf("WITH g AS (SELECT pg_catalog.max(m.gen) AS gen FROM %s m WHERE m.nrows IS NULL) "
								   "SELECT st.speed_watermark, "
								   "(SELECT pg_catalog.count(*) FROM %s WHERE %s <= st.speed_watermark%s%s%s), "
								   "(SELECT COALESCE(pg_catalog.sum(b.nrows), 0)::bigint FROM %s b WHERE b.gen = g.gen) + "
								   "(SELECT COALESCE(pg_catalog.sum(s.nrows), 0)::bigint FROM %s s WHERE s.gen > g.gen) "
								   "FROM lambda_views.view_state st, g WHERE st.view_id = $1",
								   lv_storage_name(view, "batch"),
								   def->source_sql, quote_identifier(view->append_key),
								   def->where_sql ? " AND (" : "",
								   def->where_sql ? def->where_sql : "",
								   def->where_sql ? ")" : "",
								   lv_storage_name(view, "batch"), lv_storage_name(view, "speed")),
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						  NULL, false, 1);
	if (SPI_processed == 0)
		elog(ERROR, "lambda view %d has no state", view->view_id);
	for (i = 0; i < 3; i++)
		values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * lambda_views.sync_comments(view_id int): sets COMMENT ON VIEW from the
 * product's description and COMMENT ON COLUMN from its column_comments,
 * as the view's owner.  The caller must have the privileges of the view's
 * owner or be a member of the product's owner_role.
 */
Datum
lv_sync_comments(PG_FUNCTION_ARGS)
{
	LvView	   *view = lv_view_by_id(PG_GETARG_INT32(0), false);
	char	   *relname;
	char	   *description;
	Oid			owner_role = InvalidOid;
	bool		isnull;
	Oid			saved_user;
	int			saved_sec;
	uint64		i;
	uint64		ncols;
	SPITupleTable *cols;

	SPI_connect();
	SPI_execute_with_args("SELECT owner_role::pg_catalog.oid FROM lambda_views.products WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						  NULL, false, 1);
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			owner_role = DatumGetObjectId(d);
	}
	if (!has_privs_of_role(GetUserId(), view->owner) &&
		!(OidIsValid(owner_role) && is_member_of_role(GetUserId(), owner_role)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of lambda view \"%s\" or a member of its product's owner role",
						view->view_name)));

	relname = quote_qualified_identifier(view->view_schema, view->view_name);
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(view->owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	/* the description, and every column's comment (NULL removes it) */
	SPI_execute_with_args("SELECT p.description, a.attname, p.column_comments ->> a.attname::pg_catalog.text "
						  "FROM lambda_views.products p "
						  "JOIN pg_catalog.pg_attribute a ON a.attrelid = $2 AND a.attnum > 0 AND NOT a.attisdropped "
						  "WHERE p.view_id = $1 ORDER BY a.attnum",
						  2, (Oid[]) {INT4OID, OIDOID},
						  (Datum[]) {Int32GetDatum(view->view_id), ObjectIdGetDatum(view->relid)},
						  NULL, false, 0);
	cols = SPI_tuptable;
	ncols = SPI_processed;
	if (ncols > 0)
	{
		description = SPI_getvalue(cols->vals[0], cols->tupdesc, 1);
		SPI_execute(psprintf("COMMENT ON VIEW %s IS %s", relname,
							 description ? quote_literal_cstr(description) : "NULL"),
					false, 0);
	}
	for (i = 0; i < ncols; i++)
	{
		char	   *attname = SPI_getvalue(cols->vals[i], cols->tupdesc, 2);
		char	   *comment = SPI_getvalue(cols->vals[i], cols->tupdesc, 3);

		SPI_execute(psprintf("COMMENT ON COLUMN %s.%s IS %s", relname, quote_identifier(attname),
							 comment ? quote_literal_cstr(comment) : "NULL"),
					false, 0);
	}
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_sec);
	PG_RETURN_VOID();
}

/*
 * lambda_views.purge(source regclass, before timestamptz, ts_column name):
 * deletes the source rows whose ts_column is older than before, as the
 * source's owner, then folds and recomputes every lambda view on the source,
 * all in the caller's transaction, so readers see either the old rows and
 * the old views or neither.  Returns the number of rows deleted.
 */
Datum
lv_purge(PG_FUNCTION_ARGS)
{
	Oid			source;
	char	   *column;
	char	   *relname;
	AttrNumber	attnum;
	Oid			atttype;
	Oid			relowner;
	HeapTuple	tuple;
	Oid			saved_user;
	int			saved_sec;
	uint64		deleted = 0;
	List	   *view_ids = NIL;
	ListCell   *lc;
	uint64		i;
	MemoryContext outer = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, before and ts_column of a purge must not be null"),
				 errhint("Pass the table, the cut-off time and the timestamp column, e.g. lambda_views.purge('events', now() - interval '90 days', 'ts').")));
	source = PG_GETARG_OID(0);
	column = NameStr(*PG_GETARG_NAME(2));

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(source));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	relowner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	if (((Form_pg_class) GETSTRUCT(tuple))->relkind != RELKIND_RELATION &&
		((Form_pg_class) GETSTRUCT(tuple))->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot purge \"%s\": it is not a table", get_rel_name(source))));
	ReleaseSysCache(tuple);
	relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(source)),
										 get_rel_name(source));

	if (!has_privs_of_role(GetUserId(), relowner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s to purge rows from it", relname),
				 errhint("Only the source's owner or a member of the owning role can purge; the lambda views on it are recomputed as their own owners.")));

	attnum = get_attnum(source, column);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", column, relname),
				 errhint("Pass the name of the column that holds each row's time as ts_column.")));
	atttype = get_atttype(source, attnum);
	if (atttype != TIMESTAMPTZOID && atttype != TIMESTAMPOID && atttype != DATEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation %s is of type %s, not a timestamp",
						column, relname, format_type_be(atttype)),
				 errhint("Purge by a column of type timestamptz, timestamp or date.")));

	lv_require_read_committed("purge");

	/* delete as the source's owner, with the immutability trigger stood down */
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(relowner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	purging_source = source;
	PG_TRY();
	{
		SPI_connect();
		SPI_execute_with_args(psprintf("DELETE FROM %s WHERE %s < $1", relname,
									   quote_identifier(column)),
							  1, (Oid[]) {TIMESTAMPTZOID}, (Datum[]) {PG_GETARG_DATUM(1)},
							  NULL, false, 0);
		deleted = SPI_processed;
		SPI_finish();
	}
	PG_FINALLY();
	{
		purging_source = InvalidOid;
	}
	PG_END_TRY();
	SetUserIdAndSecContext(saved_user, saved_sec);

	/* every version of every view on it: fold, then rebuild the batch */
	SPI_connect();
	SPI_execute_with_args("SELECT view_id FROM lambda_views.views WHERE source = $1 ORDER BY view_id",
						  1, (Oid[]) {REGCLASSOID}, (Datum[]) {ObjectIdGetDatum(source)},
						  NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(outer);

		view_ids = lappend_int(view_ids,
							   DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	foreach(lc, view_ids)
	{
		LvView	   *view = lv_view_by_id(lfirst_int(lc), true);

		if (view == NULL)
			continue;
		(void) lv_fold_view(view, 0, 0, NULL);
		(void) lv_recompute_view(view);
	}

	ereport(LOG,
			(errmsg("lambda_views: purged " UINT64_FORMAT " rows of %s older than %s by \"%s\", and recomputed %d lambda views",
					deleted, relname,
					DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(1))),
					column, list_length(view_ids))));
	PG_RETURN_INT64((int64) deleted);
}
