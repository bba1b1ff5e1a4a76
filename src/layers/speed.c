/*-------------------------------------------------------------------------
 *
 * src/layers/speed.c  (level: layer)
 *	  Speed layer: fold committed source rows beyond the speed watermark
 *	  into the speed table, and advance the watermark in the same
 *	  transaction, so every row is folded exactly once.
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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"

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
	appendStringInfoString(&buf, ", nrows bigint NOT NULL) WITH (fillfactor = 50)");
	lv_spi_exec(buf.data, false, 0);

	resetStringInfo(&buf);
	appendStringInfo(&buf, "CREATE UNIQUE INDEX ON %s (", speed_table);
	key_list(&buf, def, "");
	appendStringInfo(&buf, "%sgen) NULLS NOT DISTINCT", def->keys ? ", " : "");
	lv_spi_exec(buf.data, false, 0);
}

/*
 * lv_fold_sql returns the statement that folds rows $1 < key <= $2 into
 * generation $3 of the speed table and returns how many rows it folded.
 */
char *
lv_fold_sql(void *defp, const char *speed_table)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;
	int			naggs = list_length(def->aggs);

	initStringInfo(&buf);
	appendStringInfo(&buf, "WITH d AS (%s), u AS (INSERT INTO %s AS t (gen",
					 def->partial_sql, speed_table);
	if (def->keys)
		appendStringInfoString(&buf, ", ");
	key_list(&buf, def, "");
	foreach(lc, def->aggs)
		appendStringInfo(&buf, ", s%d", foreach_current_index(lc) + 1);
	appendStringInfoString(&buf, ", nrows) SELECT $3");
	if (def->keys)
		appendStringInfoString(&buf, ", ");
	key_list(&buf, def, "d.");
	foreach(lc, def->aggs)
		appendStringInfo(&buf, ", d.s%d", foreach_current_index(lc) + 1);
	appendStringInfoString(&buf, ", d.nrows FROM d WHERE d.nrows > 0 ON CONFLICT (");
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
	(void) naggs;
	appendStringInfoString(&buf, "nrows = t.nrows + excluded.nrows) "
						   "SELECT coalesce(sum(nrows), 0)::bigint FROM d");
	return buf.data;
}

/* fold_range folds $lo < key <= $hi into generation gen; returns row count. */
static int64
fold_range(LvView *view, int64 lo, int64 hi, int64 gen)
{
	bool		isnull;
	int64		rows;

	lv_spi_exec_kept(view->fold_sql, 3,
						  (Oid[]) {INT8OID, INT8OID, INT8OID},
						  (Datum[]) {Int64GetDatum(lo), Int64GetDatum(hi), Int64GetDatum(gen)},
						  NULL, false, 0);
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return rows;
}

/*
 * lv_fold_view folds settled source rows beyond the speed watermark, at most
 * max_chunks chunks of lambda_views.fold_chunk_rows keys (0: all) and at
 * most max_keys keys (0: no limit; a replay's throttle), in the current
 * transaction.  settled is how far rows are known to be settled
 * (lv_capture_settled; -1: nothing new), or NULL to find out by waiting
 * for the source's writers (lv_capture_high_water).  *more says whether
 * settled rows remain.
 */
int64
lv_fold_view(LvView *view, int max_chunks, int64 max_keys, const int64 *settled,
			 bool *more)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	LvState		state;
	int64		lo;
	int64		high_water;
	int64		gen = 0;
	int64		total = 0;
	int			chunks = 0;
	instr_time	start;
	instr_time	elapsed;

	lv_require_current_catalog("fold");
	if (more)
		*more = false;
	lv_require_read_committed("fold");
	INSTR_TIME_SET_CURRENT(start);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	state = lv_lock_state(view);
	lo = state.speed_watermark;
	high_water = settled ? Max(*settled, lo) : lv_capture_high_water(view);
	if (max_keys > 0 && high_water - lo > max_keys)
	{
		/* stop short, but report the rest as pending */
		if (more)
			*more = true;
		high_water = lo + max_keys;
	}

	SPI_connect();
	while (lo < high_water && (max_chunks == 0 || chunks < max_chunks))
	{
		int64		hi = (high_water - lo > lv_fold_chunk_rows) ?
			lo + lv_fold_chunk_rows : high_water;

		/* lock before reading the generation: see the file header */
		lv_lock_view(view->view_id, LV_LOCK_FOLD_GEN, RowExclusiveLock);
		gen = lv_sequence_last_value(view->gen_sequence);
		total += fold_range(view, lo, hi, gen);
		lo = hi;
		chunks++;
	}
	if (more && lo < high_water)
		*more = true;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	lv_catalog_sql("UPDATE lambda_views.view_state SET "
						  "gen_start_watermark = CASE WHEN $3 <> 0 AND speed_gen <> $3 "
						  "  THEN speed_watermark ELSE gen_start_watermark END, "
						  "speed_gen = CASE WHEN $3 <> 0 THEN $3 ELSE speed_gen END, "
						  "speed_watermark = $2, rows_folded = rows_folded + $4, "
						  "last_fold_at = now(), last_fold_ms = $5 "
						  "WHERE view_id = $1",
						  5, (Oid[]) {INT4OID, INT8OID, INT8OID, INT8OID, FLOAT8OID},
						  (Datum[]) {Int32GetDatum(view->view_id), Int64GetDatum(lo),
							  Int64GetDatum(gen), Int64GetDatum(total),
						  Float8GetDatum(INSTR_TIME_GET_MILLISEC(elapsed))},
						  NULL, false, 0);
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return total;
}
