/*-------------------------------------------------------------------------
 *
 * src/layers/speed.c  (level: layer)
 *	  Speed layer: fold committed source rows beyond the speed watermark
 *	  into the speed table, and advance the watermark in the same
 *	  transaction, so every row is folded exactly once.  Keys the watermark
 *	  passes whose rows a fold cannot see yet are its holes, folded later
 *	  (lv_fold_view).
 *
 * Speed rows are kept per generation (gen).  A recompute closes the current
 * generation; the generations its batch covers are deleted once no reader
 * can use the batch before it (batch.c).  A fold locks the speed table
 * before it reads the generation, so a recompute that waits for the speed
 * table's writers knows every fold of the closed generation has ended.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "lambda_views.h"
#include "definition.h"

/* key_list appends "k1, k2, ..." with a prefix. */
static void
key_list(StringInfo buf, LvDefinition *def, const char *prefix)
{
	int			i;

	for (i = 0; i < list_length(def->keys); i++)
		appendStringInfo(buf, "%s%sk%d", i > 0 ? ", " : "", prefix, i + 1);
}

/* lv_create_speed_table creates the speed table of a view. */
void
lv_create_speed_table(void *defp, const char *speed_table)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (gen bigint NOT NULL", speed_table);
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);

		appendStringInfo(&buf, ", k%d %s%s", foreach_current_index(lc) + 1,
						 key->type_sql, key->collate_sql);
	}
	foreach(lc, def->aggs)
		appendStringInfo(&buf, ", s%d lambda_views.state", foreach_current_index(lc) + 1);
	appendStringInfoString(&buf, ", nrows bigint NOT NULL) WITH (" LV_SPEED_TABLE_OPTIONS ")");
	lv_spi_exec(buf.data, false, 0);

	resetStringInfo(&buf);
	appendStringInfo(&buf, "CREATE UNIQUE INDEX ON %s (", speed_table);
	key_list(&buf, def, "");
	appendStringInfo(&buf, "%sgen) NULLS NOT DISTINCT", def->keys ? ", " : "");
	lv_spi_exec(buf.data, false, 0);
	if (def->dist_key > 0)
	{
		/* Citus moves shards by logical replication only with an identity */
		lv_spi_exec(psprintf("ALTER TABLE %s REPLICA IDENTITY FULL", speed_table), false, 0);
		lv_citus_distribute(speed_table, psprintf("k%d", def->dist_key), def->source);
	}
}

/*
 * the key ranges of a fold over a Citus table, given as an int8multirange
 * ($1), as lv_partial_ranges_sql reads them
 */
#define FOLD_RANGES "(SELECT pg_catalog.lower(r) AS lambda_views_lo, pg_catalog.upper(r) - 1 AS lambda_views_hi " \
	"FROM pg_catalog.unnest($1::pg_catalog.int8multirange) r)"

/*
 * analyze_new_speed_table gives a speed table its first statistics, once,
 * at the first fold of at least LV_ANALYZE_FIRST_FOLD_ROWS source rows
 * (autovacuum analyzes a table soon after its first 50 changes, and keeps
 * the statistics up to date afterwards; smaller tables gain nothing from
 * them).  Until then the planner guesses the number of distinct groups in
 * it, and can cost a hash of them, for a merged read that anti-joins the
 * batch against them, so high that it walks the batch's key index instead,
 * one heap page per row.
 */
#define LV_ANALYZE_FIRST_FOLD_ROWS 1000

static void
analyze_new_speed_table(LvView *view)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(view->speed_table));
	bool		never;

	if (!HeapTupleIsValid(tup))
		return;
	never = ((Form_pg_class) GETSTRUCT(tup))->reltuples < 0;
	ReleaseSysCache(tup);
	if (never)
		lv_spi_exec(psprintf("ANALYZE %s", lv_storage_name(view, "speed")), false, 0);
}

/*
 * The source rows the running fold statement has folded: the statement
 * passes each group's row count through lambda_views.fold_tally() on its
 * way into the speed table (lv_speed_tally), so that it need not keep its
 * groups aside to sum them after the insert.  Only fold_range resets and
 * reads it, around one statement.
 */
static int64 fold_tally = 0;

/* lv_speed_tally adds a folded group's rows to the running fold's tally. */
void
lv_speed_tally(int64 rows)
{
	fold_tally += rows;
}

/*
 * lv_fold_sql returns the statement that folds rows $1 < key <= $2 into
 * generation $3 of the speed table; it counts the rows it folded in
 * fold_tally.  Over a Citus table: the rows in the key ranges $1 (an
 * int8multirange) into generation $2, in one statement pushed down to
 * every shard; it counts nothing.
 */
char *
lv_fold_sql(void *defp, const char *speed_table)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;

	/*
	 * On Citus the INSERT ... SELECT is pushed down to the shards (speed
	 * table co-located with the source, keyed by the distribution column).
	 */
	initStringInfo(&buf);
	appendStringInfo(&buf, "INSERT INTO %s AS t (gen", speed_table);
	if (def->keys)
		appendStringInfoString(&buf, ", ");
	key_list(&buf, def, "");
	foreach(lc, def->aggs)
		appendStringInfo(&buf, ", s%d", foreach_current_index(lc) + 1);
	appendStringInfo(&buf, ", nrows) SELECT $%d", def->dist_key > 0 ? 2 : 3);
	if (def->keys)
		appendStringInfoString(&buf, ", ");
	key_list(&buf, def, "d.");
	foreach(lc, def->aggs)
		appendStringInfo(&buf, ", d.s%d", foreach_current_index(lc) + 1);
	if (def->dist_key > 0)
		appendStringInfo(&buf, ", d.nrows FROM (%s) d WHERE d.nrows > 0 ON CONFLICT (",
						 lv_partial_ranges_sql(def, FOLD_RANGES));
	else
	{
		/*
		 * Each group's rows are tallied as it goes by (volatile: evaluated
		 * once per group, never pushed into the aggregation).  The groups
		 * go into the speed table in key order, so that each probe and
		 * insertion of its unique index lands near the last one (measured:
		 * a fold 12-20 % cheaper); a sorted aggregation (large states,
		 * run.c) gives them in that order already.
		 */
		appendStringInfo(&buf, ", d.nrows FROM (%s) d WHERE lambda_views.fold_tally(d.nrows) > 0",
						 def->partial_sql);
		if (def->keys)
		{
			appendStringInfoString(&buf, " ORDER BY ");
			key_list(&buf, def, "d.");
		}
		appendStringInfoString(&buf, " ON CONFLICT (");
	}
	key_list(&buf, def, "");
	appendStringInfo(&buf, "%sgen) DO UPDATE SET ", def->keys ? ", " : "");
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);
		int			j = foreach_current_index(lc) + 1;

		appendStringInfo(&buf,
						 "s%d = lambda_views.combine_states(%s, t.s%d, excluded.s%d, %s), ",
						 j, agg->signature_sql, j, j, agg->witness_sql);
	}
	appendStringInfoString(&buf, "nrows = t.nrows + excluded.nrows");
	return buf.data;
}

/* holes_text writes ranges (in key order, apart) as an int8multirange's text. */
static char *
holes_text(List *ranges)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	foreach(lc, ranges)
	{
		LvKeyRange   *r = lfirst(lc);

		appendStringInfo(&buf, "%s[" INT64_FORMAT "," INT64_FORMAT ")",
						 foreach_current_index(lc) > 0 ? "," : "", r->lo, r->hi);
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * fold_range folds the rows $lo < key <= $hi that snapshot sees into
 * generation gen; returns their count.
 */
static int64
fold_range(LvView *view, int64 lo, int64 hi, int64 gen, Snapshot snapshot)
{
	int64		rows;

	fold_tally = 0;
	lv_spi_exec_kept_snapshot(view->fold_sql, 3,
							  (Oid[]) {INT8OID, INT8OID, INT8OID},
							  (Datum[]) {Int64GetDatum(lo), Int64GetDatum(hi), Int64GetDatum(gen)},
							  NULL, false, 0, snapshot);
	rows = fold_tally;
	fold_tally = 0;
	return rows;
}

/*
 * The two statements unseen_keys runs on a view's source: the rows
 * $1 < key <= $2 a snapshot sees, counted, and the keys of that range it
 * sees none of, as an int8multirange's text.
 */
typedef struct UnseenSql
{
	char	   *count;
	char	   *gaps;
} UnseenSql;

/* unseen_sql builds the statements of unseen_keys for a view, once per fold. */
static UnseenSql
unseen_sql(LvView *view)
{
	char	   *source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(view->source)),
													get_rel_name(view->source));
	const char *key = quote_identifier(view->append_key);
	UnseenSql	sql;

	sql.count = psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s > $1 AND %s <= $2",
						 source, key, key);
	sql.gaps = psprintf("SELECT (pg_catalog.int8multirange(pg_catalog.int8range($1, $2, '(]')) "
						"OPERATOR(pg_catalog.-) coalesce(pg_catalog.range_agg("
						"pg_catalog.int8range(%s::pg_catalog.int8, %s::pg_catalog.int8, '[]')), "
						"'{}'::pg_catalog.int8multirange))::pg_catalog.text "
						"FROM %s WHERE %s > $1 AND %s <= $2",
						key, key, source, key, key);
	return sql;
}

/*
 * unseen_keys returns, as LvKeyRanges in key order, the keys lo < key <= hi
 * of which snapshot sees no source row (whatever the view's filter): rows
 * of transactions still open when it was taken, keys drawn and not written
 * yet, and keys that will never be written.  Counting first keeps the
 * common case (every key seen) to one index range scan.
 */
static List *
unseen_keys(const UnseenSql *sql, int64 lo, int64 hi, Snapshot snapshot)
{
	Datum		range[2] = {Int64GetDatum(lo), Int64GetDatum(hi)};
	bool		isnull;
	int64		seen;
	char	   *text;

	if (hi <= lo)
		return NIL;
	lv_spi_exec_kept_snapshot(sql->count, 2, (Oid[]) {INT8OID, INT8OID}, range,
							  NULL, true, 0, snapshot);
	seen = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (seen == hi - lo)
		return NIL;
	lv_spi_exec_kept_snapshot(sql->gaps, 2, (Oid[]) {INT8OID, INT8OID}, range,
							  NULL, true, 0, snapshot);
	text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return lv_parse_holes(text);
}

/*
 * record_fold advances the view's state row in the fold's transaction: the
 * watermark, its holes (text), the generation folded into and the rows.
 */
static void
record_fold(LvView *view, int64 watermark, const char *holes, int64 gen,
			int64 rows, double ms)
{
	lv_catalog_sql("UPDATE lambda_views.view_state SET "
				   "gen_start_watermark = CASE WHEN $3 <> 0 AND speed_gen <> $3 "
				   "  THEN speed_watermark ELSE gen_start_watermark END, "
				   "gen_start_holes = CASE WHEN $3 <> 0 AND speed_gen <> $3 "
				   "  THEN speed_holes ELSE gen_start_holes END, "
				   "speed_gen = CASE WHEN $3 <> 0 THEN $3 ELSE speed_gen END, "
				   "speed_watermark = $2, speed_holes = $6::pg_catalog.int8multirange, "
				   "rows_folded = rows_folded + $4, "
				   "last_fold_at = now(), last_fold_ms = $5 "
				   "WHERE view_id = $1",
				   6, (Oid[]) {INT4OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, TEXTOID},
				   (Datum[]) {Int32GetDatum(view->view_id), Int64GetDatum(watermark),
					   Int64GetDatum(gen), Int64GetDatum(rows), Float8GetDatum(ms),
				   CStringGetTextDatum(holes)},
				   NULL, false, 0);
}

/*
 * Citus: the folded keys of each node's range (capture.c) are kept in the
 * same two values as on one node.  The watermark is the mark of the highest
 * range folded; each lower range's unfolded rest, (mark_g, (g + 1) << 48],
 * is a hole.  So reads, the batch and the status view need nothing else.
 */
static int64
origin_start(int32 group)
{
	return ((int64) group) << LV_ORIGIN_BITS;
}

/* origin_mark: how far the keys of a group's range are folded */
static int64
origin_mark(int32 group, int64 watermark, List *holes)
{
	int64		start = origin_start(group);
	int64		end = origin_start(group + 1);
	int64		mark = Min(watermark, end);
	ListCell   *lc;

	foreach(lc, holes)
	{
		LvKeyRange   *r = lfirst(lc);

		/* a hole [mark + 1, end + 1) of this range */
		if (r->lo > start && r->lo <= end + 1)
		{
			mark = Min(mark, r->lo - 1);
			break;
		}
	}
	return Max(mark, start);
}

static int
origin_cmp(const ListCell *a, const ListCell *b)
{
	int32		ga = ((LvOrigin *) lfirst(a))->group;
	int32		gb = ((LvOrigin *) lfirst(b))->group;

	return (ga > gb) - (ga < gb);
}

/*
 * fold_distributed is lv_fold_view for a Citus distributed source: one
 * pushed-down statement for every node's range of settled new keys, in the
 * fold's distributed transaction with the state row.  Never folds beyond
 * what is settled (no holes of unseen keys): a writer left open at one
 * node holds back that node's range only.
 */
static int64
fold_distributed(LvView *view, bool *more)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	LvState		state;
	List	   *holes;
	List	   *origins;
	List	   *kept = NIL;
	List	   *folding = NIL;
	ListCell   *lc;
	int64		total = 0;
	int64		gen;
	int64		watermark;
	int32		top = -1;
	char	   *source;
	char	   *key;
	char	   *count_sql;
	instr_time	start;
	instr_time	elapsed;

	INSTR_TIME_SET_CURRENT(start);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	/*
	 * the speed table before the state row, as drop_view takes them (its
	 * relations, then the catalog rows): a fold holds the state row across
	 * round trips to every node, and a drop waiting for it while holding
	 * the speed table would deadlock with the fold's first statement
	 */
	LockRelationOid(view->speed_table, RowExclusiveLock);
	state = lv_lock_state(view);
	holes = lv_parse_holes(state.speed_holes);
	origins = lv_capture_origins(view, 100);

	/*
	 * A reader of the real-time tail reads the watermark on the coordinator
	 * and the speed rows on the shards in separate steps, with no snapshot
	 * across nodes; it holds this lock from before the first to the end of
	 * its transaction (serving.c), and a fold holds it from before its
	 * first write until its commit has reached every shard (PostgreSQL
	 * releases locks after Citus' commit callbacks).  A fold that finds a
	 * reader skips this round, quietly: nothing is written yet.
	 */
	if (!lv_try_lock_view(view->view_id, LV_LOCK_FOLD_COMMIT, ExclusiveLock))
	{
		lv_restore_user(saved_user, saved_sec, nestlevel);
		return 0;
	}
	list_sort(origins, origin_cmp);
	source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(view->source)),
										get_rel_name(view->source));
	key = (char *) quote_identifier(view->append_key);
	count_sql = psprintf("SELECT pg_catalog.count(*) FROM " FOLD_RANGES " lambda_views_r JOIN %s "
						 "ON %s.%s >= lambda_views_r.lambda_views_lo AND %s.%s <= lambda_views_r.lambda_views_hi",
						 source, source, key, source, key);

	SPI_connect();
	lv_lock_view(view->view_id, LV_LOCK_FOLD_GEN, RowExclusiveLock);
	gen = lv_sequence_last_value(view->gen_sequence);
	watermark = state.speed_watermark;
	foreach(lc, origins)
	{
		LvOrigin   *o = lfirst(lc);
		int64		mark = origin_mark(o->group, state.speed_watermark, holes);

		if (o->settled && o->head > mark)
		{
			LvKeyRange *r = palloc(sizeof(LvKeyRange));

			r->lo = mark + 1;
			r->hi = o->head + 1;
			folding = lappend(folding, r);
			mark = o->head;
		}
		o->head = mark;			/* from here on: the new mark */
		if (mark > origin_start(o->group))
			top = o->group;
	}
	/* every node's settled new keys in one statement, pushed down */
	if (folding != NIL)
	{
		Datum		args[2] = {OidInputFunctionCall(F_MULTIRANGE_IN, holes_text(folding),
													INT8MULTIRANGEOID, -1),
		Int64GetDatum(gen)};
		bool		isnull;

		lv_spi_exec_args(count_sql, 1, (Oid[]) {INT8MULTIRANGEOID}, args, NULL, true, 0);
		total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		lv_spi_exec_args(view->fold_sql, 2, (Oid[]) {INT8MULTIRANGEOID, INT8OID},
						 args, NULL, false, 0);
	}
	/* the new watermark and holes */
	foreach(lc, origins)
	{
		LvOrigin   *o = lfirst(lc);

		if (o->group > top)
			break;
		if (o->group == top)
			watermark = o->head;
		else if (o->head < origin_start(o->group + 1))
		{
			LvKeyRange   *r = palloc(sizeof(LvKeyRange));

			r->lo = o->head + 1;
			r->hi = origin_start(o->group + 1) + 1;
			kept = lappend(kept, r);
		}
	}
	if (top < 0)
		watermark = state.speed_watermark;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	record_fold(view, watermark, holes_text(kept), gen, total, INSTR_TIME_GET_MILLISEC(elapsed));
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return total;
}

/*
 * lv_fold_view folds the source rows beyond the speed watermark, and the
 * rows of its holes that have become visible, at most max_chunks chunks of
 * lambda_views.fold_chunk_rows keys of new rows (0: all) and at most
 * max_keys keys (0: no limit; a replay's throttle), in the current
 * transaction.  It never waits for a writer.
 *
 * Keys are drawn by writers that hold the source's lock (capture.c), so a
 * key that a snapshot does not see belongs to a transaction that was open
 * when the key's range was captured, or to none.  settled (the workers:
 * lv_capture_settled) is how far every writer of a captured range has
 * ended, so every unseen key up to it will never be seen; without it
 * (fold(), alter_view) that is the head when nobody writes the source,
 * else nothing.  The fold goes up to settled, or up to around when that is
 * further (a worker that has waited long enough for a writer), or to the
 * head without settled.  Every unseen key beyond settled becomes a hole:
 * the watermark passes it, the hole keeps it, and each fold folds the rows
 * of the holes that it sees and keeps the rest; holes up to settled are
 * then forgotten.  One snapshot serves every statement of the fold, so a
 * row is either folded or kept in a hole, never both, never neither.  *more
 * says whether rows beyond the watermark remain.
 */
int64
lv_fold_view(LvView *view, int max_chunks, int64 max_keys, const int64 *settled,
			 int64 around, bool *more)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	LvState		state;
	int64		lo;
	int64		target;
	int64		resolved;
	int64		gen = 0;
	int64		total = 0;
	int			chunks = 0;
	List	   *holes;
	List	   *kept = NIL;
	ListCell   *lc;
	Snapshot	snapshot;
	UnseenSql	unseen_stmts = unseen_sql(view);
	instr_time	start;
	instr_time	elapsed;

	lv_require_current_catalog("fold");
	if (more)
		*more = false;
	lv_require_read_committed("fold");
	if (view->distributed)
		return fold_distributed(view, more);
	INSTR_TIME_SET_CURRENT(start);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	state = lv_lock_state(view);
	lo = state.speed_watermark;
	holes = lv_parse_holes(state.speed_holes);
	if (settled)
	{
		resolved = *settled;
		target = Max(resolved, around);
	}
	else
	{
		/* the head, read before asking who writes: see capture.c */
		target = lv_sequence_last_value(view->key_sequence);
		resolved = lv_capture_writing(view) ? PG_INT64_MIN : target;
	}
	target = Max(target, lo);
	if (max_keys > 0 && target - lo > max_keys)
	{
		/* stop short, but report the rest as pending */
		if (more)
			*more = true;
		target = lo + max_keys;
	}

	/* after the capture: what it says is settled, the snapshot sees */
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	SPI_connect();
	/* lock before reading the generation: see the file header */
	lv_lock_view(view->view_id, LV_LOCK_FOLD_GEN, RowExclusiveLock);
	gen = lv_sequence_last_value(view->gen_sequence);

	/* the holes: fold what has become visible, keep what has not */
	foreach(lc, holes)
	{
		LvKeyRange   *r = lfirst(lc);
		List	   *unseen;
		ListCell   *lc2;

		total += fold_range(view, r->lo - 1, r->hi - 1, gen, snapshot);
		unseen = unseen_keys(&unseen_stmts, Max(r->lo - 1, resolved), r->hi - 1, snapshot);
		foreach(lc2, unseen)
			kept = lappend(kept, lfirst(lc2));
	}

	/* the new rows */
	while (lo < target && (max_chunks == 0 || chunks < max_chunks))
	{
		int64		hi = (target - lo > lv_fold_chunk_rows) ?
			lo + lv_fold_chunk_rows : target;

		total += fold_range(view, lo, hi, gen, snapshot);
		if (hi > resolved)
		{
			List	   *unseen = unseen_keys(&unseen_stmts, Max(lo, resolved), hi, snapshot);
			ListCell   *lc2;

			foreach(lc2, unseen)
			{
				LvKeyRange   *r = lfirst(lc2);
				LvKeyRange   *last = kept ? llast(kept) : NULL;

				/* ranges of consecutive chunks meet: keep one */
				if (last != NULL && last->hi == r->lo)
					last->hi = r->hi;
				else
					kept = lappend(kept, r);
			}
		}
		lo = hi;
		chunks++;
	}
	if (more && lo < target)
		*more = true;

	if (total >= LV_ANALYZE_FIRST_FOLD_ROWS)
		analyze_new_speed_table(view);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	record_fold(view, lo, holes_text(kept), gen, total, INSTR_TIME_GET_MILLISEC(elapsed));
	SPI_finish();
	UnregisterSnapshot(snapshot);
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return total;
}
