/*-------------------------------------------------------------------------
 *
 * src/operations/upgrade.c  (level: operation)
 *	  Operations: what ALTER EXTENSION lambda_views UPDATE needs beyond SQL.
 *
 * Update 1.0 -> 1.1: partial states change from bytea to lambda_views.state.
 * lambda_views--1.0--1.1.sql detaches every version's relation from its
 * storage (a placeholder query with the same columns), replaces the support
 * functions, then converts each version's storage and derived SQL.  The SQL
 * functions that call these (api.c) exist only while that script runs, and
 * only a superuser running it may call them.
 *
 * The relations of the views and the grants to their owners are the
 * users', not the extension's: they are changed outside the script's
 * context (outside_script).  Within it, PostgreSQL refuses to replace an
 * object the extension does not own, and records every grant on the
 * extension's objects as an initial privilege, which pg_dump leaves out:
 * a restored database would lose the owners' USAGE on the storage schema.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/ruleutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "agg_state.h"
#include "definition.h"
#include "lambda_views.h"
#include "operations.h"

/*
 * outside_script runs step(arg) as work of its own, not of the extension
 * script that runs ALTER EXTENSION UPDATE: it neither replaces nor creates
 * members of the extension, and its grants are no initial privileges.
 */
static void
outside_script(void (*step) (const void *arg), const void *arg)
{
	bool		saved_creating = creating_extension;
	Oid			saved_extension = CurrentExtensionObject;

	creating_extension = false;
	CurrentExtensionObject = InvalidOid;
	PG_TRY();
	{
		step(arg);
	}
	PG_FINALLY();
	{
		creating_extension = saved_creating;
		CurrentExtensionObject = saved_extension;
	}
	PG_END_TRY();
}

/* run_sql runs one statement (a step of outside_script). */
static void
run_sql(const void *sql)
{
	lv_spi_exec((const char *) sql, false, 0);
}

/*
 * replace_relation builds a version's relation again, as this library
 * builds it (serving.c), as work outside the update's script.  The caller
 * is connected to SPI.
 */
static void
replace_relation(LvView *view, LvDefinition *def)
{
	outside_script(run_sql,
				   psprintf("CREATE OR REPLACE VIEW %s AS %s",
							quote_qualified_identifier(view->view_schema, view->view_name),
							lv_view_sql(def, view->view_id, view->batch_table,
										lv_storage_name(view, "batch"),
										lv_storage_name(view, "speed"))));
}

/*
 * parse_definition parses a version's definition as its owner, under its
 * pinned settings.  The caller is connected to SPI.
 */
static LvDefinition *
parse_definition(LvView *view)
{
	LvDefinition *def;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	char	   *definition;

	lv_catalog_sql("SELECT definition FROM lambda_views.views WHERE view_id = $1",
				   1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
				   NULL, true, 1);
	definition = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	def = lv_parse_definition(definition, view->append_key);
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return def;
}

/*
 * rewrite_fold_sql stores the fold statement the library writes for a
 * version's definition.  The caller is connected to SPI.
 */
static void
rewrite_fold_sql(LvView *view, LvDefinition *def)
{
	lv_catalog_sql("UPDATE lambda_views.views SET fold_sql = $2 WHERE view_id = $1",
				   2, (Oid[]) {INT4OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view->view_id),
				   CStringGetTextDatum(lv_fold_sql(def, lv_storage_name(view, "speed")))},
				   NULL, false, 0);
}

/*
 * lv_upgrade_1_1_detach_view points a version's relation at a placeholder with
 * the same columns, so its storage columns can change type.
 */
void
lv_upgrade_1_1_detach_view(int32 view_id)
{
	LvView	   *view;
	Relation	rel;
	TupleDesc	desc;
	StringInfoData buf;
	int			i;

	view = lv_view_by_id(view_id, false);
	if (!OidIsValid(view->relid))
		return;
	rel = relation_open(view->relid, AccessExclusiveLock);
	desc = RelationGetDescr(rel);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		appendStringInfo(&buf, "%sNULL::%s%s%s AS %s", i > 0 ? ", " : "",
						 format_type_with_typemod(att->atttypid, att->atttypmod),
						 OidIsValid(att->attcollation) ? " COLLATE " : "",
						 OidIsValid(att->attcollation) ? generate_collation_name(att->attcollation) : "",
						 quote_identifier(NameStr(att->attname)));
	}
	appendStringInfoString(&buf, " WHERE false");
	relation_close(rel, NoLock);
	SPI_connect();
	outside_script(run_sql,
				   psprintf("CREATE OR REPLACE VIEW %s AS %s",
							quote_qualified_identifier(view->view_schema, view->view_name),
							buf.data));
	SPI_finish();
}

/*
 * lv_upgrade_1_1_attach_view converts a version's stored states to
 * lambda_views.state (trusting what 1.0 stored) and regenerates its fold
 * and batch SQL and its relation's query.
 */
void
lv_upgrade_1_1_attach_view(int32 view_id)
{
	LvView	   *view;
	LvDefinition *def;
	int			nestlevel;
	char	   *speed;
	char	   *batch;
	ListCell   *lc;

	view = lv_view_by_id(view_id, false);
	speed = lv_storage_name(view, "speed");
	batch = lv_storage_name(view, "batch");
	SPI_connect();
	def = parse_definition(view);

	nestlevel = lv_pin_search_path();
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);
		int			j = foreach_current_index(lc) + 1;
		const char *using = psprintf("ALTER COLUMN s%d TYPE lambda_views.state USING "
									 "lambda_views.upgrade_1_1_state(s%d, %s)",
									 j, j, agg->signature_sql);

		lv_spi_exec(psprintf("ALTER TABLE %s %s", speed, using), false, 0);
		lv_spi_exec(psprintf("ALTER TABLE %s %s", batch, using), false, 0);
	}
	lv_catalog_sql("UPDATE lambda_views.views SET fold_sql = $2, batch_sql = $3, partial_sql = $4 "
				   "WHERE view_id = $1",
				   4, (Oid[]) {INT4OID, TEXTOID, TEXTOID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view->view_id),
					   CStringGetTextDatum(lv_fold_sql(def, speed)),
					   CStringGetTextDatum(lv_batch_sql(def, lv_storage_name(view, "batch_next"),
													 view->batch_table)),
				   CStringGetTextDatum(def->partial_sql)},
				   NULL, false, 0);
	if (OidIsValid(view->relid))
		outside_script(run_sql,
					   psprintf("CREATE OR REPLACE VIEW %s AS %s",
								quote_qualified_identifier(view->view_schema, view->view_name),
								lv_view_sql(def, view->view_id, view->batch_table, batch, speed)));
	/*
	 * no grant on the shared data schema: the next step (1.1 -> 1.2) moves
	 * the storage of every owner but the catalog's into the owner's own
	 * schema, and until it runs this library does no work on the catalog
	 */
	lv_unpin_settings(nestlevel);
	SPI_finish();
}

/*
 * lv_upgrade_1_1_wrap_state wraps a state stored by 1.0 (a bytea) as a
 * lambda_views.state of the named aggregate.
 */
struct varlena *
lv_upgrade_1_1_wrap_state(bytea *old, Oid aggfnoid)
{
	Size		len;
	struct varlena *state;
	LvAggInfo  *info;
	Oid		   *argtypes;
	int			nargs;

	len = VARSIZE_ANY_EXHDR(old);
	lv_check_aggregate_oid(aggfnoid);
	get_func_signature(aggfnoid, &argtypes, &nargs);
	info = lv_agg_info(aggfnoid, argtypes, nargs, InvalidOid, CurrentMemoryContext);
	state = palloc(VARHDRSZ + LV_STATE_HEADER_LEN + len);
	SET_VARSIZE(state, VARHDRSZ + LV_STATE_HEADER_LEN + len);
	((char *) VARDATA(state))[0] = LV_STATE_VERSION;
	memcpy(VARDATA(state) + 1, info->ident, LV_STATE_IDENT_LEN);
	memcpy(VARDATA(state) + LV_STATE_HEADER_LEN, VARDATA_ANY(old), len);
	return state;
}

/* the work of lv_upgrade_1_2_move_view for one version (a step) */
typedef struct MoveStep
{
	LvView	   *view;
	char	   *schema;			/* the owner's storage schema */
} MoveStep;

/* find_owner_schema finds or creates the owner's storage schema (a step). */
static void
find_owner_schema(const void *arg)
{
	MoveStep   *step = (MoveStep *) arg;

	step->schema = lv_owner_storage_schema(step->view->owner);
}

/* set_schema moves one relation of the data schema into step's schema. */
static void
set_schema(const MoveStep *step, const char *kind, const char *name)
{
	if (!OidIsValid(get_relname_relid(name, get_namespace_oid(LV_DATA_SCHEMA, false))))
		return;
	lv_spi_exec(psprintf("ALTER %s %s SET SCHEMA %s", kind,
						 quote_qualified_identifier(LV_DATA_SCHEMA, name),
						 quote_identifier(step->schema)), false, 0);
}

/*
 * move_storage moves a version's storage (and its relation, when it lives
 * in the data schema) into the owner's schema, as the catalog's owner (a
 * step).  The generation sequence goes with the speed table that owns it,
 * the indexes with their tables; each batch partition moves by itself.
 */
static void
move_storage(const void *arg)
{
	const MoveStep *step = arg;
	LvView	   *view = step->view;
	bool		saved = lv_internal_ddl;
	Oid			saved_user;
	int			saved_sec;
	int			level = lv_become_catalog_owner(&saved_user, &saved_sec);

	lv_internal_ddl = true;
	PG_TRY();
	{
		ListCell   *lc;

		if (OidIsValid(view->batch_table))
			foreach(lc, find_inheritance_children(view->batch_table, AccessExclusiveLock))
				set_schema(step, "TABLE", get_rel_name(lfirst_oid(lc)));
		set_schema(step, "TABLE", psprintf("v%d_batch", view->view_id));
		set_schema(step, "TABLE", psprintf("v%d_batch_next", view->view_id));
		set_schema(step, "TABLE", psprintf("v%d_speed", view->view_id));
		set_schema(step, "SEQUENCE", psprintf("v%d_gen", view->view_id));
		if (strcmp(view->view_schema, LV_DATA_SCHEMA) == 0)
			set_schema(step, "VIEW", view->view_name);
	}
	PG_FINALLY();
	{
		lv_internal_ddl = saved;
	}
	PG_END_TRY();
	lv_restore_user(saved_user, saved_sec, level);
}

/*
 * revoke_data_usage takes back the USAGE on the shared data schema that
 * 1.1 gave the owner of a view (a step).
 */
static void
revoke_data_usage(const void *arg)
{
	const MoveStep *step = arg;
	Oid			saved_user;
	int			saved_sec;
	int			level;

	if (pg_namespace_aclcheck(get_namespace_oid(LV_DATA_SCHEMA, false), step->view->owner,
							  ACL_USAGE) != ACLCHECK_OK ||
		superuser_arg(step->view->owner))
		return;
	level = lv_become_catalog_owner(&saved_user, &saved_sec);
	lv_spi_exec(psprintf("REVOKE USAGE ON SCHEMA %s FROM %s",
						 quote_identifier(LV_DATA_SCHEMA),
						 quote_identifier(GetUserNameFromId(step->view->owner, false))),
				false, 0);
	lv_restore_user(saved_user, saved_sec, level);
}

/*
 * lv_upgrade_1_2_move_view (1.1 -> 1.2) moves a version's storage out of
 * the shared data schema into its owner's own schema, which grants USAGE
 * to that owner alone, records it, regenerates the fold and batch SQL (which
 * name the storage; the batch leaves out the speed layer's holes) and takes
 * back the owner's USAGE on the shared schema.
 * The catalog owner's views stay.  The relations users read name their
 * storage by OID and need nothing.
 */
void
lv_upgrade_1_2_move_view(int32 view_id)
{
	MoveStep	step;
	LvDefinition *def;
	int			nestlevel;

	step.view = lv_view_by_id(view_id, false);
	SPI_connect();
	outside_script(find_owner_schema, &step);
	if (strcmp(step.schema, LV_DATA_SCHEMA) != 0)
	{
		outside_script(move_storage, &step);
		CommandCounterIncrement();
		lv_catalog_sql("UPDATE lambda_views.views SET storage_schema = $2, "
					   "view_schema = CASE WHEN view_schema = $3 THEN $2 ELSE view_schema END "
					   "WHERE view_id = $1",
					   3, (Oid[]) {INT4OID, NAMEOID, NAMEOID},
					   (Datum[]) {Int32GetDatum(view_id),
						   DirectFunctionCall1(namein, CStringGetDatum(step.schema)),
					   DirectFunctionCall1(namein, CStringGetDatum(LV_DATA_SCHEMA))},
					   NULL, false, 0);
		CommandCounterIncrement();
		step.view = lv_view_by_id(view_id, false);
	}
	/* every view: the storage's names, and the batch leaves out holes */
	def = parse_definition(step.view);
	nestlevel = lv_pin_search_path();
	lv_catalog_sql("UPDATE lambda_views.views SET fold_sql = $2, batch_sql = $3 "
				   "WHERE view_id = $1",
				   3, (Oid[]) {INT4OID, TEXTOID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view_id),
					   CStringGetTextDatum(lv_fold_sql(def, lv_storage_name(step.view, "speed"))),
				   CStringGetTextDatum(lv_batch_sql(def, lv_storage_name(step.view, "batch_next"),
												   step.view->batch_table))},
				   NULL, false, 0);
	lv_unpin_settings(nestlevel);
	outside_script(revoke_data_usage, &step);
	SPI_finish();
}

/*
 * lv_upgrade_1_4_route_view (1.3 -> 1.4) replaces the relation of a version
 * over a Citus distributed table by the routed read (serving.c), which
 * reads the read mark that 1.4 adds, and its fold statement by the one that
 * folds every node's new keys at once (speed.c).  Other versions keep
 * theirs.
 */
void
lv_upgrade_1_4_route_view(int32 view_id)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	LvDefinition *def;
	int			nestlevel;

	if (!view->distributed)
		return;
	SPI_connect();
	def = parse_definition(view);
	/* the fold of every node's new keys is one statement from 1.4 on */
	rewrite_fold_sql(view, def);
	if (!OidIsValid(view->relid))
	{
		SPI_finish();
		return;
	}

	/*
	 * Citus propagates the relation to the workers, which update only after
	 * this script: they keep the one they have (reads go through the
	 * coordinator, which holds the catalog)
	 */
	nestlevel = lv_pin_settings(list_make1("citus.enable_ddl_propagation=off"));
	replace_relation(view, def);
	lv_unpin_settings(nestlevel);
	SPI_finish();
}

/*
 * lv_upgrade_1_6_relation_view (1.5 -> 1.6) replaces the relation of a
 * local version by the one 1.6 builds: the batch groups nobody touched are
 * those with no speed row after the batch and no tail row, two anti joins
 * where there was one over both (serving.c: untouched).  A version over a
 * Citus distributed table keeps its routed read, which 1.6 does not change.
 */
void
lv_upgrade_1_6_relation_view(int32 view_id)
{
	LvView	   *view = lv_view_by_id(view_id, false);
	LvDefinition *def;
	int			nestlevel;

	if (view->distributed || !OidIsValid(view->relid))
		return;
	SPI_connect();
	def = parse_definition(view);
	nestlevel = lv_pin_search_path();
	replace_relation(view, def);
	lv_unpin_settings(nestlevel);
	SPI_finish();
}

/*
 * lv_upgrade_1_7_speed_view (1.6 -> 1.7) gives the speed table of a local
 * version the storage parameters new ones get (rows inline and
 * uncompressed up to a page), and replaces its fold statement by the one
 * 1.7 writes, which tallies the rows it folds as the groups go into the
 * speed table instead of keeping them aside to sum them afterwards
 * (speed.c).  A version over a Citus distributed table keeps both: its
 * statement does not change, and its shards are Citus' to alter.
 */
void
lv_upgrade_1_7_speed_view(int32 view_id)
{
	LvView	   *view = lv_view_by_id(view_id, false);

	if (view->distributed)
		return;
	SPI_connect();
	lv_spi_exec(psprintf("ALTER TABLE %s SET (" LV_SPEED_TABLE_OPTIONS ")",
						 lv_storage_name(view, "speed")), false, 0);
	rewrite_fold_sql(view, parse_definition(view));
	SPI_finish();
}
