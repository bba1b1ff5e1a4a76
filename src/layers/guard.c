/*-------------------------------------------------------------------------
 *
 * src/layers/guard.c  (level: layer)
 *	  Keep the source immutable while a lambda view reads it, and forget a
 *	  view whose relation is dropped.
 *
 * UPDATE, DELETE and TRUNCATE (and so INSERT ... ON CONFLICT DO UPDATE and
 * MERGE, which fire UPDATE/DELETE statement triggers) are refused by
 * statement triggers.  A partitioned source also gets a row trigger, which
 * PostgreSQL clones onto every partition, present and future, so statements
 * aimed straight at a partition are refused too.  Nothing is added to the
 * insert path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"
#include "utils/guc.h"

#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "access/xact.h"
#include "utils/snapmgr.h"
#include "catalog/namespace.h"
#include "nodes/parsenodes.h"

#include "lambda_views.h"


#define GUARD_TRIGGER "lambda_views_immutable"
#define GUARD_ROW_TRIGGER "lambda_views_immutable_rows"

/* has_trigger says whether relid has a trigger of that name. */
static bool
has_trigger(Oid relid, const char *name)
{
	bool		found;

	lv_spi_exec_args("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND tgname = $2",
						  2, (Oid[]) {OIDOID, NAMEOID},
						  (Datum[]) {ObjectIdGetDatum(relid), DirectFunctionCall1(namein, CStringGetDatum(name))},
						  NULL, false, 1);
	found = SPI_processed > 0;
	return found;
}

/* qualified_name returns schema.table, quoted. */
static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * citus_triggers_allowed lets Citus create the guard's trigger on a
 * distributed table until the returned GUC nest level is popped.
 */
static int
citus_triggers_allowed(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("citus.enable_unsafe_triggers", "on", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * lv_guard_source installs the triggers that keep a source immutable.
 * Freezing a table is the owner's power to grant: it takes ownership or the
 * TRIGGER privilege.
 */
void
lv_guard_source(Oid source)
{
	char	   *name = qualified_name(source);
	List	   *relids;
	ListCell   *lc;

	if (pg_class_aclcheck(source, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to make table %s immutable", name),
				 errdetail("A lambda view refuses UPDATE, DELETE and TRUNCATE on its source with triggers."),
				 errhint("The table's owner can GRANT TRIGGER ON %s to the view's creator.", name)));

	SPI_connect();
	if (lv_citus_distributed(source))
	{
		/*
		 * Citus copies the trigger to every shard, where a change through
		 * any node runs; the node holding a shard does not know the view,
		 * and the argument says the table is a source.  Citus' own moves
		 * and copies of shards never update or delete.
		 */
		int			nestlevel = citus_triggers_allowed();

		/* Citus copies no trigger that fires on TRUNCATE to the shards */
		if (!has_trigger(source, GUARD_ROW_TRIGGER))
			lv_spi_exec(psprintf("CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s "
								 "FOR EACH STATEMENT EXECUTE FUNCTION lambda_views.refuse_modification('source')",
								 GUARD_ROW_TRIGGER, name), false, 0);
		if (!has_trigger(source, GUARD_TRIGGER))
			lv_spi_exec(psprintf("CREATE TRIGGER %s BEFORE TRUNCATE ON %s "
								 "FOR EACH STATEMENT EXECUTE FUNCTION lambda_views.refuse_modification('source')",
								 GUARD_TRIGGER, name), false, 0);
		AtEOXact_GUC(true, nestlevel);
		SPI_finish();
		return;
	}
	if (!has_trigger(source, GUARD_TRIGGER))
		lv_spi_exec(psprintf("CREATE TRIGGER %s BEFORE UPDATE OR DELETE OR TRUNCATE ON %s "
							 "FOR EACH STATEMENT EXECUTE FUNCTION lambda_views.refuse_modification()",
							 GUARD_TRIGGER, name), false, 0);
	if (get_rel_relkind(source) == RELKIND_PARTITIONED_TABLE)
	{
		if (!has_trigger(source, GUARD_ROW_TRIGGER))
			lv_spi_exec(psprintf("CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s "
								 "FOR EACH ROW EXECUTE FUNCTION lambda_views.refuse_modification()",
								 GUARD_ROW_TRIGGER, name), false, 0);
		/* TRUNCATE of a partition fires only that partition's triggers */
		relids = find_all_inheritors(source, NoLock, NULL);
		foreach(lc, relids)
		{
			Oid			part = lfirst_oid(lc);

			if (part == source || has_trigger(part, GUARD_TRIGGER))
				continue;
			lv_spi_exec(psprintf("CREATE TRIGGER %s BEFORE TRUNCATE ON %s "
								 "FOR EACH STATEMENT EXECUTE FUNCTION lambda_views.refuse_modification()",
								 GUARD_TRIGGER, qualified_name(part)), false, 0);
		}
	}
	SPI_finish();
}

/*
 * lv_unguard_source removes the triggers once no view reads the source,
 * when the current user owns it; otherwise they stay, inert, since the
 * trigger only refuses while some view reads the table.
 */
void
lv_unguard_source(Oid source)
{
	List	   *relids;
	ListCell   *lc;

	if (!OidIsValid(source) || get_rel_name(source) == NULL ||
		!pg_class_ownercheck(source, GetUserId()))
		return;
	SPI_connect();
	lv_catalog_sql("SELECT 1 FROM lambda_views.views WHERE source = $1",
						  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(source)},
						  NULL, false, 1);
	if (SPI_processed == 0 && lv_citus_distributed(source))
	{
		int			nestlevel = citus_triggers_allowed();

		if (has_trigger(source, GUARD_TRIGGER))
			lv_spi_exec(psprintf("DROP TRIGGER %s ON %s", GUARD_TRIGGER,
								 qualified_name(source)), false, 0);
		if (has_trigger(source, GUARD_ROW_TRIGGER))
			lv_spi_exec(psprintf("DROP TRIGGER %s ON %s", GUARD_ROW_TRIGGER,
								 qualified_name(source)), false, 0);
		AtEOXact_GUC(true, nestlevel);
	}
	else if (SPI_processed == 0)
	{
		relids = find_all_inheritors(source, NoLock, NULL);
		foreach(lc, relids)
		{
			Oid			rel = lfirst_oid(lc);

			if (!pg_class_ownercheck(rel, GetUserId()))
				continue;
			if (has_trigger(rel, GUARD_TRIGGER))
				lv_spi_exec(psprintf("DROP TRIGGER %s ON %s", GUARD_TRIGGER,
									 qualified_name(rel)), false, 0);
			if (rel == source && has_trigger(rel, GUARD_ROW_TRIGGER))
				lv_spi_exec(psprintf("DROP TRIGGER %s ON %s", GUARD_ROW_TRIGGER,
									 qualified_name(rel)), false, 0);
		}
	}
	SPI_finish();
}

/*
 * with_ancestors returns an oid[] of relid and its partition ancestors: a
 * view whose source is any of them reads relid.
 */
static Datum
with_ancestors(Oid relid)
{
	List	   *rels = lappend_oid(get_partition_ancestors(relid), relid);
	Datum	   *elems = palloc(sizeof(Datum) * list_length(rels));
	ListCell   *lc;

	foreach(lc, rels)
		elems[foreach_current_index(lc)] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, list_length(rels), OIDOID,
										   sizeof(Oid), true, TYPALIGN_INT));
}

/*
 * reading_view returns a lambda view that reads relid or one of its
 * partition ancestors, or NULL.
 */
static char *
reading_view(Oid relid)
{
	char	   *result = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		rels = with_ancestors(relid);

	SPI_connect();
	lv_catalog_sql("SELECT format('%I.%I', view_schema, view_name) FROM lambda_views.views "
				   "WHERE source::pg_catalog.oid = ANY ($1) ORDER BY view_id LIMIT 1",
				   1, (Oid[]) {OIDARRAYOID}, (Datum[]) {rels}, NULL, true, 1);
	if (SPI_processed > 0)
		result = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return result;
}

/* the source lambda_views.purge() is deleting from right now, if any */
static Oid	purging_source = InvalidOid;

/* the last partition lv_purge_allows looked at in this purge, and its answer */
static Oid	checked_relid = InvalidOid;
static bool checked_allowed = false;

/*
 * lv_guard_allow_purge lets the immutability trigger pass the DELETEs of
 * lambda_views.purge() on source (or its partitions) until it is called
 * again with InvalidOid.  A backend-local variable, so no setting a user
 * can SET opens the way.
 */
void
lv_guard_allow_purge(Oid source)
{
	purging_source = source;
	checked_relid = InvalidOid;
}

/*
 * purge_allows says whether the immutability trigger should let a DELETE
 * on relid through: only while purge() deletes from it or its partition root.
 */
static bool
purge_allows(Oid relid)
{
	if (!OidIsValid(purging_source))
		return false;
	if (relid == purging_source)
		return true;
	/* the trigger fires per row: look a partition's ancestors up once */
	if (relid != checked_relid)
	{
		List	   *ancestors = get_partition_ancestors(relid);

		checked_allowed = list_member_oid(ancestors, purging_source);
		list_free(ancestors);
		checked_relid = relid;
	}
	return checked_allowed;
}

/*
 * lv_guard_modification is the body of the trigger that refuses UPDATE,
 * DELETE and TRUNCATE while a lambda view reads the table
 * (lambda_views.refuse_modification, api.c): what the trigger returns.
 */
Datum
lv_guard_modification(TriggerData *trigdata)
{
	const char *op;
	char	   *view;

	op = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE";
	/* lambda_views.purge() deleting from this very table is the one exception */
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
		purge_allows(RelationGetRelid(trigdata->tg_relation)))
		view = NULL;
	else
		view = reading_view(RelationGetRelid(trigdata->tg_relation));
	/* a shard of a Citus source, on a node that does not know the view */
	if (view == NULL && trigdata->tg_trigger->tgnargs > 0 &&
		strcmp(trigdata->tg_trigger->tgargs[0], "source") == 0 &&
		!purge_allows(RelationGetRelid(trigdata->tg_relation)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s table \"%s\": it is a shard of the append-only source of a lambda view",
						op, RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("The batch and speed layers hold every appended row; changing rows in place would make them disagree."),
				 errhint("Append a correcting row (for example one with negated values), then recompute the view on the coordinator.")));
	if (view != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s table \"%s\": it is the append-only source of lambda view %s",
						op, RelationGetRelationName(trigdata->tg_relation), view),
				 errdetail("The batch and speed layers hold every appended row; changing rows in place would make them disagree."),
				 errhint("Append a correcting row (for example one with negated values), then run lambda_views.recompute('%s').",
						 view)));
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);
	return PointerGetDatum(NULL);
}

/* extension_installed says whether this database has lambda_views. */
static bool
extension_installed(void)
{
	Oid			nsp = get_namespace_oid("lambda_views", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("views", nsp));
}

/* is_lambda_view says whether relid is the relation of a lambda view. */
static bool
is_lambda_view(Oid relid)
{
	bool		found;

	SPI_connect();
	lv_catalog_sql("SELECT 1 FROM lambda_views.views WHERE view_schema = $1 AND view_name = $2",
						  2, (Oid[]) {NAMEOID, NAMEOID},
						  (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(get_rel_namespace(relid)))),
						  DirectFunctionCall1(namein, CStringGetDatum(get_rel_name(relid)))},
						  NULL, false, 1);
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* table_is_empty says whether a table (to be attached) has no rows. */
static bool
table_is_empty(RangeVar *rv)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);
	bool		empty;

	if (!OidIsValid(relid))
		return true;
	SPI_connect();
	lv_spi_exec(psprintf("SELECT 1 FROM %s LIMIT 1",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid))),
				true, 1);
	empty = SPI_processed == 0;
	SPI_finish();
	return empty;
}

/* refuse_rename raises the error for renaming what a view's SQL names. */
static void
refuse_rename(const char *what, Oid relid, const char *view)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot rename or move %s \"%s\"", what, get_rel_name(relid)),
			 view ? errdetail("Lambda view %s is stored as SQL text that names it.", view)
			 : errdetail("A lambda view's catalog entry names its relation."),
			 errhint("Drop the lambda view with lambda_views.drop_view(), then rename, then create it again.")));
}

static void guard_utility(Node *stmt);

/* set while alter_view renames relations of its own */
bool		lv_internal_ddl = false;

/*
 * lv_guard_utility refuses, before they run, the utility commands that would
 * break a lambda view behind its back: TRUNCATE of a source or of any of its
 * partitions (also one attached after the view was created, which has no
 * TRUNCATE trigger), renaming or moving a source, a source's column or a
 * lambda view's relation, and changing an append key's default, identity
 * or sequence so that keys would no longer come from its own sequence one
 * at a time and in increasing order.  Called from the ProcessUtility hook,
 * so only when the library is preloaded; the triggers guard the rest
 * without it.
 */
void
lv_guard_utility(Node *stmt)
{
	bool		pushed = false;

	if (lv_internal_ddl || !IsTransactionState() || !extension_installed())
		return;
	if (!IsA(stmt, TruncateStmt) && !IsA(stmt, RenameStmt) &&
		!IsA(stmt, AlterObjectSchemaStmt) && !IsA(stmt, AlterTableStmt) &&
		!IsA(stmt, DropStmt) && !IsA(stmt, AlterSeqStmt))
		return;
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	guard_utility(stmt);
	if (pushed)
		PopActiveSnapshot();
}

/*
 * key_view returns a lambda view whose append key is column of relid (or of
 * one of its partition ancestors) or, when column is NULL, whose append key
 * the sequence relid hands out; NULL when there is none.
 */
static char *
key_view(Oid relid, const char *column)
{
	char	   *result = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		rels = column != NULL ? with_ancestors(relid) : (Datum) 0;

	SPI_connect();
	if (column != NULL)
		lv_catalog_sql("SELECT format('%I.%I', view_schema, view_name) FROM lambda_views.views "
					   "WHERE source::pg_catalog.oid = ANY ($1) AND append_key = $2 ORDER BY view_id LIMIT 1",
					   2, (Oid[]) {OIDARRAYOID, NAMEOID},
					   (Datum[]) {rels, DirectFunctionCall1(namein, CStringGetDatum(column))},
					   NULL, true, 1);
	else
		lv_catalog_sql("SELECT format('%I.%I', view_schema, view_name) FROM lambda_views.views "
					   "WHERE key_sequence::pg_catalog.oid = $1 ORDER BY view_id LIMIT 1",
					   1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
					   NULL, true, 1);
	if (SPI_processed > 0)
		result = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	return result;
}

/*
 * check_key_sequence_options refuses the options of ALTER SEQUENCE (or of
 * ALTER TABLE ... ALTER COLUMN ... SET for an identity column) that would
 * make the sequence of a view's append key hand out keys capture misses:
 * more than one at a time, out of order, again, or from another owner.
 */
static void
check_key_sequence_options(List *options, Oid seqid, const char *view)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);
		char	   *what = NULL;

		if (strcmp(opt->defname, "cache") == 0 && defGetInt64(opt) > 1)
			what = psprintf("CACHE " INT64_FORMAT, defGetInt64(opt));
		else if (strcmp(opt->defname, "cycle") == 0 && defGetBoolean(opt))
			what = "CYCLE";
		else if (strcmp(opt->defname, "increment") == 0 && defGetInt64(opt) <= 0)
			what = psprintf("INCREMENT " INT64_FORMAT, defGetInt64(opt));
		else if (strcmp(opt->defname, "restart") == 0 &&
				 (opt->arg == NULL || defGetInt64(opt) <= lv_sequence_last_value(seqid)))
			what = opt->arg == NULL ? "RESTART" :
				psprintf("RESTART " INT64_FORMAT, defGetInt64(opt));
		else if (strcmp(opt->defname, "owned_by") == 0)
			what = "OWNED BY";
		if (what != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot set %s on sequence \"%s\": it hands out the append key of lambda view %s",
							what, get_rel_name(seqid), view),
					 errdetail("Capture is exact only for keys the column's own sequence hands out one at a time and in increasing order."),
					 strcmp(opt->defname, "owned_by") == 0 ?
					 errhint("Drop the lambda view first with lambda_views.drop_view().") :
					 errhint("Keep CACHE 1, NO CYCLE and a positive INCREMENT, and RESTART only above the last value handed out (" INT64_FORMAT "), while a lambda view reads the table.",
							 lv_sequence_last_value(seqid))));
	}
}

/*
 * check_key_column refuses an ALTER TABLE subcommand that would change
 * where the append key of a view reading relid comes from: its default
 * (a serial column's nextval()), its identity, or its identity sequence's
 * options.
 */
static void
check_key_column(Oid relid, AlterTableCmd *cmd)
{
	char	   *view;

	if ((cmd->subtype != AT_ColumnDefault && cmd->subtype != AT_DropIdentity &&
		 cmd->subtype != AT_SetIdentity) || cmd->name == NULL ||
		(view = key_view(relid, cmd->name)) == NULL)
		return;
	if (cmd->subtype == AT_SetIdentity)
	{
		Oid			seqid = getIdentitySequence(relid, get_attnum(relid, cmd->name), true);

		if (OidIsValid(seqid))
			check_key_sequence_options((List *) cmd->def, seqid, view);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s column \"%s\" of table \"%s\": it is the append key of lambda view %s",
					cmd->subtype == AT_DropIdentity ? "drop the identity of" :
					cmd->def == NULL ? "drop the default of" : "change the default of",
					cmd->name, get_rel_name(relid), view),
			 errdetail("The view finds new rows by the keys the column's own sequence hands out; keys drawn otherwise would be missed."),
			 errhint("Drop the lambda view first with lambda_views.drop_view().")));
}

/* guard_utility does the work of lv_guard_utility under a snapshot. */
static void
guard_utility(Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, TruncateStmt))
	{
		foreach(lc, ((TruncateStmt *) stmt)->relations)
		{
			Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
			char	   *view;

			if (!OidIsValid(relid))
				continue;
			view = reading_view(relid);
			if (view != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot TRUNCATE table \"%s\": it is the append-only source of lambda view %s",
								get_rel_name(relid), view),
						 errdetail("The batch and speed layers hold every appended row; changing rows in place would make them disagree."),
						 errhint("Append a correcting row (for example one with negated values), then run lambda_views.recompute('%s').",
								 view)));
		}
	}
	else if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *alter = (AlterTableStmt *) stmt;
		Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
		char	   *view;

		if (!OidIsValid(relid) || (view = reading_view(relid)) == NULL)
			return;
		foreach(lc, alter->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_AttachPartition &&
				table_is_empty(((PartitionCmd *) cmd->def)->name))
				continue;		/* an empty partition brings no rows */
			if (cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
				cmd->subtype == AT_DetachPartitionFinalize)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot %s a partition of table \"%s\": it is the source of lambda view %s",
								cmd->subtype == AT_AttachPartition ? "attach" : "detach",
								get_rel_name(relid), view),
						 errdetail("Rows would join or leave the source without passing through the speed layer."),
						 errhint("Create partitions with CREATE TABLE ... PARTITION OF and insert rows through the source.")));
			if (cmd->subtype == AT_AlterColumnType || cmd->subtype == AT_DropColumn)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot %s column \"%s\" of table \"%s\": it is the source of lambda view %s",
								cmd->subtype == AT_DropColumn ? "drop" : "change the type of",
								cmd->name, get_rel_name(relid), view),
						 errdetail("The view's batch and speed layers hold values computed from the columns as they are."),
						 errhint("Drop the lambda view first, or add a new column and move the view to it with lambda_views.alter_view().")));
			check_key_column(relid, cmd);
		}
	}
	else if (IsA(stmt, AlterSeqStmt))
	{
		Oid			seqid = RangeVarGetRelid(((AlterSeqStmt *) stmt)->sequence, NoLock, true);
		char	   *view;

		if (OidIsValid(seqid) && (view = key_view(seqid, NULL)) != NULL)
			check_key_sequence_options(((AlterSeqStmt *) stmt)->options, seqid, view);
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_SEQUENCE)
	{
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			Oid			seqid = RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)),
												 NoLock, true);
			char	   *view;

			if (OidIsValid(seqid) && (view = key_view(seqid, NULL)) != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot drop sequence \"%s\": it hands out the append key of lambda view %s",
								get_rel_name(seqid), view),
						 errdetail("The view finds new rows by the keys this sequence hands out."),
						 errhint("Drop the lambda view first with lambda_views.drop_view().")));
		}
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_TABLE)
	{
		/* dropping the source itself is left to the dependency on it */
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
			Oid			relid = RangeVarGetRelid(rv, NoLock, true);
			char	   *view;

			if (!OidIsValid(relid) || !get_rel_relispartition(relid))
				continue;
			view = reading_view(relid);
			if (view != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot drop table \"%s\": it is a partition of the source of lambda view %s",
								get_rel_name(relid), view),
						 errdetail("Its rows would leave the source without passing through the speed layer."),
						 errhint("To delete old rows use lambda_views.purge().")));
		}
	}
	else if (IsA(stmt, RenameStmt) || IsA(stmt, AlterObjectSchemaStmt))
	{
		RangeVar   *rv;
		ObjectType	type;
		Oid			relid;
		char	   *view;

		bool		column = false;

		if (IsA(stmt, RenameStmt))
		{
			rv = ((RenameStmt *) stmt)->relation;
			type = ((RenameStmt *) stmt)->renameType;
			if (type == OBJECT_COLUMN)
			{
				type = ((RenameStmt *) stmt)->relationType;
				column = true;
			}
		}
		else
		{
			rv = ((AlterObjectSchemaStmt *) stmt)->relation;
			type = ((AlterObjectSchemaStmt *) stmt)->objectType;
		}
		if (rv == NULL || (type != OBJECT_TABLE && type != OBJECT_VIEW))
			return;
		relid = RangeVarGetRelid(rv, NoLock, true);
		if (!OidIsValid(relid))
			return;
		if (type == OBJECT_VIEW || get_rel_relkind(relid) == RELKIND_VIEW)
		{
			if (is_lambda_view(relid))
				refuse_rename("lambda view", relid, NULL);
			return;
		}
		view = reading_view(relid);
		if (view != NULL)
			refuse_rename(column ? "a column of source table" : "source table", relid, view);
	}
}

/*
 * drop_leftover drops a storage relation of a dropped view if it is still
 * there (without the notice DROP ... IF EXISTS gives when it is not).
 */
static void
drop_leftover(const char *kind, const char *schema, const char *name)
{
	Oid			nspid = get_namespace_oid(schema, true);

	if (OidIsValid(nspid) && OidIsValid(get_relname_relid(name, nspid)))
		lv_spi_exec(psprintf("DROP %s %s", kind,
							 quote_qualified_identifier(schema, name)),
					false, 0);
}

/*
 * lv_forget_view deletes a view's catalog rows and drops whatever storage is
 * left; its relation is already gone or about to be.
 */
void
lv_forget_view(const char *schema, const char *name)
{
	int32		view_id;
	Oid			source;
	Oid			owner;
	char	   *data_schema;
	bool		isnull;

	SPI_connect();
	lv_catalog_sql(psprintf("DELETE FROM lambda_views.views WHERE view_schema = $1 AND view_name = $2 "
							"RETURNING view_id, source::pg_catalog.oid, owner::pg_catalog.oid, %s",
							lv_storage_schema_column()),
						  2, (Oid[]) {NAMEOID, NAMEOID},
						  (Datum[]) {DirectFunctionCall1(namein, CStringGetDatum(schema)), DirectFunctionCall1(namein, CStringGetDatum(name))},
						  NULL, false, 1);
	if (SPI_processed == 0)
	{
		SPI_finish();
		return;
	}
	view_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	data_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	/* storage goes with the relation (an auto dependency): drop leftovers */
	drop_leftover("TABLE", data_schema, psprintf("v%d_batch", view_id));
	drop_leftover("TABLE", data_schema, psprintf("v%d_batch_next", view_id));
	drop_leftover("TABLE", data_schema, psprintf("v%d_speed", view_id));
	drop_leftover("SEQUENCE", data_schema, psprintf("v%d_gen", view_id));
	lv_release_owner_storage(owner, data_schema);
	SPI_finish();
	lv_unguard_source(source);
}

/*
 * lv_guard_forget_dropped is the body of the sql_drop event trigger
 * (lambda_views.on_sql_drop, api.c): when a lambda view's relation is
 * dropped (DROP VIEW, or DROP TABLE source CASCADE), forget it.
 */
void
lv_guard_forget_dropped(void)
{
	uint64		i;
	List	   *dropped = NIL;
	ListCell   *lc;
	MemoryContext cxt = CurrentMemoryContext;

	SPI_connect();
	lv_spi_exec("SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() "
				"WHERE object_type = 'extension' AND object_identity = 'lambda_views'",
				true, 1);
	if (SPI_processed > 0)
	{
		SPI_finish();
		return;
	}
	lv_catalog_sql("SELECT schema_name, object_name FROM pg_catalog.pg_event_trigger_dropped_objects() d "
				   "WHERE object_type = 'view' AND EXISTS (SELECT 1 FROM lambda_views.views v "
				   "WHERE v.view_schema = d.schema_name AND v.view_name = d.object_name)",
				   0, NULL, NULL, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		dropped = lappend(dropped, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		dropped = lappend(dropped, pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	for (lc = list_head(dropped); lc != NULL; lc = lnext(dropped, lnext(dropped, lc)))
		lv_forget_view(lfirst(lc), lfirst(lnext(dropped, lc)));
}
