/*-------------------------------------------------------------------------
 *
 * src/ground/catalog.c  (level: ground)
 *	  The extension's own metadata: lambda_views.views and view_state.
 *	  Reading a view's entry, locking its state, and acting as its owner.
 *
 * Nobody but the extension writes the catalog tables: every statement on
 * them runs through lv_catalog_sql, as the tables' owner (who created the
 * extension), under search_path = pg_catalog, pg_temp, in a security-
 * restricted operation.  Those statements are fixed text with parameters
 * and contain no user expression, so no user code ever runs with that
 * role's rights; the callers check the caller's privileges first.  Code
 * that does run user expressions (the view's query, RLS policies on the
 * source, check queries) runs as the view's owner (lv_become_owner), and
 * every setting it changes is undone when it returns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "storage/lmgr.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/xid8.h"

#include "lambda_views.h"
#include "definition.h"

#define VIEW_COLUMNS \
	"view_id, view_schema, view_name, source, owner, append_key, key_sequence, " \
	"settings, partial_sql, fold_sql, batch_sql, " \
	"(extract(epoch FROM speed_interval) * 1000)::bigint, " \
	"coalesce((extract(epoch FROM batch_interval) * 1000)::bigint, 0), role, "

/*
 * catalog_has_column says whether a catalog table of the extension has a
 * column: a catalog older than 1.2 lacks the columns 1.2 added while ALTER
 * EXTENSION UPDATE runs the earlier steps (the library refuses to fold or
 * recompute against it, but reads and the update itself load views).
 */
static bool
catalog_has_column(const char *table, const char *column)
{
	Oid			relid = get_relname_relid(table, get_namespace_oid("lambda_views", false));

	return OidIsValid(relid) && get_attnum(relid, column) != InvalidAttrNumber;
}

/*
 * lv_storage_schema_column is the column of lambda_views.views that names a
 * view's storage schema, as SQL; before 1.2 every view's storage is in the
 * shared data schema.
 */
const char *
lv_storage_schema_column(void)
{
	if (catalog_has_column("views", "storage_schema"))
		return "storage_schema";
	return "'" LV_DATA_SCHEMA "'::pg_catalog.name";
}

/* view_columns is the select list view_from_row reads. */
static char *
view_columns(void)
{
	return psprintf(VIEW_COLUMNS "%s", lv_storage_schema_column());
}

/* text_column returns a text column of the current SPI row, or NULL. */
static char *
text_column(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* datum_column returns a non-null column of the current SPI row. */
static Datum
datum_column(int col)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0],
									  SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		elog(ERROR, "unexpected null in lambda_views catalog column %d", col);
	return value;
}

/* view_from_row builds an LvView in cxt from the first row of SPI_tuptable. */
static LvView *
view_from_row(MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	LvView	   *view = palloc0(sizeof(LvView));
	Datum	   *elems;
	int			nelems;
	int			i;
	Oid			dataschema;

	view->view_id = DatumGetInt32(datum_column(1));
	view->view_schema = text_column(2);
	view->view_name = text_column(3);
	view->source = DatumGetObjectId(datum_column(4));
	view->owner = DatumGetObjectId(datum_column(5));
	view->append_key = text_column(6);
	view->key_sequence = DatumGetObjectId(datum_column(7));
	deconstruct_array(DatumGetArrayTypeP(datum_column(8)), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, NULL, &nelems);
	for (i = 0; i < nelems; i++)
		view->settings = lappend(view->settings, TextDatumGetCString(elems[i]));
	view->partial_sql = text_column(9);
	view->fold_sql = text_column(10);
	view->batch_sql = text_column(11);
	view->speed_interval_ms = DatumGetInt64(datum_column(12));
	view->batch_interval_ms = DatumGetInt64(datum_column(13));
	view->retired = strcmp(text_column(14), "retired") == 0;
	view->data_schema = text_column(15);

	view->relid = get_relname_relid(view->view_name,
									get_namespace_oid(view->view_schema, true));
	dataschema = get_namespace_oid(view->data_schema, true);
	view->speed_table = get_relname_relid(psprintf("v%d_speed", view->view_id), dataschema);
	view->batch_table = get_relname_relid(psprintf("v%d_batch", view->view_id), dataschema);
	view->gen_sequence = get_relname_relid(psprintf("v%d_gen", view->view_id), dataschema);
	/* last: it may run a statement of its own */
	view->distributed = lv_citus_distributed(view->source);
	MemoryContextSwitchTo(oldcxt);
	return view;
}

/*
 * owner_before_lock is the RangeVarGetRelidExtended callback of
 * lv_view_by_name: nobody but the owner may queue for a lock that stops
 * readers of someone else's view.
 */
static void
owner_before_lock(const RangeVar *relation, Oid relid, Oid oldrelid, void *arg)
{
	if (!OidIsValid(relid))
		return;
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of lambda view \"%s\"", relation->relname),
				 errhint("Only the view's owner or a member of the owning role can do this.")));
}

/*
 * lv_view_by_name finds a lambda view by its relation name, given in SQL
 * identifier syntax as regclass input takes it, and locks the relation in
 * lockmode (the owner's check comes first).  NoLock is for operations that
 * may switch versions, which rename the relation under AccessExclusiveLock:
 * holding a weaker lock first would be a lock upgrade.  They lock the
 * view's state row instead, which drop_view's catalog delete waits for.
 */
LvView *
lv_view_by_name(const char *name, LOCKMODE lockmode)
{
	RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(name));
	Oid			relid = RangeVarGetRelidExtended(rv, lockmode, RVR_MISSING_OK,
												 lockmode == NoLock ? NULL : owner_before_lock,
												 NULL);
	LvView	   *view;
	MemoryContext cxt = CurrentMemoryContext;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("lambda view \"%s\" does not exist", name),
				 errhint("SELECT view FROM lambda_views.status lists the lambda views.")));

	SPI_connect();
	lv_catalog_sql(psprintf("SELECT %s FROM lambda_views.views "
							"WHERE view_schema = $1 AND view_name = $2", view_columns()),
						  2, (Oid[]) {NAMEOID, NAMEOID},
						  (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(get_rel_namespace(relid)))),
						  DirectFunctionCall1(namein, CStringGetDatum(get_rel_name(relid)))},
						  NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a lambda view", name),
				 errhint("Create one with lambda_views.create_view().")));
	view = view_from_row(cxt);
	SPI_finish();
	return view;
}

/* lv_view_by_id finds a lambda view by id. */
LvView *
lv_view_by_id(int32 view_id, bool missing_ok)
{
	LvView	   *view = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_catalog_sql(psprintf("SELECT %s FROM lambda_views.views WHERE view_id = $1",
							view_columns()),
						  1, (Oid[]) {INT4OID},
						  (Datum[]) {Int32GetDatum(view_id)}, NULL, false, 1);
	if (SPI_processed > 0)
		view = view_from_row(cxt);
	SPI_finish();
	if (view == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lambda view %d does not exist", view_id)));
	return view;
}

/* lv_all_view_ids lists every view id in this database. */
List *
lv_all_view_ids(void)
{
	List	   *ids = NIL;
	uint64		i;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_catalog_sql("SELECT view_id FROM lambda_views.views ORDER BY view_id",
				   0, NULL, NULL, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		ids = lappend_int(ids, DatumGetInt32(id));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return ids;
}

/*
 * lv_lock_state locks the view's state row (serializing folds and swaps of
 * one view) and returns its newest committed contents.
 */
LvState
lv_lock_state(LvView *view)
{
	LvState		state;
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	/* before 1.2 there are no holes */
	lv_catalog_sql(psprintf("SELECT speed_watermark, batch_watermark, batch_gen, speed_gen, "
							"gen_start_watermark, batch_swap_xid, %s "
							"FROM lambda_views.view_state WHERE view_id = $1 FOR UPDATE",
							catalog_has_column("view_state", "speed_holes") ?
							"speed_holes::pg_catalog.text" : "'{}'::pg_catalog.text"),
						  1, (Oid[]) {INT4OID},
						  (Datum[]) {Int32GetDatum(view->view_id)}, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lambda view \"%s\" was dropped while it was being used", view->view_name)));
	state.speed_watermark = DatumGetInt64(datum_column(1));
	state.batch_watermark = DatumGetInt64(datum_column(2));
	state.batch_gen = DatumGetInt32(datum_column(3));
	state.speed_gen = DatumGetInt64(datum_column(4));
	state.gen_start_watermark = DatumGetInt64(datum_column(5));
	state.speed_holes = MemoryContextStrdup(cxt, text_column(7));
	{
		Datum		xid = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull);

		state.batch_swap_xid = isnull ? InvalidFullTransactionId :
			DatumGetFullTransactionId(xid);
	}
	SPI_finish();
	return state;
}

/* lv_storage_name returns the qualified name of one of the view's tables. */
char *
lv_storage_name(LvView *view, const char *suffix)
{
	return quote_qualified_identifier(view->data_schema,
									  psprintf("v%d_%s", view->view_id, suffix));
}

/*
 * owner_storage_lock serializes, per role, finding or creating the role's
 * storage schema with dropping it once the role's last view is gone.
 */
static void
owner_storage_lock(Oid role)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) role, LV_LOCK_OWNER_STORAGE,
						 LV_LOCKTAG_FIELD4);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * free_schema_name returns LV_DATA_SCHEMA "_" role name, shortened to fit
 * a name, with "_2", "_3", ... added while a schema of that name exists:
 * nobody can take the name a role's storage will get.
 */
static char *
free_schema_name(Oid role)
{
	const char *rolname = GetUserNameFromId(role, false);
	int			n;

	for (n = 1;; n++)
	{
		char	   *suffix = n == 1 ? "" : psprintf("_%d", n);
		int			room = NAMEDATALEN - 1 - strlen(LV_DATA_SCHEMA "_") - strlen(suffix);
		char	   *name = psprintf("%s_%.*s%s", LV_DATA_SCHEMA,
									pg_mbcliplen(rolname, strlen(rolname), room),
									rolname, suffix);

		if (!OidIsValid(get_namespace_oid(name, true)))
			return name;
	}
}

/*
 * lv_owner_storage_schema returns the schema where role's views keep their
 * storage, creating it on its first view.  The catalog's owner keeps its
 * views' storage in LV_DATA_SCHEMA; every other role gets a schema of its
 * own, owned by the catalog's owner, that grants USAGE to that role and
 * nothing to anyone else: no role can name (and so lock, or make a column
 * of the row type of) another role's storage, and only the extension
 * creates there.  The caller is connected to SPI; the lock on the role's
 * storage is kept until the transaction ends.
 */
char *
lv_owner_storage_schema(Oid role)
{
	Oid			saved_user;
	int			saved_sec;
	int			level;
	char	   *schema = NULL;
	const char *role_sql = quote_identifier(GetUserNameFromId(role, false));

	if (role == lv_catalog_owner())
		return pstrdup(LV_DATA_SCHEMA);
	owner_storage_lock(role);
	lv_catalog_sql(psprintf("SELECT %s FROM lambda_views.views WHERE owner = $1 "
							"AND %s OPERATOR(pg_catalog.<>) $2 LIMIT 1",
							lv_storage_schema_column(), lv_storage_schema_column()),
				   2, (Oid[]) {REGROLEOID, NAMEOID},
				   (Datum[]) {ObjectIdGetDatum(role),
				   DirectFunctionCall1(namein, CStringGetDatum(LV_DATA_SCHEMA))},
				   NULL, false, 1);
	if (SPI_processed > 0)
		schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (schema != NULL && OidIsValid(get_namespace_oid(schema, true)))
		return schema;

	schema = free_schema_name(role);
	level = lv_become_catalog_owner(&saved_user, &saved_sec);
	lv_spi_exec(psprintf("CREATE SCHEMA %s", quote_identifier(schema)), false, 0);
	lv_spi_exec(psprintf("REVOKE ALL ON SCHEMA %s FROM PUBLIC", quote_identifier(schema)),
				false, 0);
	lv_spi_exec(psprintf("GRANT USAGE ON SCHEMA %s TO %s", quote_identifier(schema), role_sql),
				false, 0);
	lv_spi_exec(psprintf("COMMENT ON SCHEMA %s IS %s", quote_identifier(schema),
						 quote_literal_cstr(psprintf("lambda_views: storage of the lambda views of role %s "
													 "(created and dropped by the extension)",
													 role_sql))),
				false, 0);
	lv_restore_user(saved_user, saved_sec, level);
	CommandCounterIncrement();
	return schema;
}

/*
 * lv_release_owner_storage drops role's storage schema once the role owns
 * no lambda view stored there (so DROP ROLE needs nothing more).  A schema
 * that still holds a relation is left alone.  The caller is connected to
 * SPI.
 */
void
lv_release_owner_storage(Oid role, const char *schema)
{
	Oid			nspid;
	Oid			saved_user;
	int			saved_sec;
	int			level;

	if (schema == NULL || strcmp(schema, LV_DATA_SCHEMA) == 0 || !OidIsValid(role))
		return;
	owner_storage_lock(role);
	nspid = get_namespace_oid(schema, true);
	if (!OidIsValid(nspid))
		return;
	/* not read-only: the view's row was deleted by this very command */
	lv_catalog_sql(psprintf("SELECT 1 FROM lambda_views.views WHERE %s = $1 "
							"UNION ALL SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = $2",
							lv_storage_schema_column()),
				   2, (Oid[]) {NAMEOID, OIDOID},
				   (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(schema)),
				   ObjectIdGetDatum(nspid)},
				   NULL, false, 1);
	if (SPI_processed > 0)
		return;
	level = lv_become_catalog_owner(&saved_user, &saved_sec);
	lv_spi_exec(psprintf("DROP SCHEMA %s", quote_identifier(schema)), false, 0);
	lv_restore_user(saved_user, saved_sec, level);
}

/*
 * lv_refuse_retired fails for a retired version: its storage is kept only
 * for rollback_view, and folding or rebuilding it would do nothing useful.
 */
void
lv_refuse_retired(LvView *view, const char *what)
{
	if (view->retired)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s lambda view \"%s\": it is a retired version", what,
						view->view_name),
				 errhint("Serve it again with lambda_views.rollback_view() on the view's name.")));
}

/* lv_check_owner fails unless the current user may run the view's work. */
void
lv_check_owner(LvView *view)
{
	if (!has_privs_of_role(GetUserId(), view->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of lambda view \"%s\"", view->view_name),
				 errhint("Only the view's owner or a member of the owning role can do this.")));
}

/*
 * lv_become_owner runs what follows as the view's owner, under the settings
 * pinned at create_view; undo with lv_restore_user.
 */
int
lv_become_owner(LvView *view, Oid *saved_user, int *saved_sec)
{
	GetUserIdAndSecContext(saved_user, saved_sec);
	SetUserIdAndSecContext(view->owner,
						   *saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	return lv_pin_settings(view->settings);
}

/* lv_record_error stores the last error of a view in its state row. */
void
lv_record_error(int32 view_id, const char *message)
{
	SPI_connect();
	lv_catalog_sql("UPDATE lambda_views.view_state SET last_error = $2, "
						  "last_error_at = now() WHERE view_id = $1",
						  2, (Oid[]) {INT4OID, TEXTOID},
						  (Datum[]) {Int32GetDatum(view_id), CStringGetTextDatum(message)},
						  NULL, false, 0);
	SPI_finish();
}

/*
 * lv_extension_version returns the version of the extension's SQL objects
 * in this database (pg_extension.extversion), or NULL when the extension
 * is not installed.  ALTER EXTENSION UPDATE records the new version before
 * its script runs.
 */
char *
lv_extension_version(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("lambda_views"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, Anum_pg_extension_extversion,
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(value));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * lv_require_current_catalog refuses to go on when the extension's SQL
 * objects are not the version this library is built for
 * (LV_EXTENSION_VERSION).  A new library installed over an old one meets
 * the old catalog and the old stored states until ALTER EXTENSION
 * lambda_views UPDATE converts them, and a fold, recompute or new view
 * would write states in the new format next to the old ones.  fold,
 * recompute and the creation of a view or version call it first; reads do
 * not.
 */
void
lv_require_current_catalog(const char *what)
{
	char	   *version = lv_extension_version();

	if (version != NULL && strcmp(version, LV_EXTENSION_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s: the lambda_views objects of this database are version %s, the library is version %s",
						what, version, LV_EXTENSION_VERSION),
				 errdetail("The library was replaced; the catalog and the stored states keep the format of version %s until the extension is updated.",
						   version),
				 errhint("Run ALTER EXTENSION lambda_views UPDATE.")));
}

/*
 * lv_parse_holes reads an int8multirange's text ("{[1,3),[7,8)}": int8
 * ranges are always shown that way) into a list of LvLvKeyRange: the
 * holes of a view's state row (speed.c).
 */
List *
lv_parse_holes(const char *text)
{
	List	   *ranges = NIL;
	const char *p = text;

	if (p == NULL || *p++ != '{')
		elog(ERROR, "lambda_views: malformed holes \"%s\"", text ? text : "");
	while (*p == '[')
	{
		LvKeyRange   *r = palloc(sizeof(LvKeyRange));
		char	   *end;

		r->lo = strtoi64(p + 1, &end, 10);
		if (*end != ',')
			elog(ERROR, "lambda_views: malformed holes \"%s\"", text);
		r->hi = strtoi64(end + 1, &end, 10);
		if (*end != ')')
			elog(ERROR, "lambda_views: malformed holes \"%s\"", text);
		ranges = lappend(ranges, r);
		p = end + 1;
		if (*p == ',')
			p++;
	}
	if (*p != '}')
		elog(ERROR, "lambda_views: malformed holes \"%s\"", text);
	return ranges;
}
