/*-------------------------------------------------------------------------
 *
 * src/operations/products.c  (level: operation)
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/syscache.h"

#include "lambda_views.h"
#include "operations.h"
#include "definition.h"


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
 * lv_run_check (lambda_views.run_check_sql) runs a user-defined check and
 * sets *failing_rows and *first_row (the first failing row as JSON, NULL
 * when none).  It runs as the view's owner under its pinned settings:
 * search_path as add_check's caller had it; the query is wrapped as a
 * subquery, so it can only be one SELECT (or VALUES, or WITH without
 * data-modifying parts).  Without execute, only
 * plans it (add_check validates this way).  The caller must have the
 * privileges of the view's owner.
 */
void
lv_run_check(int32 view_id, const char *sql, const char *path, bool execute,
			 int64 *failing_rows, char **first_row)
{
	LvView	   *view;
	char	   *query;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	MemoryContext outer = CurrentMemoryContext;

	view = lv_view_by_id(view_id, false);
	require_owner_privs(view, "run its checks");
	*failing_rows = 0;
	*first_row = NULL;

	/* a newline first, so a trailing -- comment cannot swallow the rest */
	query = psprintf("SELECT pg_catalog.count(*) OVER (), pg_catalog.row_to_json(lv_check)::pg_catalog.text "
					 "FROM (%s\n) lv_check LIMIT 1", sql);

	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	/* names in the check resolve as they did for add_check's caller */
	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
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
	else if (lv_spi_exec(query, false, 1) > 0 && SPI_processed > 0)
	{
		bool		isnull;
		char	   *row;

		*failing_rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
		row = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		/* in the caller's context: SPI's goes away */
		if (row != NULL)
			*first_row = MemoryContextStrdup(outer, row);
	}
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
}

/*
 * lv_completeness_of (lambda_views.completeness) sets counts to the speed
 * watermark, the source rows and the covered rows of a view.
 *
 * In one statement, so one snapshot: the source rows up to the speed
 * watermark that pass the view's filter, and the rows the current batch
 * generation and the speed table say they hold (sum of nrows).  As the
 * view's owner; the caller must have the owner's privileges.
 */
void
lv_completeness_of(int32 view_id, int64 *counts)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	LvDefinition *def;
	char	   *definition;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	bool		isnull;
	int			i;

	require_owner_privs(view, "check it");

	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	lv_catalog_sql("SELECT definition FROM lambda_views.views WHERE view_id = $1",
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						  NULL, false, 1);
	if (SPI_processed == 0)
		elog(ERROR, "lambda view %d has no catalog entry", view->view_id);
	definition = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	def = lv_parse_definition(definition, view->append_key);

	/*
	 * the batch and speed rows a reader would use (see batch.c), against
	 * the source rows up to the speed watermark but its holes (speed.c)
	 */
	lv_spi_exec_args(psprintf("WITH g AS (SELECT pg_catalog.max(m.gen) AS gen FROM %s m WHERE m.nrows IS NULL) "
								   "SELECT st.speed_watermark, "
								   "(SELECT pg_catalog.count(*) FROM %s WHERE %s <= st.speed_watermark "
								   "AND NOT st.speed_holes OPERATOR(pg_catalog.@>) %s::pg_catalog.int8%s%s%s), "
								   "(SELECT COALESCE(pg_catalog.sum(b.nrows), 0)::bigint FROM %s b WHERE b.gen = g.gen) + "
								   "(SELECT COALESCE(pg_catalog.sum(s.nrows), 0)::bigint FROM %s s WHERE s.gen > g.gen) "
								   "FROM lambda_views.view_state st, g WHERE st.view_id = $1",
								   lv_storage_name(view, "batch"),
								   def->source_sql, quote_identifier(view->append_key),
								   quote_identifier(view->append_key),
								   def->where_sql ? " AND (" : "",
								   def->where_sql ? def->where_sql : "",
								   def->where_sql ? ")" : "",
								   lv_storage_name(view, "batch"), lv_storage_name(view, "speed")),
						  1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						  NULL, false, 1);
	if (SPI_processed == 0)
		elog(ERROR, "lambda view %d has no state", view->view_id);
	for (i = 0; i < 3; i++)
		counts[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												i + 1, &isnull));
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
}

/*
 * lv_sync_product_comments (lambda_views.sync_comments) sets COMMENT ON VIEW from the
 * product's description and COMMENT ON COLUMN from its column_comments,
 * as the view's owner.  The caller must have the privileges of the view's
 * owner or be a member of the product's owner_role.
 */
void
lv_sync_product_comments(int32 view_id)
{
	LvView	   *view = lv_view_by_id(view_id, false);
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
	lv_catalog_sql("SELECT owner_role::pg_catalog.oid FROM lambda_views.products WHERE view_id = $1",
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
	lv_catalog_sql("SELECT p.description, a.attname, p.column_comments ->> a.attname::pg_catalog.text "
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
		lv_spi_exec(psprintf("COMMENT ON VIEW %s IS %s", relname,
							 description ? quote_literal_cstr(description) : "NULL"),
					false, 0);
	}
	for (i = 0; i < ncols; i++)
	{
		char	   *attname = SPI_getvalue(cols->vals[i], cols->tupdesc, 2);
		char	   *comment = SPI_getvalue(cols->vals[i], cols->tupdesc, 3);

		lv_spi_exec(psprintf("COMMENT ON COLUMN %s.%s IS %s", relname, quote_identifier(attname),
							 comment ? quote_literal_cstr(comment) : "NULL"),
					false, 0);
	}
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_sec);
}

/*
 * lv_purge_source (lambda_views.purge(source, before, ts_column)) deletes the source rows whose ts_column is older than before, as the
 * source's owner, then folds and recomputes every lambda view on the source,
 * all in the caller's transaction, so readers see either the old rows and
 * the old views or neither.  Returns the number of rows deleted.
 */
int64
lv_purge_source(Oid source, Datum before, const char *column)
{
	char	   *relname;
	AttrNumber	attnum;
	Oid			atttype;
	Oid			relowner;
	HeapTuple	tuple;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	uint64		deleted = 0;
	List	   *view_ids = NIL;
	ListCell   *lc;
	uint64		i;
	MemoryContext outer = CurrentMemoryContext;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(source));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	relowner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	if (lv_citus_distributed(source))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("purge is not supported for Citus distributed table \"%s\"",
						NameStr(((Form_pg_class) GETSTRUCT(tuple))->relname)),
				 errdetail("The guard refuses DELETE on every shard of a lambda view's source."),
				 errhint("Keep the rows, or drop the lambda views over the table before deleting from it.")));
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
	nestlevel = lv_pin_search_path();
	lv_guard_allow_purge(source);
	PG_TRY();
	{
		SPI_connect();
		lv_spi_exec_args(psprintf("DELETE FROM %s WHERE %s < $1", relname,
									   quote_identifier(column)),
							  1, (Oid[]) {TIMESTAMPTZOID}, (Datum[]) {before},
							  NULL, false, 0);
		deleted = SPI_processed;
		SPI_finish();
	}
	PG_FINALLY();
	{
		lv_guard_allow_purge(InvalidOid);
	}
	PG_END_TRY();
	lv_restore_user(saved_user, saved_sec, nestlevel);

	/* every version of every view on it: fold, then rebuild the batch */
	SPI_connect();
	lv_catalog_sql("SELECT view_id FROM lambda_views.views WHERE source = $1 ORDER BY view_id",
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
		(void) lv_fold_view(view, 0, 0, NULL, 0, NULL);
		(void) lv_recompute_view(view);
	}

	ereport(LOG,
			(errmsg("lambda_views: purged " UINT64_FORMAT " rows of %s older than %s by \"%s\", and recomputed %d lambda views",
					deleted, relname,
					DatumGetCString(DirectFunctionCall1(timestamptz_out, before)),
					column, list_length(view_ids))));
	return (int64) deleted;
}

/*
 * The catalog tables of data products are written only here, by the
 * extension, as the catalog's owner, after the caller's privileges and the
 * governance policies have been checked; PUBLIC has no write privilege on
 * them.
 */

/* product_owner_role returns the product's owner_role, or InvalidOid. */
static Oid
product_owner_role(int32 view_id)
{
	Oid			role = InvalidOid;

	lv_catalog_sql("SELECT owner_role::pg_catalog.oid FROM lambda_views.products WHERE view_id = $1",
				   1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
				   NULL, true, 1);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			role = DatumGetObjectId(d);
	}
	return role;
}

/* ensure_product makes sure the view has a product row (checks need one). */
static void
ensure_product(int32 view_id)
{
	lv_catalog_sql("INSERT INTO lambda_views.products (view_id) VALUES ($1) ON CONFLICT DO NOTHING",
				   1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
				   NULL, false, 0);
}

/*
 * lv_store_product_op (lambda_views.store_product(view_id, owner_role,
 * description, freshness_sla, completeness_sla, tags, column_comments,
 * check_interval, via), its arguments in args/argnulls) sets a view's product metadata (NULL keeps the current value; in
 * column_comments a null comment removes one), for the view's owner or a
 * member of the product's owner role, after the merged values and the
 * governance policies are checked (via names the function to hint at).
 */
void
lv_store_product_op(const Datum *args, const bool *argnulls)
{
	LvView	   *view = lv_view_by_id(DatumGetInt32(args[0]), false);
	Oid			caller = GetUserId();
	Oid			current_role;
	Oid			new_role;
	bool		owns = has_privs_of_role(caller, view->owner);
	Datum		values[8];
	char		nulls[9];
	bool		isnull;
	int			i;
	static const Oid types[8] = {INT4OID, REGROLEOID, TEXTOID, INTERVALOID, NUMERICOID,
	TEXTARRAYOID, JSONBOID, INTERVALOID};
	MemoryContext outer = CurrentMemoryContext;

	for (i = 0; i < 8; i++)
	{
		values[i] = argnulls[i] ? (Datum) 0 : args[i];
		nulls[i] = argnulls[i] ? 'n' : ' ';
	}
	nulls[8] = '\0';
	SPI_connect();
	current_role = product_owner_role(view->view_id);
	if (!owns && !(OidIsValid(current_role) && is_member_of_role(caller, current_role)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of lambda view \"%s\" to change its product metadata",
						view->view_name),
				 errhint("Only the view's owner or a member of the owning role or of the product's owner_role can do this.")));
	new_role = argnulls[1] ? InvalidOid : DatumGetObjectId(args[1]);
	if (OidIsValid(new_role) && new_role != current_role && !owns &&
		!is_member_of_role(caller, new_role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot hand lambda view \"%s\" to role %s", view->view_name,
						GetUserNameFromId(new_role, false)),
				 errdetail("Only the view's owner can name an owner role it is not a member of.")));
	/* the arguments checked on their own, then the merged product */
	lv_spi_exec_args("SELECT lambda_views.validate_product($4, $5, $8, $7, $1)",
					 8, (Oid *) types, values, nulls, true, 0);
	lv_catalog_sql("SELECT $1, COALESCE($2, p.owner_role), COALESCE($3, p.description), "
				   "COALESCE($4, p.freshness_sla), COALESCE($5, p.completeness_sla), "
				   "COALESCE($6, p.tags, '{}'), "
				   "pg_catalog.jsonb_strip_nulls(COALESCE(p.column_comments, '{}') || COALESCE($7, '{}')), "
				   "COALESCE($8, p.check_interval) "
				   "FROM (SELECT 1) x LEFT JOIN lambda_views.products p ON p.view_id = $1",
				   8, (Oid *) types, values, nulls, true, 1);
	for (i = 0; i < 8; i++)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(outer);

		values[i] = isnull ? (Datum) 0 :
			datumCopy(d, TupleDescAttr(SPI_tuptable->tupdesc, i)->attbyval,
					  TupleDescAttr(SPI_tuptable->tupdesc, i)->attlen);
		nulls[i] = isnull ? 'n' : ' ';
		MemoryContextSwitchTo(old);
	}
	lv_spi_exec_args("SELECT lambda_views.enforce_policies($1, $2, $3, $4, $5)",
					 5, (Oid[]) {INT4OID, REGROLEOID, TEXTOID, INTERVALOID, TEXTOID},
					 (Datum[]) {values[0], values[1], values[2], values[3],
						 argnulls[8] ? CStringGetTextDatum("lambda_views.set_product") : args[8]},
					 (char[]) {' ', nulls[1], nulls[2], nulls[3], ' ', '\0'}, true, 0);
	lv_catalog_sql("INSERT INTO lambda_views.products AS t (view_id, owner_role, description, freshness_sla, "
				   "completeness_sla, tags, column_comments, check_interval) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
				   "ON CONFLICT (view_id) DO UPDATE SET owner_role = EXCLUDED.owner_role, "
				   "description = EXCLUDED.description, freshness_sla = EXCLUDED.freshness_sla, "
				   "completeness_sla = EXCLUDED.completeness_sla, tags = EXCLUDED.tags, "
				   "column_comments = EXCLUDED.column_comments, check_interval = EXCLUDED.check_interval",
				   8, (Oid *) types, values, nulls, false, 0);
	SPI_finish();
}

/*
 * lv_store_check_op (lambda_views.store_check(view_id, check_name, sql,
 * search_path)) adds or
 * replaces a check, for the view's owner, once the query plans as one
 * SELECT as the view's owner; forgets the check's last result.
 */
void
lv_store_check_op(int32 view_id, text *check_name, text *sql, text *search_path)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	char	   *name;

	require_owner_privs(view, "add checks to it");
	if (check_name == NULL || sql == NULL || search_path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("check name, query and search_path must not be null")));
	name = text_to_cstring(check_name);
	if (strspn(name, " \t\n\r") == strlen(name) ||
		strcmp(name, "completeness") == 0 || strcmp(name, "freshness") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid check name %s", quote_literal_cstr(name)),
				 errdetail("completeness and freshness are the names of the built-in checks."),
				 errhint("Name the check after what it verifies, e.g. 'no_negative_totals'.")));
	SPI_connect();
	/* plan it now, as the view's owner: a typo is refused here */
	lv_spi_exec_args("SELECT lambda_views.run_check_sql($1, $2, $3, false)",
					 3, (Oid[]) {INT4OID, TEXTOID, TEXTOID},
					 (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(sql),
						 PointerGetDatum(search_path)},
					 NULL, true, 0);
	ensure_product(view->view_id);
	lv_catalog_sql("INSERT INTO lambda_views.checks (view_id, check_name, sql, search_path, created_by, created_at) "
				   "VALUES ($1, $2, $3, $4, $5, pg_catalog.now()) "
				   "ON CONFLICT ON CONSTRAINT checks_pkey DO UPDATE SET sql = EXCLUDED.sql, "
				   "search_path = EXCLUDED.search_path, created_by = EXCLUDED.created_by, "
				   "created_at = EXCLUDED.created_at",
				   5, (Oid[]) {INT4OID, TEXTOID, TEXTOID, TEXTOID, REGROLEOID},
				   (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(check_name),
					   PointerGetDatum(sql), PointerGetDatum(search_path),
				   ObjectIdGetDatum(GetUserId())},
				   NULL, false, 0);
	lv_catalog_sql("DELETE FROM lambda_views.check_results WHERE view_id = $1 AND check_name = $2",
				   2, (Oid[]) {INT4OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(check_name)},
				   NULL, false, 0);
	SPI_finish();
}

/*
 * lv_delete_check_op (lambda_views.delete_check(view_id, check_name)) removes a check and its
 * last result, for the view's owner; false if there was no such check.
 */
bool
lv_delete_check_op(int32 view_id, text *check_name)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	bool		found;

	require_owner_privs(view, "remove its checks");
	if (check_name == NULL)
		return false;
	SPI_connect();
	lv_catalog_sql("DELETE FROM lambda_views.checks WHERE view_id = $1 AND check_name = $2",
				   2, (Oid[]) {INT4OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(check_name)},
				   NULL, false, 0);
	found = SPI_processed > 0;
	lv_catalog_sql("DELETE FROM lambda_views.check_results WHERE view_id = $1 AND check_name = $2",
				   2, (Oid[]) {INT4OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(check_name)},
				   NULL, false, 0);
	SPI_finish();
	return found;
}

/*
 * lv_record_check_op (lambda_views.record_check(view_id, check_name, passed,
 * detail)) stores a
 * check's result, for the view's owner (the checks run as the owner).  A
 * failure is logged as a WARNING and announced with NOTIFY on channel
 * lambda_views_alerts; the payload names the view and the check, never any
 * data (a listener may not be allowed to read the view).
 */
void
lv_record_check_op(int32 view_id, text *check_name, const bool *result, text *detail)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	bool		passed;

	require_owner_privs(view, "record its checks");
	if (check_name == NULL || result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("check name and result must not be null")));
	passed = *result;
	SPI_connect();
	ensure_product(view->view_id);
	lv_catalog_sql("INSERT INTO lambda_views.check_results AS r (view_id, check_name, passed, detail, checked_at) "
				   "VALUES ($1, $2, $3, $4, pg_catalog.clock_timestamp()) "
				   "ON CONFLICT ON CONSTRAINT check_results_pkey DO UPDATE SET passed = EXCLUDED.passed, "
				   "detail = EXCLUDED.detail, checked_at = EXCLUDED.checked_at",
				   4, (Oid[]) {INT4OID, TEXTOID, BOOLOID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id), PointerGetDatum(check_name),
					   BoolGetDatum(passed), PointerGetDatum(detail)},
				   (char[]) {' ', ' ', ' ', detail == NULL ? 'n' : ' ', '\0'}, false, 0);
	if (!passed)
	{
		char	   *target = quote_qualified_identifier(view->view_schema, view->view_name);
		char	   *check = text_to_cstring(check_name);

		ereport(WARNING,
				(errmsg("lambda view %s: check \"%s\" failed", target, check),
				 detail == NULL ? 0 : errdetail("%s", text_to_cstring(detail))));
		lv_catalog_sql("SELECT pg_catalog.pg_notify('lambda_views_alerts', "
					   "pg_catalog.json_build_object('view', $1, 'check', $2, 'at', "
					   "pg_catalog.clock_timestamp())::pg_catalog.text)",
					   2, (Oid[]) {TEXTOID, TEXTOID},
					   (Datum[]) {CStringGetTextDatum(target), PointerGetDatum(check_name)},
					   NULL, false, 0);
	}
	SPI_finish();
}
