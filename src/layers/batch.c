/*-------------------------------------------------------------------------
 *
 * src/layers/batch.c  (level: layer)
 *	  Batch layer: rebuild a view's batch from all source rows up to the
 *	  speed watermark into a new partition of the batch table and attach it
 *	  in the same transaction.
 *
 * The batch table is partitioned by generation: the partition of
 * generation G holds the groups of every speed generation up to G, and one
 * marker row (nrows IS NULL).  A reader uses the newest partition whose
 * marker it can see, and the speed rows of generations after it.  It finds
 * that partition among the partitions its plan holds, so a READ COMMITTED
 * statement planned before a swap commits and executed after it simply
 * keeps reading the previous batch and the speed rows after that one: no
 * gap, no double count.  Those speed rows, and the old partitions, are
 * removed together once no snapshot can read the old batch and no reader
 * holds the batch table (lv_drop_old_batches).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "lambda_views.h"
#include "definition.h"


/* batch_columns writes the column list of the batch table. */
static void
batch_columns(StringInfo buf, LvDefinition *def)
{
	ListCell   *lc;

	appendStringInfoString(buf, "gen int");
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);

		appendStringInfo(buf, ", k%d %s%s", foreach_current_index(lc) + 1,
						 key->type_sql, key->collate_sql);
	}
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);

		appendStringInfo(buf, ", f%d %s", foreach_current_index(lc) + 1,
						 strchr(agg->null_final_sql, ':') + 2);
	}
	appendStringInfoString(buf, ", nrows bigint");
	/* no state where the final value is the state (merged from it) */
	foreach(lc, def->aggs)
		if (!((LvAgg *) lfirst(lc))->state_is_final)
			appendStringInfo(buf, ", s%d lambda_views.state", foreach_current_index(lc) + 1);
}

/*
 * null_key_predicate returns "k1 IS NULL OR ..." over the keys that may be
 * null, or NULL when none can.
 */
static char *
null_key_predicate(LvDefinition *def, const char *prefix)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, def->keys)
	{
		if (((LvKey *) lfirst(lc))->notnull)
			continue;
		appendStringInfo(&buf, "%s%sk%d IS NULL", buf.len > 0 ? " OR " : "",
						 prefix, foreach_current_index(lc) + 1);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/* index_sql returns the statements that index a batch table or partition. */
static List *
index_sql(LvDefinition *def, const char *table)
{
	List	   *stmts = NIL;
	StringInfoData buf;
	char	   *nullkeys = null_key_predicate(def, "");
	int			i;

	/* the newest visible marker picks the batch: see the file header */
	stmts = lappend(stmts, psprintf("CREATE INDEX ON %s (gen) WHERE nrows IS NULL",
									table));
	if (def->keys == NIL)
		return stmts;
	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE INDEX ON %s (", table);
	for (i = 0; i < list_length(def->keys); i++)
		appendStringInfo(&buf, "%sk%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&buf, ')');
	stmts = lappend(stmts, buf.data);
	if (nullkeys)
		stmts = lappend(stmts, psprintf("CREATE INDEX ON %s (gen) WHERE nrows IS NOT NULL AND (%s)",
										table, nullkeys));
	return stmts;
}

/*
 * partial_indexes creates on table, a batch partition to be and still
 * empty, the batch table's partial indexes (those of the marker rows and of
 * groups with a NULL key): ATTACH PARTITION finds them and builds only the
 * others, so that each costs the load its few rows instead of a scan of the
 * whole partition.
 */
static void
partial_indexes(Oid batch_table, const char *table)
{
	List	   *stmts = NIL;
	ListCell   *lc;
	uint64		i;

	lv_spi_exec_args("SELECT (SELECT pg_catalog.string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, n, false), ', ' ORDER BY n) "
					 "FROM pg_catalog.generate_series(1, i.indnkeyatts) n), "
					 "pg_catalog.pg_get_expr(i.indpred, i.indrelid) "
					 "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
					 "JOIN pg_catalog.pg_am a ON a.oid = c.relam "
					 "WHERE i.indrelid = $1 AND i.indpred IS NOT NULL AND a.amname = 'btree' "
					 "AND i.indexprs IS NULL ORDER BY i.indexrelid",
					 1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(batch_table)},
					 NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
		stmts = lappend(stmts, psprintf("CREATE INDEX ON %s (%s) WHERE %s", table,
										SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
										SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
	foreach(lc, stmts)
		lv_spi_exec(lfirst(lc), false, 0);
}

/*
 * insert_marker inserts the marker row of generation gen into table (a
 * batch table or partition).  On Citus the row needs a value of the
 * distribution column dist_column, of type dist_type (a group key; readers
 * skip markers by nrows IS NULL); NULL for a local table.
 */
static void
insert_marker(const char *table, int32 gen, const char *dist_column, Oid dist_type)
{
	if (dist_column == NULL)
		lv_spi_exec_args(psprintf("INSERT INTO %s (gen) VALUES ($1)", table),
						 1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(gen)},
						 NULL, false, 0);
	else
		lv_spi_exec_args(psprintf("INSERT INTO %s (gen, %s) VALUES ($1, %s)", table,
								  quote_identifier(dist_column),
								  dist_type == UUIDOID ?
								  "'00000000-0000-0000-0000-000000000000'" : "'0'"),
						 1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(gen)},
						 NULL, false, 0);
}

/*
 * lv_create_batch_table creates the partitioned batch table of a view and
 * its empty generation 0 (just its marker).
 */
void
lv_create_batch_table(void *defp, const char *schema, const char *name)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;
	char	   *batch_table = quote_qualified_identifier(schema, name);

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (", batch_table);
	batch_columns(&buf, def);
	appendStringInfoString(&buf, ") PARTITION BY LIST (gen)");
	lv_spi_exec(buf.data, false, 0);
	foreach(lc, index_sql(def, batch_table))
		lv_spi_exec(lfirst(lc), false, 0);
	lv_spi_exec(psprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES IN (0)",
						 quote_qualified_identifier(schema, psprintf("%s_0", name)),
						 batch_table),
				false, 0);
	if (def->dist_key > 0)
	{
		/* Citus moves shards by logical replication only with an identity */
		lv_spi_exec(psprintf("ALTER TABLE %s REPLICA IDENTITY FULL", batch_table), false, 0);
		lv_spi_exec(psprintf("ALTER TABLE %s REPLICA IDENTITY FULL",
							 quote_qualified_identifier(schema, psprintf("%s_0", name))), false, 0);
		lv_citus_distribute(batch_table, psprintf("k%d", def->dist_key), def->source);
	}
	if (def->dist_key > 0)
		insert_marker(batch_table, 0, psprintf("k%d", def->dist_key),
					  ((LvKey *) list_nth(def->keys, def->dist_key - 1))->type);
	else
		insert_marker(batch_table, 0, NULL, InvalidOid);
}

/*
 * lv_batch_sql returns the INSERT that builds generation $3 from the rows
 * $1 < key <= $2 into the table named next (created empty, like the batch
 * table batch_table, by the catalog's owner: see lv_recompute_view).  It
 * writes the states batch_table has columns for: a batch table made before
 * states were left out where the final value is the state has them all.
 */
char *
lv_batch_sql(void *defp, const char *next, Oid batch_table)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;
	bool	   *direct;
	bool	   *kept;			/* the batch table keeps aggregate j's state */

	if (!OidIsValid(batch_table))
		elog(ERROR, "lambda_views: no batch table to build the batch statement for");
	initStringInfo(&buf);
	appendStringInfo(&buf, "INSERT INTO %s SELECT $3::int AS gen", next);
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);
		int			i = foreach_current_index(lc) + 1;

		/* Citus pushes the build down only with the bare distribution column */
		if (i == def->dist_key)
			appendStringInfo(&buf, ", p.k%d AS k%d", i, i);
		else
			appendStringInfo(&buf, ", p.k%d::%s%s AS k%d", i, key->type_sql,
							 key->collate_sql, i);
	}
	/*
	 * an aggregate whose state the batch does not keep (it is the final
	 * value) is computed by its own call, where it can be
	 */
	direct = palloc0(sizeof(bool) * Max(list_length(def->aggs), 1));
	kept = palloc0(sizeof(bool) * Max(list_length(def->aggs), 1));
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);
		int			j = foreach_current_index(lc) + 1;

		kept[j - 1] = get_attnum(batch_table, psprintf("s%d", j)) != InvalidAttrNumber;
		direct[j - 1] = agg->direct_sql != NULL && !kept[j - 1];
		if (direct[j - 1])
			appendStringInfo(&buf, ", p.s%d AS f%d", j, j);
		else
			appendStringInfo(&buf, ", lambda_views.finalize(%s, p.s%d, %s) AS f%d",
							 agg->signature_sql, j, agg->null_final_sql, j);
	}
	appendStringInfoString(&buf, ", p.nrows");
	for (int j = 0; j < list_length(def->aggs); j++)
		if (kept[j])
			appendStringInfo(&buf, ", p.s%d", j + 1);
	appendStringInfo(&buf, " FROM (%s) p", lv_batch_partial_query(def, direct));
	return buf.data;
}

/* run_sql executes one statement, failing loudly. */
static void
run_sql(const char *sql)
{
	lv_spi_exec(sql, false, 0);
}

/*
 * swap_is_old says whether the batch swap made by transaction swap_xid (a
 * 64-bit xid, invalid when there was none) is older than every snapshot.  A
 * 32-bit comparison is only meaningful within 2^31 xids of the next xid; a
 * swap further back than that is older than any running transaction.
 */
static bool
swap_is_old(FullTransactionId swap_xid)
{
	FullTransactionId next = ReadNextFullTransactionId();

	if (!FullTransactionIdIsValid(swap_xid))
		return true;
	if (U64FromFullTransactionId(next) - U64FromFullTransactionId(swap_xid) >
		(uint64) (MaxTransactionId >> 1))
		return true;
	return TransactionIdPrecedes(XidFromFullTransactionId(swap_xid),
								 GetOldestNonRemovableTransactionId(NULL));
}

/*
 * lv_drop_old_batches drops the batch partitions older than batch_gen, and
 * the speed rows that batch covers, once the swap that retired them
 * (swap_xid) is older than every snapshot and the batch table can be locked
 * within wait_ms: a reader whose plan predates the swap holds it and still
 * reads both.  It never runs inside a transaction block, where the lock
 * would be kept until the user commits.
 */
void
lv_drop_old_batches(LvView *view, int32 batch_gen, FullTransactionId swap_xid,
					int wait_ms)
{
	List	   *children;
	List	   *old = NIL;
	ListCell   *lc;
	char	   *prefix = psprintf("v%d_batch_", view->view_id);

	if (IsTransactionBlock())
		return;
	if (!swap_is_old(swap_xid))
		return;
	children = find_inheritance_children(view->batch_table, NoLock);
	foreach(lc, children)
	{
		char	   *name = get_rel_name(lfirst_oid(lc));

		if (name != NULL && strncmp(name, prefix, strlen(prefix)) == 0 &&
			pg_strtoint32(name + strlen(prefix)) < batch_gen)
			old = lappend(old, name);
	}
	if (old == NIL || !lv_lock_relation_briefly(view->batch_table, wait_ms))
		return;
	/*
	 * holders of a partition through the view hold the batch table too:
	 * none are left; one that named the partition itself (its owner) is
	 * not waited for: the partition goes next time
	 */
	foreach(lc, old)
	{
		Oid			partition = get_relname_relid(lfirst(lc),
												  get_namespace_oid(view->data_schema, false));

		if (!ConditionalLockRelationOid(partition, AccessExclusiveLock))
			return;
		run_sql(psprintf("DROP TABLE %s",
						 quote_qualified_identifier(view->data_schema, lfirst(lc))));
	}
	lv_spi_exec_args(psprintf("DELETE FROM %s WHERE gen <= $1", lv_storage_name(view, "speed")),
						  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(batch_gen)},
						  NULL, false, 0);
}

/*
 * lv_drop_retired_batches is lv_drop_old_batches for the view's current
 * batch, as the view's owner: folds call it.
 */
void
lv_drop_retired_batches(LvView *view, int wait_ms)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	LvState		state;

	if (IsTransactionBlock())
		return;
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	state = lv_lock_state(view);
	lv_drop_old_batches(view, state.batch_gen, state.batch_swap_xid, wait_ms);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
}

/*
 * close_generation starts a new speed generation and returns the append key
 * up to which the closed one (and all before it) reach; *holes is set to
 * the keys below it that they have not folded (speed.c), as an
 * int8multirange's text.
 */
static int64
close_generation(LvView *view, int64 *closed_gen, char **holes)
{
	bool		isnull;
	int64		new_gen;
	int64		speed_gen;
	int64		watermark;

	/* a concurrent drop_view drops the sequence: wait for it, then say so */
	if (OidIsValid(view->gen_sequence))
		LockRelationOid(view->gen_sequence, RowExclusiveLock);
	if (!OidIsValid(view->gen_sequence) ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(view->gen_sequence)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lambda view \"%s\" was dropped while it was being used", view->view_name)));
	lv_spi_exec_args("SELECT pg_catalog.nextval($1)", 1, (Oid[]) {REGCLASSOID},
					 (Datum[]) {ObjectIdGetDatum(view->gen_sequence)}, NULL, false, 1);
	new_gen = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	*closed_gen = new_gen - 1;

	/* folds that drew the closed generation hold their lock: see speed.c */
	{
		LOCKTAG		tag;

		lv_view_locktag(&tag, view->view_id, LV_LOCK_FOLD_GEN);
		lv_wait_for_lockers(&tag, ShareLock);
	}

	lv_catalog_sql("SELECT speed_gen, speed_watermark, gen_start_watermark, "
				   "speed_holes::text, gen_start_holes::text "
				   "FROM lambda_views.view_state WHERE view_id = $1",
				   1, (Oid[]) {INT4OID},
				   (Datum[]) {Int32GetDatum(view->view_id)}, NULL, false, 1);
	speed_gen = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	watermark = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											speed_gen <= *closed_gen ? 2 : 3, &isnull));
	*holes = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
						  speed_gen <= *closed_gen ? 4 : 5);
	return watermark;
}

/*
 * lv_recompute_view rebuilds the view's batch and swaps it in; returns the
 * number of source rows it read.
 */
int64
lv_recompute_view(LvView *view)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	int64		closed_gen;
	int64		watermark;
	int64		rows;
	bool		isnull;
	char	   *next = lv_storage_name(view, "batch_next");
	char	   *target = next;
	char	   *dist_column = NULL;
	char	   *holes;
	char	   *partition;
	char	   *next_prefix = psprintf("INSERT INTO %s ", next);
	Oid			build_types[] = {INT8OID, INT8OID, INT8OID, INT8MULTIRANGEOID};
	struct _SPI_plan *into = NULL;
	LvState		old;
	instr_time	start;
	instr_time	elapsed;

	lv_require_current_catalog("recompute");
	lv_require_read_committed("recompute");
	INSTR_TIME_SET_CURRENT(start);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	lv_lock_view(view->view_id, LV_LOCK_RECOMPUTE, ExclusiveLock);

	watermark = close_generation(view, &closed_gen, &holes);

	/*
	 * A local build is its query written into the new partition as CREATE
	 * TABLE AS writes (lv_spi_exec_into), so that it runs with parallel
	 * workers where PostgreSQL allows, which it does for no INSERT ...
	 * SELECT; ATTACH then builds every index.  When the query's columns
	 * are not the table's, the build inserts into it instead.
	 */
	if (!view->distributed &&
		strncmp(view->batch_sql, next_prefix, strlen(next_prefix)) == 0)
		into = lv_prepare_into(view->batch_sql + strlen(next_prefix), 4, build_types,
							   view->batch_table);

	/*
	 * nobody may create in a storage schema (a name taken there would stop
	 * every recompute): the catalog's owner creates the empty table and
	 * its partial indexes, the view's owner fills it
	 */
	{
		Oid			cat_user;
		int			cat_sec;
		int			level = lv_become_catalog_owner(&cat_user, &cat_sec);

		partition = psprintf("v%d_batch_" INT64_FORMAT, view->view_id, closed_gen);
		/*
		 * On Citus the table is distributed like the batch table and built
		 * under its partition's name: a distributed RENAME would lock the
		 * table on every node
		 */
		if (view->distributed)
		{
			char		method;

			target = quote_qualified_identifier(view->data_schema, partition);
			dist_column = lv_citus_distribution(view->batch_table, &method);
		}
		lv_spi_exec(psprintf("CREATE TABLE %s (LIKE %s)", target,
							 lv_storage_name(view, "batch")), false, 0);
		if (dist_column)
		{
			lv_spi_exec(psprintf("ALTER TABLE %s REPLICA IDENTITY FULL", target), false, 0);
			lv_citus_distribute(target, dist_column, view->source);
		}
		else if (into == NULL)
			partial_indexes(view->batch_table, target);
		lv_spi_exec(psprintf("ALTER TABLE %s OWNER TO %s", target,
							 quote_identifier(GetUserNameFromId(view->owner, false))),
					false, 0);
		lv_restore_user(cat_user, cat_sec, level);
	}

	/* build: the long part, blocking nobody */
	/*
	 * the holes as an int8multirange value, so that the plan made for
	 * these values folds the batch's hole test to a constant when there
	 * are none
	 */
	{
		const char *build = view->batch_sql;
		Oid		   *types = build_types;
		Datum		values[] = {Int64GetDatum(PG_INT64_MIN), Int64GetDatum(watermark),
			Int64GetDatum(closed_gen),
		OidInputFunctionCall(F_MULTIRANGE_IN, holes, INT8MULTIRANGEOID, -1)};

		if (target != next)
		{
			/* the statement names the table next: name the partition */
			char	   *prefix = psprintf("INSERT INTO %s ", next);

			if (strncmp(build, prefix, strlen(prefix)) != 0)
				elog(ERROR, "lambda_views: unexpected batch statement of view %d", view->view_id);
			build = psprintf("INSERT INTO %s %s", target, build + strlen(prefix));
			lv_spi_exec_once(build, 4, types, values, NULL, false, 0, InvalidSnapshot);
			lv_spi_exec(psprintf("SELECT coalesce(sum(nrows), 0)::bigint FROM %s", target), false, 1);
			rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		else if (into != NULL)
		{
			/* the source rows the batch holds, summed as they are written */
			Oid			relid = get_relname_relid(psprintf("v%d_batch_next", view->view_id),
												  get_namespace_oid(view->data_schema, false));

			rows = lv_spi_exec_into(into, build + strlen(next_prefix), 4, types, values,
									relid, get_attnum(relid, "nrows"));
		}
		else
			rows = lv_spi_exec_once_sum(psprintf("%s RETURNING nrows", build), 4, types, values, NULL);
	}
	insert_marker(target, (int32) closed_gen, dist_column,
				  dist_column ? get_atttype(view->batch_table, get_attnum(view->batch_table, dist_column)) : InvalidOid);

	/*
	 * Statistics for the new partition before anyone plans against it: a
	 * table without them gets the planner's default selectivities, so the
	 * merged read's "batch rows of this generation" looked 200 times
	 * smaller than the partition and was sorted on disk for a merge anti
	 * join (20x the materialized view's full read, until autovacuum came
	 * round).  A sample, as ANALYZE takes it: a few percent of the build.
	 */
	if (!view->distributed)
		lv_spi_exec(psprintf("ANALYZE %s", target), false, 0);

	/* ATTACH builds the partitioned table's indexes on the new partition */
	if (target == next)
	{
		/* a rename needs CREATE on the schema: the catalog's owner's */
		Oid			cat_user;
		int			cat_sec;
		int			level = lv_become_catalog_owner(&cat_user, &cat_sec);

		run_sql(psprintf("ALTER TABLE %s RENAME TO %s", next, quote_identifier(partition)));
		lv_restore_user(cat_user, cat_sec, level);
	}
	run_sql(psprintf("ALTER TABLE %s ATTACH PARTITION %s FOR VALUES IN (" INT64_FORMAT ")",
					 lv_storage_name(view, "batch"),
					 quote_qualified_identifier(view->data_schema, partition), closed_gen));

	/*
	 * swap: one short step under the state row lock.  The speed rows the
	 * new batch covers stay until no reader can use the old batch; what
	 * the previous swap retired may go now.
	 */
	old = lv_lock_state(view);
	lv_drop_old_batches(view, old.batch_gen, old.batch_swap_xid, 0);

	/*
	 * On Citus a reader reads the batch generation on the coordinator and
	 * the batch rows on the shards (serving.c): the swap commits under the
	 * lock its folds commit with, which such a reader holds meanwhile.
	 * Taken last: the drops above wait for readers that hold the batch's
	 * partitions, and such a reader may be waiting for this lock.
	 */
	if (view->distributed)
		lv_lock_view(view->view_id, LV_LOCK_FOLD_COMMIT, ExclusiveLock);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	/*
	 * batch_watermark: every row up to it is in the batch.  With holes the
	 * batch left out, that is below the first hole, so that a reader never
	 * takes the view for quiet (serving.c) while rows of those holes may be
	 * folded into the speed layer without the watermark moving.
	 */
	lv_catalog_sql("UPDATE lambda_views.view_state SET batch_gen = $2, "
				   "batch_watermark = CASE WHEN pg_catalog.isempty($6::pg_catalog.int8multirange) THEN $3 "
				   "  ELSE pg_catalog.lower($6::pg_catalog.int8multirange) - 1 END, "
				   "batch_swap_xid = pg_catalog.pg_current_xact_id(), "
				   "rows_recomputed = $4, last_recompute_at = now(), last_recompute_ms = $5 "
				   "WHERE view_id = $1",
				   6, (Oid[]) {INT4OID, INT4OID, INT8OID, INT8OID, FLOAT8OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view->view_id), Int32GetDatum((int32) closed_gen),
					   Int64GetDatum(watermark), Int64GetDatum(rows),
					   Float8GetDatum(INSTR_TIME_GET_MILLISEC(elapsed)),
				   CStringGetTextDatum(holes)},
				   NULL, false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return rows;
}
