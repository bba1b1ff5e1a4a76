/*-------------------------------------------------------------------------
 *
 * src/operations/version.c  (level: operation)
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
 * fold of the head, the switch folds it to the head and gives it the
 * relation readers use, so they move from one exact version to the other.
 * When the new columns keep the old ones (same names and types, in the
 * same order; new ones may follow), the relation itself is kept (CREATE OR
 * REPLACE VIEW): its OID, privileges, comments and whatever other roles
 * defined over it stay and read the new version.  Otherwise the new
 * version's relation is renamed into place and given the old one's
 * privileges and comments; that would leave objects defined over the old
 * relation on the retired version, so alter_view refuses such a change
 * while there are any (2BP01), and a switch waits while some were created
 * during the replay.  The old version is retired: kept, unfolded, for
 * keep_old, then dropped; a rollback folds it up to the head and switches
 * back the same way.  A worker never waits long for the relation's lock:
 * a reader's open transaction holds up the switch, not every other reader
 * queued behind it, nor the worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"
#include "datatype/timestamp.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "lambda_views.h"
#include "operations.h"
#include "definition.h"

/* how long a worker waits for the relation's readers at a switch */
#define LV_SWITCH_LOCK_WAIT_MS 20

typedef struct VersionInfo
{
	int32		family;
	int32		version;
	char	   *role;
	int32		rows_per_second;	/* 0: unthrottled */
	int64		since_fold_ms;	/* since its last fold began; -1: never */
} VersionInfo;

/* version_info reads a view's version columns. */
static VersionInfo
version_info(int32 view_id)
{
	VersionInfo info = {0};
	bool		isnull;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_catalog_sql("SELECT family, version, role, coalesce(replay_rows_per_second, 0), "
				   "coalesce((SELECT (extract(epoch FROM pg_catalog.clock_timestamp() - s.last_fold_at) * 1000)::bigint "
				   "FROM lambda_views.view_state s WHERE s.view_id = v.view_id), -1) "
				   "FROM lambda_views.views v WHERE view_id = $1",
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
		info.since_fold_ms = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
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
 * dependents_of lists (", "-separated, sorted) the objects that depend on
 * a view's relation or its row type: other views and rules, functions with
 * SQL bodies, columns of its row type.  NULL when there are none.  The
 * view's own rule, row type and storage do not count.
 */
static char *
dependents_of(Oid relid)
{
	char	   *dependents = NULL;
	int			nestlevel = lv_pin_search_path();
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_spi_exec_args("SELECT string_agg(DISTINCT CASE WHEN d.classid = 'pg_rewrite'::regclass "
					 "THEN pg_describe_object('pg_class'::regclass, r.ev_class, 0) "
					 "ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END, ', ') "
					 "FROM pg_depend d LEFT JOIN pg_rewrite r "
					 "ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid "
					 "WHERE d.deptype = 'n' AND (r.ev_class IS NULL OR r.ev_class <> $1) "
					 "AND ((d.refclassid = 'pg_class'::regclass AND d.refobjid = $1) "
					 "OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = $2))",
					 2, (Oid[]) {OIDOID, OIDOID},
					 (Datum[]) {ObjectIdGetDatum(relid), ObjectIdGetDatum(get_rel_type_id(relid))},
					 NULL, true, 1);
	if (SPI_processed > 0)
	{
		dependents = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (dependents != NULL)
			dependents = MemoryContextStrdup(cxt, dependents);
	}
	SPI_finish();
	lv_unpin_settings(nestlevel);
	return dependents;
}

/*
 * columns_change says how the columns of relation to_rel differ from those
 * of from_rel in a way CREATE OR REPLACE VIEW refuses, or returns NULL when
 * to_rel's query can replace from_rel's in place: from_rel's columns come
 * first, with the same names, types, typmods and collations, and new
 * columns may follow.
 */
static char *
columns_change(Oid from_rel, Oid to_rel)
{
	Relation	from = relation_open(from_rel, AccessShareLock);
	Relation	to = relation_open(to_rel, AccessShareLock);
	TupleDesc	fdesc = RelationGetDescr(from);
	TupleDesc	tdesc = RelationGetDescr(to);
	char	   *change = NULL;
	int			i;

	for (i = 0; i < fdesc->natts && change == NULL; i++)
	{
		Form_pg_attribute fatt = TupleDescAttr(fdesc, i);
		Form_pg_attribute tatt;

		if (i >= tdesc->natts)
		{
			change = psprintf("column \"%s\" would be dropped", NameStr(fatt->attname));
			break;
		}
		tatt = TupleDescAttr(tdesc, i);
		if (fatt->attisdropped != tatt->attisdropped)
			change = psprintf("column %d would be dropped", i + 1);
		else if (strcmp(NameStr(fatt->attname), NameStr(tatt->attname)) != 0)
			change = psprintf("column \"%s\" would be replaced by \"%s\"",
							  NameStr(fatt->attname), NameStr(tatt->attname));
		else if (fatt->atttypid != tatt->atttypid || fatt->atttypmod != tatt->atttypmod)
			change = psprintf("column \"%s\" would change from %s to %s",
							  NameStr(fatt->attname),
							  format_type_with_typemod(fatt->atttypid, fatt->atttypmod),
							  format_type_with_typemod(tatt->atttypid, tatt->atttypmod));
		else if (fatt->attcollation != tatt->attcollation)
			change = psprintf("column \"%s\" would change its collation from \"%s\" to \"%s\"",
							  NameStr(fatt->attname),
							  OidIsValid(fatt->attcollation) ? get_collation_name(fatt->attcollation) : "",
							  OidIsValid(tatt->attcollation) ? get_collation_name(tatt->attcollation) : "");
	}
	relation_close(to, NoLock);
	relation_close(from, NoLock);
	return change;
}

/* what a switch that cannot keep the view's relation was asked by */
typedef enum SwitchCaller
{
	SWITCH_ALTER,				/* alter_view, before any replay */
	SWITCH_REPLAY,				/* a replay that caught up */
	SWITCH_ROLLBACK				/* rollback_view */
} SwitchCaller;

/*
 * switch_blocked says whether `to` (version to_version) cannot take the
 * place of `from` now, and reports why at elevel.  `to` takes over from's
 * relation itself when its columns allow (so views and other objects
 * defined over the lambda view keep working and read the new version);
 * otherwise it is renamed into place, which would leave every object that
 * depends on the old relation on the retired version: refused while there
 * are such objects.  Objects on `to`'s own relation (in the storage schema)
 * would stop it from being dropped: refused too.
 */
static bool
switch_blocked(LvView *from, LvView *to, int32 to_version, SwitchCaller caller,
			   int elevel, char **message)
{
	char	   *change = columns_change(from->relid, to->relid);
	char	   *dependents = NULL;
	Oid			blocked_rel = from->relid;
	char	   *msg;

	if (change != NULL)
		dependents = dependents_of(from->relid);
	else if (caller != SWITCH_ALTER)
	{
		dependents = dependents_of(to->relid);
		blocked_rel = to->relid;
	}
	if (dependents == NULL)
		return false;

	if (blocked_rel == to->relid)
		msg = psprintf("cannot switch lambda view %s to version %d: other objects depend on the new version's relation %s",
					   relation_sql(from), to_version, relation_sql(to));
	else if (caller == SWITCH_ALTER)
		msg = psprintf("cannot alter lambda view %s: the new query changes its columns and other objects depend on it",
					   relation_sql(from));
	else if (caller == SWITCH_ROLLBACK)
		msg = psprintf("cannot roll lambda view %s back to version %d: its columns differ and other objects depend on it",
					   relation_sql(from), to_version);
	else
		msg = psprintf("cannot switch lambda view %s to version %d: its columns change and other objects depend on it",
					   relation_sql(from), to_version);
	if (message)
		*message = msg;
	ereport(elevel,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg_internal("%s", msg),
			 change ?
			 errdetail("In version %d, %s. Depending on %s: %s.", to_version, change,
					   relation_sql(from), dependents) :
			 errdetail("Depending on %s: %s.", relation_sql(to), dependents),
			 caller == SWITCH_ALTER ?
			 errhint("Keep the view's columns (the same names and types, in the same order; new columns may follow them) so that what depends on it keeps working, or drop those objects first.") :
			 caller == SWITCH_ROLLBACK ?
			 errhint("Drop the objects that depend on the view first; the current version keeps serving.") :
			 errhint("The current version keeps serving and version %d keeps up with the source; it switches in once those objects are dropped. To give it up, run lambda_views.drop_view('%s').",
					 to_version, relation_sql(to))));
	return true;
}

/*
 * rename_relation renames a lambda view's relation, past the rename guard,
 * as the catalog's owner: nobody else may create in a storage schema.
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
 * carry_over gives a new serving relation the old one's privileges and
 * comments.
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
}

/* same_last_error says whether message is the view's recorded last error. */
static bool
same_last_error(int32 view_id, const char *message)
{
	bool		same;

	SPI_connect();
	lv_catalog_sql("SELECT 1 FROM lambda_views.view_state WHERE view_id = $1 AND last_error = $2",
				   2, (Oid[]) {INT4OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id), CStringGetTextDatum(message)},
				   NULL, true, 1);
	same = SPI_processed > 0;
	SPI_finish();
	return same;
}

/*
 * move_storage makes a version's speed and batch tables go with relation
 * new_rel instead of old_rel (their auto dependency).
 */
static void
move_storage(LvView *view, Oid old_rel, Oid new_rel)
{
	if (OidIsValid(view->speed_table))
		(void) changeDependencyFor(RelationRelationId, view->speed_table,
								   RelationRelationId, old_rel, new_rel);
	if (OidIsValid(view->batch_table))
		(void) changeDependencyFor(RelationRelationId, view->batch_table,
								   RelationRelationId, old_rel, new_rel);
}

/*
 * replace_in_place gives `to`'s query to `from`'s relation: CREATE OR
 * REPLACE VIEW keeps its OID, privileges, comments, options and whatever
 * depends on it.  `from`'s query moves to a new relation, retired_name in
 * the owner's storage schema, and `to`'s own relation is dropped; each
 * version's storage goes with its new relation.  Runs as the views' owner, connected
 * to SPI, with `from`'s relation locked.
 */
static void
replace_in_place(LvView *from, LvView *to, const char *retired_name)
{
	char	   *from_query;
	char	   *to_query;
	char	   *options;
	char	   *retired_sql = quote_qualified_identifier(from->data_schema, retired_name);
	Oid			retired_relid;
	Oid			saved_user;
	int			saved_sec;
	int			level;

	lv_spi_exec_args("SELECT pg_catalog.pg_get_viewdef($1), pg_catalog.pg_get_viewdef($2), "
					 "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(o.option_name) "
					 "OPERATOR(pg_catalog.||) ' = ' OPERATOR(pg_catalog.||) "
					 "pg_catalog.quote_literal(o.option_value), ', ') "
					 "FROM pg_catalog.pg_class c, pg_catalog.pg_options_to_table(c.reloptions) o "
					 "WHERE c.oid OPERATOR(pg_catalog.=) $1)",
					 2, (Oid[]) {OIDOID, OIDOID},
					 (Datum[]) {ObjectIdGetDatum(from->relid), ObjectIdGetDatum(to->relid)},
					 NULL, true, 1);
	from_query = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	to_query = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	options = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (from_query == NULL || to_query == NULL)
		elog(ERROR, "lambda_views: the relation of view %d or %d has no query",
			 from->view_id, to->view_id);

	/* only the catalog's owner creates in a storage schema */
	level = lv_become_catalog_owner(&saved_user, &saved_sec);
	lv_spi_exec(psprintf("CREATE VIEW %s AS %s", retired_sql, from_query), false, 0);
	lv_spi_exec(psprintf("ALTER VIEW %s OWNER TO %s", retired_sql,
						 quote_identifier(GetUserNameFromId(from->owner, false))),
				false, 0);
	lv_restore_user(saved_user, saved_sec, level);
	retired_relid = get_relname_relid(retired_name, get_namespace_oid(from->data_schema, false));

	lv_spi_exec(psprintf("CREATE OR REPLACE VIEW %s%s%s%s AS %s", relation_sql(from),
						 options ? " WITH (" : "", options ? options : "", options ? ")" : "",
						 to_query), false, 0);
	move_storage(from, from->relid, retired_relid);
	move_storage(to, to->relid, from->relid);
	CommandCounterIncrement();
	lv_spi_exec(psprintf("DROP VIEW %s", relation_sql(to)), false, 0);

	to->relid = from->relid;
	from->relid = retired_relid;
}

/*
 * switch_versions makes `to` serve under `from`'s name and retires `from`:
 * `to` is folded up to the head first, so it is exact when readers move.
 * The relation readers use is kept when the new columns allow it (so what
 * is defined over it follows the switch), else `to`'s is renamed into its
 * place.  When neither is possible (switch_blocked) it reports at elevel
 * and returns false, having switched nothing.
 */
static bool
switch_versions(LvView *from, LvView *to, SwitchCaller caller, int elevel)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	char	   *retired_name = psprintf("v%d_retired", from->view_id);
	char	   *from_sql = relation_sql(from);
	char	   *from_schema = from->view_schema;
	char	   *from_name = from->view_name;
	bool		in_place;
	char	   *message = NULL;
	VersionInfo info = version_info(to->view_id);

	/* the serving version's state first, as every path takes them */
	(void) lv_lock_state(from);
	(void) lv_fold_view(to, 0, 0, NULL, 0, NULL);

	/*
	 * what depends on the relation is checked under the lock the switch
	 * needs anyway: nothing new can be defined over it meanwhile.  A worker
	 * waits for readers briefly; if one holds on, the next round tries again.
	 */
	if (caller == SWITCH_REPLAY && IsBackgroundWorker)
	{
		if (!lv_lock_relation_briefly(from->relid, LV_SWITCH_LOCK_WAIT_MS))
			return false;
	}
	else
		LockRelationOid(from->relid, AccessExclusiveLock);
	if (switch_blocked(from, to, info.version, caller,
					   caller == SWITCH_REPLAY ? DEBUG1 : elevel, &message))
	{
		/*
		 * a replay that cannot switch goes on following the source; the
		 * reason is in its status row, in the worker's log once and in
		 * every fold() that tries
		 */
		if (caller == SWITCH_REPLAY)
		{
			if (!IsBackgroundWorker || !same_last_error(to->view_id, message))
				(void) switch_blocked(from, to, info.version, caller, elevel, NULL);
			lv_record_error(to->view_id, message);
		}
		return false;
	}
	in_place = columns_change(from->relid, to->relid) == NULL;

	nestlevel = lv_become_owner(from, &saved_user, &saved_sec);
	(void) lv_lock_state(to);
	SPI_connect();
	lv_catalog_sql("UPDATE lambda_views.views SET view_schema = $2, view_name = $3, "
				   "role = 'retired', retired_at = now() WHERE view_id = $1",
				   3, (Oid[]) {INT4OID, NAMEOID, NAMEOID},
				   (Datum[]) {Int32GetDatum(from->view_id),
					   DirectFunctionCall1(namein, CStringGetDatum(from->data_schema)),
				   DirectFunctionCall1(namein, CStringGetDatum(retired_name))},
				   NULL, false, 0);
	lv_catalog_sql("UPDATE lambda_views.views SET view_schema = $2, view_name = $3, "
				   "role = 'serving', retired_at = NULL WHERE view_id = $1",
				   3, (Oid[]) {INT4OID, NAMEOID, NAMEOID},
				   (Datum[]) {Int32GetDatum(to->view_id),
					   DirectFunctionCall1(namein, CStringGetDatum(from_schema)),
				   DirectFunctionCall1(namein, CStringGetDatum(from_name))},
				   NULL, false, 0);
	if (in_place)
		replace_in_place(from, to, retired_name);
	else
	{
		rename_relation(from_schema, from_name, from->data_schema, retired_name);
		rename_relation(to->view_schema, to->view_name, from_schema, from_name);
		to->relid = get_relname_relid(from_name, get_namespace_oid(from_schema, false));
		carry_over(from, to, from_sql);
	}
	lv_catalog_sql("UPDATE lambda_views.products SET view_id = $2 WHERE view_id = $1",
				   2, (Oid[]) {INT4OID, INT4OID},
				   (Datum[]) {Int32GetDatum(from->view_id), Int32GetDatum(to->view_id)},
				   NULL, false, 0);
	/* what kept the new version from switching (or failed before) is over */
	lv_catalog_sql("UPDATE lambda_views.view_state SET last_error = NULL, last_error_at = NULL "
				   "WHERE view_id = $1 AND last_error IS NOT NULL",
				   1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(to->view_id)},
				   NULL, false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	from->view_schema = pstrdup(from->data_schema);
	from->view_name = retired_name;
	to->view_schema = from_schema;
	to->view_name = from_name;
	ereport(LOG,
			(errmsg("lambda_views: %s switched from view %d to view %d%s",
					from_sql, from->view_id, to->view_id,
					in_place ? "" : " (a new relation: the columns changed)")));
	return true;
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
 * ($1, $2) selects by view id.  With keep_depended, a version whose
 * relation other objects depend on is kept (and said so) rather than
 * failing the caller: nobody's object may stall the worker's rounds.
 */
static void
drop_versions(const char *query, int32 arg1, int32 arg2, bool keep_depended)
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
		char	   *dependents;

		if (view == NULL)
			continue;
		if (keep_depended && OidIsValid(view->relid) &&
			(dependents = dependents_of(view->relid)) != NULL)
		{
			ereport(NOTICE,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("retired version %s of a lambda view is kept past keep_old: other objects depend on it",
							relation_sql(view)),
					 errdetail("Depending on it: %s.", dependents),
					 errhint("It is dropped once they are.")));
			continue;
		}
		drop_version(view);
	}
}

/* drop_expired drops the retired versions of one family (0: all) past keep_old. */
static void
drop_expired(int32 family)
{
	drop_versions("SELECT view_id FROM lambda_views.views WHERE role = 'retired' "
				  "AND retired_at + keep_old <= now() AND ($1 = 0 OR family = $1) AND $2 = 0",
				  family, 0, true);
}

/* lv_drop_expired_versions drops every retired version past keep_old. */
void
lv_drop_expired_versions(void)
{
	drop_expired(0);
}

/*
 * lv_replay_keys returns how many keys a fold may take for a view: -1 when
 * it is not replaying, 0 for an unthrottled replay.  A throttled replay
 * may take rows_per_second for the time since its last fold began, so the
 * rate holds however often the workers of the pool fold it (more often
 * than speed_interval); at most one speed_interval's worth, so a pause (a
 * restart) is not made up in a burst.  fold() by hand is not throttled.
 */
int64
lv_replay_keys(LvView *view)
{
	VersionInfo info = version_info(view->view_id);
	int64		ms;

	if (info.role == NULL || strcmp(info.role, "replaying") != 0)
		return -1;
	if (info.rows_per_second == 0)
		return 0;
	ms = info.since_fold_ms;
	if (ms < 0 || ms > view->speed_interval_ms)
		ms = view->speed_interval_ms;
	return Max(1, (int64) info.rows_per_second * ms / 1000);
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
 * round of the head: what a throttled replay may fold in one round (the
 * switch folds the rest at once), one fold chunk for an unthrottled one;
 * false while it is further behind.  A worker's fold that took nothing
 * (its writers' rows not settled yet) says nothing about how far behind
 * the replay is.
 */
bool
lv_finish_replay(LvView *replay)
{
	VersionInfo info = version_info(replay->view_id);
	int32		serving_id = family_member(info.family, "serving");
	LvView	   *serving;
	LvState		state;
	int64		round = info.rows_per_second > 0 ?
		Max(1, (int64) info.rows_per_second * replay->speed_interval_ms / 1000) :
		lv_fold_chunk_rows;

	if (serving_id == 0)
		return false;
	state = lv_lock_state(replay);
	if (lv_sequence_last_value(replay->key_sequence) - state.speed_watermark > round)
		return false;
	serving = lv_view_by_id(serving_id, false);
	return switch_versions(serving, replay, SWITCH_REPLAY, WARNING);
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

		(void) lv_fold_view(replay, 0, 0, NULL, 0, NULL);
		/* the caller's own fold or recompute stands even if no switch */
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
				  info.family, view->view_id, false);
}

/*
 * lv_alter_view_op starts building a new version of lambda view `name`
 * from the first source row (lambda_views.alter_view): query is its new
 * query, rows_per_second a throttle (NULL: none), keep_old how long the
 * old version is kept after the switch (NULL: unchanged).  Returns the
 * new version's relation while it replays.
 */
Oid
lv_alter_view_op(const char *name, const char *query, const int32 *rows_per_second,
				 const Interval *keep_old)
{
	LvView	   *serving;
	VersionInfo info;
	LvDefinition *def;
	int32		view_id;
	LvView	   *replay;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	bool		isnull;
	Datum		speed_interval;
	Datum		batch_interval;
	bool		no_batch_interval;
	MemoryContext cxt = CurrentMemoryContext;

	if (rows_per_second != NULL && *rows_per_second <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rows_per_second must be positive"),
				 errhint("Pass NULL to replay as fast as the workers fold.")));
	if (keep_old != NULL)
	{
		Interval	zero = {0};

		if (DatumGetBool(DirectFunctionCall2(interval_lt, IntervalPGetDatum(keep_old),
											 IntervalPGetDatum(&zero))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("keep_old must not be negative"),
					 errhint("Pass '0' to keep no old version for rollback_view.")));
	}
	serving = lv_view_by_name(name, ShareUpdateExclusiveLock);
	lv_check_owner(serving);
	if (serving->distributed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("alter_view is not supported for lambda view \"%s\" over a Citus distributed table", name),
				 errdetail("A replay switches in once its source's writers have settled, which the replay does not yet check on every node."),
				 errhint("Create the new definition with create_view and drop the old one with drop_view.")));
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
	def = lv_parse_definition(query, serving->append_key);
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
					   rows_per_second ? Int32GetDatum(*rows_per_second) : (Datum) 0,
				   keep_old ? IntervalPGetDatum(keep_old) : (Datum) 0},
				   (char[]) {' ', ' ', rows_per_second ? ' ' : 'n', keep_old ? ' ' : 'n', '\0'},
				   false, 0);
	lv_catalog_sql("UPDATE lambda_views.views SET keep_old = coalesce($2, keep_old) WHERE view_id = $1",
				   2, (Oid[]) {INT4OID, INTERVALOID},
				   (Datum[]) {Int32GetDatum(serving->view_id), keep_old ? IntervalPGetDatum(keep_old) : (Datum) 0},
				   (char[]) {' ', keep_old ? ' ' : 'n', '\0'}, false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);

	/*
	 * a switch that could not keep the view's relation would leave what
	 * depends on it on the old version: refused now, not at the switch
	 */
	replay = lv_view_by_id(view_id, false);
	(void) switch_blocked(serving, replay, version_info(view_id).version, SWITCH_ALTER,
						  ERROR, NULL);
	return replay->relid;
}

/*
 * lv_rollback_view_op serves the most recently retired version of lambda
 * view `name` again, folded up to the head (lambda_views.rollback_view).
 * Returns the version that was serving.
 */
int32
lv_rollback_view_op(const char *name)
{
	LvView	   *serving;
	VersionInfo info;
	int32		retired_id;
	LvView	   *retired;

	serving = lv_view_by_name(name, AccessExclusiveLock);
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
	(void) switch_versions(serving, retired, SWITCH_ROLLBACK, ERROR);
	return info.version;
}

/*
 * lv_drop_view_op drops a lambda view: its other versions, its relation,
 * its storage and its catalog entry.  The caller holds the relation's
 * AccessExclusiveLock and has checked ownership.
 */
void
lv_drop_view_op(LvView *view)
{
	/*
	 * A recompute locks the generation sequence, then the speed table (the
	 * swap deletes the speed rows its batch covers); dropping the storage
	 * locks them the other way round.  Let a running one finish first; a
	 * later one waits for this lock and finds the view gone.
	 */
	lv_lock_view(view->view_id, LV_LOCK_RECOMPUTE, ExclusiveLock);
	drop_family(view);
	SPI_connect();
	/*
	 * On Citus, dropping the distributed storage (AUTO dependency) drops the
	 * workers' copies of the view with it, before Citus sends them the DROP
	 * VIEW
	 */
	lv_spi_exec(psprintf("DROP VIEW %s%s", view->distributed ? "IF EXISTS " : "",
						 quote_qualified_identifier(view->view_schema, view->view_name)),
				false, 0);
	SPI_finish();
	lv_forget_view(view->view_schema, view->view_name);
}
