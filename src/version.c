/*-------------------------------------------------------------------------
 *
 * version.c
 *	  Kappa reprocessing: alter_view builds a new version of a view by
 *	  replaying the source from its first row, then switches the view's
 *	  name to it in one short transaction; rollback_view switches back.
 *
 * A version is an ordinary lambda view (its own catalog row, batch and
 * speed storage and relation) that shares its family with the others.  The
 * replaying version is created by the same code as create_view, folded by
 * the same fold as every view (one throttled chunk per worker round, each
 * chunk committed with its watermark, so a restart resumes where it was),
 * and its batch is built by the same recompute.  When it is within one
 * fold of the head, the switch folds it to the head and swaps the
 * relations' names, privileges, comments and product metadata, so readers
 * move from one exact version to the other.  The old version is retired:
 * kept, unfolded, for keep_old, then dropped; a rollback folds it up to the
 * head and switches back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "datatype/timestamp.h"
#include "utils/lsyscache.h"

#include "lambda_views.h"
#include "operations.h"
#include "definition.h"

PG_FUNCTION_INFO_V1(lv_alter_view);
PG_FUNCTION_INFO_V1(lv_rollback_view);

typedef struct VersionInfo
{
	int32		family;
	int32		version;
	char	   *role;
	int32		rows_per_second;	/* 0: unthrottled */
} VersionInfo;

/* version_info reads a view's version columns. */
static VersionInfo
version_info(int32 view_id)
{
	VersionInfo info = {0};
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_catalog_sql("SELECT family, version, role, coalesce(replay_rows_per_second, 0) "
						  "FROM lambda_views.views WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
						  NULL, false, 1);
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		info.family = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		info.version = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		info.role = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 3));
		info.rows_per_second = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	}
	SPI_finish();
	return info;
}

/*
 * family_member returns the view id of the family's member in a role (for
 * 'retired': the most recently retired one still kept), or 0.
 */
static int32
family_member(int32 family, const char *role)
{
	int32		view_id = 0;
	bool		isnull;

	SPI_connect();
	lv_catalog_sql("SELECT view_id FROM lambda_views.views WHERE family = $1 AND role = $2 "
						  "AND (role <> 'retired' OR retired_at + keep_old > now()) "
						  "ORDER BY retired_at DESC NULLS LAST, view_id DESC LIMIT 1",
						  2, (Oid[]) {INT4OID, TEXTOID},
						  (Datum[]) {Int32GetDatum(family), CStringGetTextDatum(role)},
						  NULL, false, 1);
	if (SPI_processed > 0)
		view_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return view_id;
}

/* relation_sql returns the quoted schema.name of a view's relation. */
static char *
relation_sql(LvView *view)
{
	return quote_qualified_identifier(view->view_schema, view->view_name);
}

/*
 * check_dependents reports (at elevel) and returns false when other
 * relations are defined over the serving relation: they would silently
 * follow the retired version.
 */
static bool
check_dependents(LvView *from, int elevel)
{
	char	   *dependents = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_spi_exec_args("SELECT pg_catalog.string_agg(DISTINCT r.ev_class::pg_catalog.regclass::text, ', ') "
						  "FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
						  "WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
						  "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
						  "AND d.refobjid = $1 AND r.ev_class <> $1",
						  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(from->relid)},
						  NULL, false, 1);
	if (SPI_processed > 0)
	{
		dependents = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (dependents != NULL)
			dependents = MemoryContextStrdup(cxt, dependents);
	}
	SPI_finish();
	if (dependents != NULL)
		ereport(elevel,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot switch lambda view %s to another version while other relations depend on it",
						relation_sql(from)),
				 errdetail("Relations defined over it: %s.", dependents),
				 errhint("Drop or redefine them, then run lambda_views.fold('%s') to switch; the current version keeps serving until then.",
						 relation_sql(from))));
	return dependents == NULL;
}

/*
 * rename_relation renames a lambda view's relation, past the rename guard,
 * as the catalog's owner: nobody else may create in the data schema.
 */
static void
rename_relation(const char *schema, const char *name, const char *new_schema,
				const char *new_name)
{
	bool		saved = lv_internal_ddl;
	Oid			saved_user;
	int			saved_sec;
	int			level = lv_become_catalog_owner(&saved_user, &saved_sec);

	lv_internal_ddl = true;
	PG_TRY();
	{
		lv_spi_exec(psprintf("ALTER VIEW %s RENAME TO %s",
							 quote_qualified_identifier(schema, name),
							 quote_identifier(new_name)), false, 0);
		if (strcmp(schema, new_schema) != 0)
			lv_spi_exec(psprintf("ALTER VIEW %s SET SCHEMA %s",
								 quote_qualified_identifier(schema, new_name),
								 quote_identifier(new_schema)), false, 0);
	}
	PG_FINALLY();
	{
		lv_internal_ddl = saved;
	}
	PG_END_TRY();
	lv_restore_user(saved_user, saved_sec, level);
}

/*
 * carry_over gives the new serving relation the old one's privileges and
 * comments, and moves the view's product metadata to the new version.
 */
static void
carry_over(LvView *from, LvView *to, const char *to_sql)
{
	uint64		i;

	lv_spi_exec_args("SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
						  "ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, "
						  "a.privilege_type, a.is_grantable "
						  "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
						  "WHERE c.oid = $1 AND a.grantee <> c.relowner",
						  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(from->relid)},
						  NULL, false, 0);
	{
		SPITupleTable *grants = SPI_tuptable;
		uint64		n = SPI_processed;

		for (i = 0; i < n; i++)
			lv_spi_exec(psprintf("GRANT %s ON %s TO %s%s",
								 SPI_getvalue(grants->vals[i], grants->tupdesc, 2), to_sql,
								 SPI_getvalue(grants->vals[i], grants->tupdesc, 1),
								 strcmp(SPI_getvalue(grants->vals[i], grants->tupdesc, 3), "t") == 0 ?
								 " WITH GRANT OPTION" : ""),
						false, 0);
	}
	lv_spi_exec_args("SELECT pg_catalog.format('COMMENT ON VIEW %s IS %L', $2, pg_catalog.obj_description($1, 'pg_class')) "
						  "WHERE pg_catalog.obj_description($1, 'pg_class') IS NOT NULL "
						  "UNION ALL "
						  "SELECT pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', $2, a.attname, "
						  "pg_catalog.col_description($1, a.attnum)) "
						  "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_attribute b "
						  "ON b.attrelid = $3 AND b.attname = a.attname AND NOT b.attisdropped "
						  "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
						  "AND pg_catalog.col_description($1, a.attnum) IS NOT NULL",
						  3, (Oid[]) {OIDOID, TEXTOID, OIDOID},
						  (Datum[]) {ObjectIdGetDatum(from->relid), CStringGetTextDatum(to_sql),
						  ObjectIdGetDatum(to->relid)},
						  NULL, false, 0);
	{
		SPITupleTable *comments = SPI_tuptable;
		uint64		n = SPI_processed;

		for (i = 0; i < n; i++)
			lv_spi_exec(SPI_getvalue(comments->vals[i], comments->tupdesc, 1), false, 0);
	}
	lv_catalog_sql("UPDATE lambda_views.products SET view_id = $2 WHERE view_id = $1",
						  2, (Oid[]) {INT4OID, INT4OID},
						  (Datum[]) {Int32GetDatum(from->view_id), Int32GetDatum(to->view_id)},
						  NULL, false, 0);
}

/*
 * switch_versions makes `to` serve under `from`'s name and retires `from`:
 * `to` is folded up to the head first, so it is exact when readers move.
 */
static void
switch_versions(LvView *from, LvView *to)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	char	   *retired_name = psprintf("v%d_retired", from->view_id);
	char	   *to_sql = quote_qualified_identifier(from->view_schema, from->view_name);

	(void) check_dependents(from, ERROR);
	/* the serving version's state first, as every path takes them */
	(void) lv_lock_state(from);
	(void) lv_fold_view(to, 0, 0, NULL, NULL);

	nestlevel = lv_become_owner(from, &saved_user, &saved_sec);
	(void) lv_lock_state(to);
	SPI_connect();
	rename_relation(from->view_schema, from->view_name, LV_DATA_SCHEMA, retired_name);
	lv_catalog_sql("UPDATE lambda_views.views SET view_schema = $2, view_name = $3, "
						  "role = 'retired', retired_at = now() WHERE view_id = $1",
						  3, (Oid[]) {INT4OID, NAMEOID, NAMEOID},
						  (Datum[]) {Int32GetDatum(from->view_id),
							  DirectFunctionCall1(namein, CStringGetDatum(LV_DATA_SCHEMA)),
						  DirectFunctionCall1(namein, CStringGetDatum(retired_name))},
						  NULL, false, 0);
	rename_relation(to->view_schema, to->view_name, from->view_schema, from->view_name);
	lv_catalog_sql("UPDATE lambda_views.views SET view_schema = $2, view_name = $3, "
						  "role = 'serving', retired_at = NULL WHERE view_id = $1",
						  3, (Oid[]) {INT4OID, NAMEOID, NAMEOID},
						  (Datum[]) {Int32GetDatum(to->view_id),
							  DirectFunctionCall1(namein, CStringGetDatum(from->view_schema)),
						  DirectFunctionCall1(namein, CStringGetDatum(from->view_name))},
						  NULL, false, 0);
	to->relid = get_relname_relid(from->view_name, get_namespace_oid(from->view_schema, false));
	carry_over(from, to, to_sql);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	ereport(LOG,
			(errmsg("lambda_views: %s switched from view %d to view %d",
					to_sql, from->view_id, to->view_id)));
}

/* drop_version drops one version's relation; storage and catalog follow. */
static void
drop_version(LvView *view)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;

	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	lv_spi_exec(psprintf("DROP VIEW IF EXISTS %s", relation_sql(view)), false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
}

/*
 * drop_versions drops the versions that a query with two int parameters
 * ($1, $2) selects by view id.
 */
static void
drop_versions(const char *query, int32 arg1, int32 arg2)
{
	List	   *ids = NIL;
	ListCell   *lc;
	uint64		i;
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_catalog_sql(query, 2, (Oid[]) {INT4OID, INT4OID},
						  (Datum[]) {Int32GetDatum(arg1), Int32GetDatum(arg2)},
						  NULL, false, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		ids = lappend_int(ids, DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	foreach(lc, ids)
	{
		LvView	   *view = lv_view_by_id(lfirst_int(lc), true);

		if (view != NULL)
			drop_version(view);
	}
}

/* drop_expired drops the retired versions of one family (0: all) past keep_old. */
static void
drop_expired(int32 family)
{
	drop_versions("SELECT view_id FROM lambda_views.views WHERE role = 'retired' "
				  "AND retired_at + keep_old <= now() AND ($1 = 0 OR family = $1) AND $2 = 0",
				  family, 0);
}

/* lv_drop_expired_versions drops every retired version past keep_old. */
void
lv_drop_expired_versions(void)
{
	drop_expired(0);
}

/*
 * lv_replay_keys returns how many keys a worker round may fold for a
 * view: -1 when it is not replaying, 0 for an unthrottled replay.
 */
int64
lv_replay_keys(LvView *view)
{
	VersionInfo info = version_info(view->view_id);

	if (info.role == NULL || strcmp(info.role, "replaying") != 0)
		return -1;
	if (info.rows_per_second == 0)
		return 0;
	return Max(1, (int64) info.rows_per_second * view->speed_interval_ms / 1000);
}

/*
 * lv_lock_serving_first locks the state row of the version that serves a
 * replaying view's family, if the view replays.  Every path that locks the
 * state rows of two versions locks the serving one first: a fold of the
 * serving version folds the replay after its own rows, so a worker about to
 * fold (and maybe switch in) a replay must not hold the replay's row while
 * it waits for the serving one.
 */
void
lv_lock_serving_first(LvView *view)
{
	VersionInfo info = version_info(view->view_id);
	int32		serving_id;

	if (info.role == NULL || strcmp(info.role, "replaying") != 0)
		return;
	serving_id = family_member(info.family, "serving");
	if (serving_id != 0)
		(void) lv_lock_state(lv_view_by_id(serving_id, false));
}

/*
 * lv_finish_replay switches a replaying version in once it is within one
 * fold chunk of the head; false while it is further behind.
 */
bool
lv_finish_replay(LvView *replay)
{
	VersionInfo info = version_info(replay->view_id);
	int32		serving_id = family_member(info.family, "serving");
	LvView	   *serving;
	LvState		state;

	if (serving_id == 0)
		return false;
	state = lv_lock_state(replay);
	if (lv_sequence_last_value(replay->key_sequence) - state.speed_watermark > lv_fold_chunk_rows)
		return false;
	serving = lv_view_by_id(serving_id, false);
	switch_versions(serving, replay);
	return true;
}

/*
 * lv_advance_versions drives a view's family without the workers (fold and
 * recompute call it): a pending replay is folded to the head and switched
 * in, and retired versions past keep_old are dropped.
 */
void
lv_advance_versions(LvView *view)
{
	VersionInfo info = version_info(view->view_id);
	int32		replay_id;

	if (info.role == NULL)
		return;
	replay_id = family_member(info.family, "replaying");
	if (replay_id != 0 && replay_id != view->view_id)
	{
		LvView	   *replay = lv_view_by_id(replay_id, false);
		int32		serving_id = family_member(info.family, "serving");

		(void) lv_fold_view(replay, 0, 0, NULL, NULL);
		/* the caller's own fold or recompute stands even if no switch */
		if (serving_id != 0 && check_dependents(lv_view_by_id(serving_id, false), WARNING))
			(void) lv_finish_replay(replay);
	}
	drop_expired(info.family);
}

/*
 * drop_family drops the other versions of a view that drop_view drops.
 */
static void
drop_family(LvView *view)
{
	VersionInfo info = version_info(view->view_id);

	if (info.role == NULL)
		return;
	drop_versions("SELECT view_id FROM lambda_views.views WHERE family = $1 AND view_id <> $2",
				  info.family, view->view_id);
}

/*
 * lv_alter_view is lambda_views.alter_view(name, query, rows_per_second,
 * keep_old): start building a new version from the first source row.
 */
Datum
lv_alter_view(PG_FUNCTION_ARGS)
{
	LvView	   *serving;
	VersionInfo info;
	LvDefinition *def;
	int32		view_id;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	bool		isnull;
	Datum		speed_interval;
	Datum		batch_interval;
	bool		no_batch_interval;
	MemoryContext cxt = CurrentMemoryContext;

	PreventCommandIfReadOnly("lambda_views.alter_view()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name and query of a lambda view must not be null")));
	if (!PG_ARGISNULL(2) && PG_GETARG_INT32(2) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rows_per_second must be positive"),
				 errhint("Pass NULL to replay as fast as the workers fold.")));
	if (!PG_ARGISNULL(3))
	{
		Interval	zero = {0};

		if (DatumGetBool(DirectFunctionCall2(interval_lt, PG_GETARG_DATUM(3),
											 IntervalPGetDatum(&zero))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("keep_old must not be negative"),
					 errhint("Pass '0' to keep no old version for rollback_view.")));
	}
	serving = lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)), ShareUpdateExclusiveLock);
	lv_check_owner(serving);
	lv_require_read_committed("alter_view");
	info = version_info(serving->view_id);
	if (strcmp(info.role, "serving") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not the serving version of a lambda view", serving->view_name),
				 errhint("Alter the view by the name its readers use.")));
	if (family_member(info.family, "replaying") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a new version of lambda view %s is already being built", relation_sql(serving)),
				 errhint("Wait for it to switch (see lambda_views.status), or drop it with lambda_views.drop_view() on its replay relation.")));

	/* validated like create_view, with the caller's search_path */
	def = lv_parse_definition(text_to_cstring(PG_GETARG_TEXT_PP(1)), serving->append_key);
	if (def->source != serving->source)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a new version of lambda view %s must read the same source", relation_sql(serving)),
				 errdetail("The view reads %s; the new query reads %s.",
						   get_rel_name(serving->source), get_rel_name(def->source)),
				 errhint("Create a new lambda view for another source.")));

	SPI_connect();
	lv_catalog_sql("SELECT speed_interval, batch_interval FROM lambda_views.views WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(serving->view_id)},
						  NULL, false, 1);
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		speed_interval = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
										   false, sizeof(Interval));
		batch_interval = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &no_batch_interval);
		if (!no_batch_interval)
			batch_interval = SPI_datumTransfer(batch_interval, false, sizeof(Interval));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();

	/* the new version belongs to the view's owner, like the old one */
	nestlevel = lv_become_owner(serving, &saved_user, &saved_sec);
	view_id = lv_create_version(def, InvalidOid, NULL, speed_interval, batch_interval,
								no_batch_interval, false);
	SPI_connect();
	lv_catalog_sql("UPDATE lambda_views.views v SET family = $2, "
						  "version = (SELECT max(version) + 1 FROM lambda_views.views WHERE family = $2), "
						  "role = 'replaying', replay_rows_per_second = $3, "
						  "replay_total = lambda_views.high_water_mark(v.view_id), "
						  "replay_started_at = now(), keep_old = coalesce($4, keep_old) WHERE view_id = $1",
						  4, (Oid[]) {INT4OID, INT4OID, INT4OID, INTERVALOID},
						  (Datum[]) {Int32GetDatum(view_id), Int32GetDatum(info.family),
							  PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2),
						  PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3)},
						  (char[]) {' ', ' ', PG_ARGISNULL(2) ? 'n' : ' ', PG_ARGISNULL(3) ? 'n' : ' ', '\0'},
						  false, 0);
	lv_catalog_sql("UPDATE lambda_views.views SET keep_old = coalesce($2, keep_old) WHERE view_id = $1",
						  2, (Oid[]) {INT4OID, INTERVALOID},
						  (Datum[]) {Int32GetDatum(serving->view_id), PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3)},
						  (char[]) {' ', PG_ARGISNULL(3) ? 'n' : ' ', '\0'}, false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	PG_RETURN_OID(get_relname_relid(psprintf("v%d_replay", view_id),
									get_namespace_oid(LV_DATA_SCHEMA, false)));
}

/*
 * lv_rollback_view is lambda_views.rollback_view(name): serve the most
 * recently retired version again, folded up to the head.
 */
Datum
lv_rollback_view(PG_FUNCTION_ARGS)
{
	LvView	   *serving;
	VersionInfo info;
	int32		retired_id;
	LvView	   *retired;

	PreventCommandIfReadOnly("lambda_views.rollback_view()");
	serving = lv_view_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)), AccessExclusiveLock);
	lv_check_owner(serving);
	lv_require_read_committed("rollback_view");
	info = version_info(serving->view_id);
	retired_id = family_member(info.family, "retired");
	if (strcmp(info.role, "serving") != 0 || retired_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lambda view %s has no earlier version to roll back to", relation_sql(serving)),
				 errdetail("Retired versions are kept for keep_old after a switch, then dropped."),
				 errhint("Use lambda_views.alter_view() with the earlier query instead.")));
	retired = lv_view_by_id(retired_id, false);
	switch_versions(serving, retired);
	PG_RETURN_INT32(info.version);
}

/*
 * lv_drop_view_op drops a lambda view: its other versions, its relation,
 * its storage and its catalog entry.  The caller holds the relation's
 * AccessExclusiveLock and has checked ownership.
 */
void
lv_drop_view_op(LvView *view)
{
	drop_family(view);
	SPI_connect();
	lv_spi_exec(psprintf("DROP VIEW %s", quote_qualified_identifier(view->view_schema, view->view_name)),
				false, 0);
	SPI_finish();
	lv_forget_view(view->view_schema, view->view_name);
}
