/*-------------------------------------------------------------------------
 *
 * src/layers/serving.c  (level: layer)
 *	  Serving layer: the relation users query, batch ⊕ speed ⊕ tail.
 *
 * The relation is a plain SQL view over the batch table, the speed table and
 * lambda_views.tail(), so the planner pushes a filter on group keys into
 * index scans of both tables.  The batch generation is the newest one whose
 * marker the reader sees in the partitions of its plan (batch.c), and the
 * speed rows are those of later generations.  A quiet view (the state row
 * in the reader's snapshot has the speed watermark at the batch's, for the
 * batch the reader uses, and the tail is empty) is a plain scan of the
 * batch's finals: one initplan (lv_quiet) picks, by one-time filters,
 * between that scan and the anti join against the speed rows and the tail
 * (a per-row OR would cost every row, and the planner would cost it as a
 * subplan per row).  Groups that neither the speed table nor the tail touch
 * are read straight from the batch's finalized columns; only the touched
 * ones (and groups with a NULL key) go through lambda_views.merge, which
 * combines the stored states and finalizes them.
 *
 *   query(t) = batch(0..W) ⊕ speed(W..F) ⊕ tail(F..t)
 *
 * lambda_views.tail() aggregates, in the reader's snapshot, the committed
 * source rows beyond the speed watermark (an index range scan on the append
 * key), as the view's owner and under the view's pinned settings.  A read
 * filtered on group keys calls lambda_views.tail_where(), which aggregates
 * those groups' rows alone: from the unfolded rows when they are few, else
 * through the source's indexes, with the range of the source column that a
 * bucket key (date_trunc, date_bin) was computed from (key_range).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "common/keywords.h"
#include "datatype/timestamp.h"
#include "parser/parse_coerce.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "parser/gram.h"
#include "parser/scansup.h"
#include "pgtime.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "lambda_views.h"
#include "definition.h"


/* the speed generations after the batch a reader uses */
#define SPEED_GEN "s.gen > (SELECT g.gen FROM lv_batch g)"

/*
 * the batch rows of the generation a reader uses; the quiet and busy forms
 * add the one-time filter that picks the branch
 */
#define BATCH_GEN "b.gen = (SELECT g.gen FROM lv_batch g) AND b.nrows IS NOT NULL"
#define QUIET "(SELECT q.quiet FROM lv_quiet q)"
#define QUIET_GEN BATCH_GEN " AND " QUIET
#define BUSY_GEN BATCH_GEN " AND NOT " QUIET

/* appends "<p>k1 <op> <q>k1 AND ..." */
static void
key_match(StringInfo buf, LvDefinition *def, const char *p, const char *q)
{
	int			i;

	for (i = 0; i < list_length(def->keys); i++)
		appendStringInfo(buf, "%s%sk%d = %sk%d", i > 0 ? " AND " : "",
						 p, i + 1, q, i + 1);
}

/* appends " AND p.k IS NOT NULL ..." for keys that may be null */
static bool
keys_not_null(StringInfo buf, LvDefinition *def, const char *p)
{
	ListCell   *lc;
	bool		any = false;

	foreach(lc, def->keys)
	{
		if (((LvKey *) lfirst(lc))->notnull)
			continue;
		appendStringInfo(buf, " AND %sk%d IS NOT NULL", p,
						 foreach_current_index(lc) + 1);
		any = true;
	}
	return any;
}

/* appends "p.k1, p.k2" */
static void
keys(StringInfo buf, LvDefinition *def, const char *p, bool leading_comma)
{
	int			i;

	for (i = 0; i < list_length(def->keys); i++)
		appendStringInfo(buf, "%s%sk%d", (i > 0 || leading_comma) ? ", " : "",
						 p, i + 1);
}

/*
 * untouched appends the condition that batch row b's group is in neither
 * the speed rows after the batch nor the tail: an anti join against each.
 * One anti join against both together hides the speed table's statistics
 * behind the union: the planner then costs a hash of the touched keys so
 * high that it walks the batch's key index for a merge instead, one heap
 * page per batch row (a full read with folds pending: 2.5-3x the time of
 * the two hash anti joins).
 */
static void
untouched(StringInfo buf, LvDefinition *def, const char *speed_name)
{
	appendStringInfo(buf, "NOT EXISTS (SELECT 1 FROM %s s WHERE %s AND ", speed_name, SPEED_GEN);
	key_match(buf, def, "s.", "b.");
	appendStringInfoString(buf, ") AND NOT EXISTS (SELECT 1 FROM lv_tail t WHERE ");
	key_match(buf, def, "t.", "b.");
	appendStringInfoChar(buf, ')');
}

/*
 * appends the subquery of the keys after the batch that match batch row b:
 * one semi join over the speed rows and the tail together
 */
static void
touched(StringInfo buf, LvDefinition *def, const char *speed_name)
{
	appendStringInfoString(buf, "SELECT 1 FROM (SELECT ");
	keys(buf, def, "s.", false);
	appendStringInfo(buf, " FROM %s s WHERE %s UNION ALL SELECT ", speed_name, SPEED_GEN);
	keys(buf, def, "t.", false);
	appendStringInfoString(buf, " FROM lv_tail t) d WHERE ");
	key_match(buf, def, "d.", "b.");
}

/*
 * appends ", p.s1, ..." and ", p.f1, ..." (or typed NULLs for finals).  For
 * rows of batch_table (InvalidOid: other rows), a state the table does not
 * keep is NULL: the final value is the state (lambda_views.merge).
 */
static void
states_and_finals(StringInfo buf, LvDefinition *def, const char *p,
				  bool null_finals, Oid batch_table)
{
	ListCell   *lc;

	foreach(lc, def->aggs)
	{
		int			j = foreach_current_index(lc) + 1;

		if (OidIsValid(batch_table) &&
			get_attnum(batch_table, psprintf("s%d", j)) == InvalidAttrNumber)
			appendStringInfo(buf, ", NULL::lambda_views.state AS s%d", j);
		else
			appendStringInfo(buf, ", %ss%d", p, j);
	}
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);

		if (null_finals)
			appendStringInfo(buf, ", %s", agg->null_final_sql);
		else
			appendStringInfo(buf, ", %sf%d", p, foreach_current_index(lc) + 1);
	}
}

/*
 * batch_finals appends the select of the finalized batch rows that gen
 * picks, only those whose keys are all non-null if asked (the caller
 * appends more quals).
 */
static void
batch_finals(StringInfo buf, LvDefinition *def, const char *batch_name,
			 const char *gen, bool notnull_keys)
{
	int			j;

	appendStringInfoString(buf, "SELECT ");
	keys(buf, def, "b.", false);
	for (j = 0; j < list_length(def->aggs); j++)
		appendStringInfo(buf, ", b.f%d", j + 1);
	appendStringInfo(buf, " FROM %s b WHERE %s", batch_name, gen);
	if (notnull_keys)
		keys_not_null(buf, def, "b.");
}

/* appends the output columns of the view over the merged groups (alias x) */
static void
outputs(StringInfo buf, LvDefinition *def, Oid batch_table)
{
	ListCell   *lc;

	foreach(lc, def->outputs)
	{
		LvOutput   *out = lfirst(lc);

		appendStringInfo(buf, "%s%s AS %s", foreach_current_index(lc) > 0 ? ", " : "",
						 lv_deparse_over(out->expr, "x", batch_table),
						 quote_identifier(out->name));
	}
}

/* appends "u.k1, ..., lambda_views.merge(...) AS f1, ...": a group combined */
static void
merged_groups(StringInfo buf, LvDefinition *def)
{
	ListCell   *lc;

	keys(buf, def, "u.", false);
	foreach(lc, def->aggs)
	{
		LvAgg	   *agg = lfirst(lc);
		int			j = foreach_current_index(lc) + 1;

		appendStringInfo(buf, ", lambda_views.merge(%s, u.s%d, u.f%d, u.from_batch) AS f%d",
						 agg->signature_sql, j, j, j);
	}
}

/*
 * routed_view_sql is lv_view_sql for a view over a Citus distributed table.
 * One small subquery reads the view's read mark on the coordinator (the
 * batch generation, and the key ranges of the real-time tail: the rows
 * beyond the speed watermark and its holes), as lambda_views.serving_mark
 * gives them; Citus runs it there, because it reads the coordinator's
 * catalog, and hands its rows to the shards.  The rest is one query over
 * tables co-located with the source and grouped by their distribution
 * column: the batch rows of that generation, the speed rows after it and
 * the partial states of the tail's source rows (an index range scan of the
 * append key per range), merged per group.  Citus pushes it down whole, and
 * a filter on the distribution column routes it to one shard.
 */
static char *
routed_view_sql(LvDefinition *def, int32 view_id, Oid batch_table,
				const char *batch_name, const char *speed_name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	/*
	 * the view's state row makes Citus run the mark's subquery on this
	 * node; the mark is read whether that row is there or not (on another
	 * node it is not, and the mark says so)
	 */
	appendStringInfo(&buf, "WITH lv_batch AS MATERIALIZED (SELECT m.gen AS lambda_views_gen, "
					 "m.lo AS lambda_views_lo, m.hi AS lambda_views_hi FROM lambda_views.serving_mark(%d) m "
					 "LEFT JOIN lambda_views.view_state st ON st.view_id = %d) SELECT ",
					 view_id, view_id);
	outputs(&buf, def, batch_table);
	appendStringInfoString(&buf, " FROM (SELECT ");
	merged_groups(&buf, def);
	appendStringInfoString(&buf, " FROM (SELECT ");
	keys(&buf, def, "b.", false);
	states_and_finals(&buf, def, "b.", false, batch_table);
	appendStringInfo(&buf, ", true AS from_batch FROM lv_batch g JOIN %s b ON b.gen = g.lambda_views_gen "
					 "WHERE b.nrows IS NOT NULL UNION ALL SELECT ", batch_name);
	keys(&buf, def, "s.", false);
	states_and_finals(&buf, def, "s.", true, InvalidOid);
	appendStringInfo(&buf, ", false FROM lv_batch g JOIN %s s ON s.gen > g.lambda_views_gen UNION ALL SELECT ",
					 speed_name);
	keys(&buf, def, "t.", false);
	states_and_finals(&buf, def, "t.", true, InvalidOid);
	appendStringInfo(&buf, ", false FROM (%s) t", lv_partial_ranges_sql(def, "lv_batch"));
	appendStringInfoString(&buf, ") u GROUP BY ");
	keys(&buf, def, "u.", false);
	appendStringInfoString(&buf, ") x");
	if (def->having)
		appendStringInfo(&buf, " WHERE %s",
						 lv_deparse_over(def->having, "x", batch_table));
	return buf.data;
}

/*
 * appends "lv_tail AS MATERIALIZED (...)": the view's real-time tail, of
 * the groups that filter gives (the key numbers and values of
 * lambda_views.tail_where), or of every group
 */
static void
tail_cte(StringInfo buf, LvDefinition *def, int32 view_id, const char *filter)
{
	ListCell   *lc;

	appendStringInfo(buf, "lv_tail AS MATERIALIZED (SELECT * FROM lambda_views.%s(%d, %s::pg_catalog.regclass%s%s) AS t(",
					 filter ? "tail_where" : "tail", view_id,
					 quote_literal_cstr(quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->source)),
																   get_rel_name(def->source))),
					 filter ? ", " : "", filter ? filter : "");
	foreach(lc, def->keys)
	{
		LvKey	   *key = lfirst(lc);

		appendStringInfo(buf, "k%d %s%s, ", foreach_current_index(lc) + 1,
						 key->type_sql, key->collate_sql);
	}
	foreach(lc, def->aggs)
		appendStringInfo(buf, "s%d lambda_views.state, ", foreach_current_index(lc) + 1);
	appendStringInfoString(buf, "nrows bigint))");
}

/*
 * touched_groups appends the select of the groups that the speed rows
 * after the batch or the tail touch, and of the batch groups with a NULL
 * key (equality cannot match them), combined and finalized: the batch rows
 * that batch_gen picks, the speed rows that speed_gen picks and the tail.
 * With tids, the batch row of each group, if any, as lv_tid.
 */
static void
touched_groups(StringInfo buf, LvDefinition *def, Oid batch_table,
			   const char *batch_name, const char *speed_name,
			   const char *batch_gen, const char *speed_gen, bool tids)
{
	ListCell   *lc;
	StringInfoData nullpred;
	const char *batch_tid = tids ? ", b.ctid AS lv_tid" : "";
	const char *no_tid = tids ? ", NULL::pg_catalog.tid" : "";

	appendStringInfoString(buf, "SELECT ");
	merged_groups(buf, def);
	if (tids)
		appendStringInfoString(buf, ", pg_catalog.max(u.lv_tid) AS lv_tid");
	appendStringInfoString(buf, " FROM (SELECT ");
	keys(buf, def, "b.", false);
	states_and_finals(buf, def, "b.", false, batch_table);
	appendStringInfo(buf, ", true AS from_batch%s FROM %s b WHERE %s",
					 batch_tid, batch_name, batch_gen);
	keys_not_null(buf, def, "b.");
	appendStringInfoString(buf, " AND EXISTS (");
	touched(buf, def, speed_name);
	appendStringInfoChar(buf, ')');

	initStringInfo(&nullpred);
	foreach(lc, def->keys)
		if (!((LvKey *) lfirst(lc))->notnull)
			appendStringInfo(&nullpred, "%sb.k%d IS NULL", nullpred.len ? " OR " : "",
							 foreach_current_index(lc) + 1);
	if (nullpred.len > 0)
	{
		appendStringInfoString(buf, " UNION ALL SELECT ");
		keys(buf, def, "b.", false);
		states_and_finals(buf, def, "b.", false, batch_table);
		appendStringInfo(buf, ", true%s FROM %s b WHERE %s AND (%s)",
						 batch_tid, batch_name, batch_gen, nullpred.data);
	}
	appendStringInfoString(buf, " UNION ALL SELECT ");
	keys(buf, def, "s.", false);
	states_and_finals(buf, def, "s.", true, InvalidOid);
	appendStringInfo(buf, ", false%s FROM %s s WHERE %s UNION ALL SELECT ",
					 no_tid, speed_name, speed_gen);
	keys(buf, def, "t.", false);
	states_and_finals(buf, def, "t.", true, InvalidOid);
	appendStringInfo(buf, ", false%s FROM lv_tail t) u GROUP BY ", no_tid);
	keys(buf, def, "u.", false);
}

/*
 * lv_view_sql returns the query of the relation users read.  Output
 * expressions are deparsed over the batch table's columns (alias x).
 */
char *
lv_view_sql(void *defp, int32 view_id, Oid batch_table,
			const char *batch_name, const char *speed_name)
{
	LvDefinition *def = defp;
	StringInfoData buf;
	ListCell   *lc;

	if (def->dist_key > 0)
		return routed_view_sql(def, view_id, batch_table, batch_name, speed_name);
	initStringInfo(&buf);
	appendStringInfo(&buf, "WITH lv_batch AS MATERIALIZED (SELECT pg_catalog.max(m.gen) AS gen "
					 "FROM %s m WHERE m.nrows IS NULL), ", batch_name);
	tail_cte(&buf, def, view_id, NULL);
	/*
	 * Quiet: the state row the reader sees says no fold has gone beyond the
	 * batch the reader uses (one index probe, however many speed rows are
	 * still waiting for removal), and the tail is empty.
	 */
	appendStringInfo(&buf, ", lv_quiet AS MATERIALIZED (SELECT coalesce((SELECT st.speed_watermark = st.batch_watermark "
					 "AND st.batch_gen = (SELECT g.gen FROM lv_batch g) "
					 "FROM lambda_views.view_state st WHERE st.view_id = %d), false) "
					 "AND NOT EXISTS (SELECT 1 FROM lv_tail) AS quiet) SELECT ",
					 view_id);

	outputs(&buf, def, batch_table);
	appendStringInfoString(&buf, " FROM (");

	if (def->keys != NIL)
	{
		/*
		 * groups only the batch holds: finalized values as stored.  When
		 * nothing after the batch exists (a quiet view), that is every
		 * batch group, NULL keys too, and no key needs looking up.
		 */
		batch_finals(&buf, def, batch_name, QUIET_GEN, false);
		appendStringInfoString(&buf, " UNION ALL ");
		batch_finals(&buf, def, batch_name, BUSY_GEN, true);
		appendStringInfoString(&buf, " AND ");
		untouched(&buf, def, speed_name);
		appendStringInfoString(&buf, " UNION ALL ");
		/* groups the speed layer or the tail touched: combine and finalize */
		touched_groups(&buf, def, batch_table, batch_name, speed_name,
					   BUSY_GEN, SPEED_GEN " AND NOT " QUIET, false);
	}
	else
	{
		/* no GROUP BY: one row, always combined */
		appendStringInfoString(&buf, "SELECT ");
		foreach(lc, def->aggs)
		{
			LvAgg	   *agg = lfirst(lc);
			int			j = foreach_current_index(lc) + 1;

			appendStringInfo(&buf, "%slambda_views.merge(%s, u.s%d, u.f%d, u.from_batch) AS f%d",
							 j > 1 ? ", " : "", agg->signature_sql, j, j, j);
		}
		appendStringInfoString(&buf, " FROM (SELECT true AS lv");
		states_and_finals(&buf, def, "b.", false, batch_table);
		appendStringInfo(&buf, ", true AS from_batch FROM %s b WHERE %s", batch_name, BATCH_GEN);
		appendStringInfoString(&buf, " UNION ALL SELECT true");
		states_and_finals(&buf, def, "s.", true, InvalidOid);
		appendStringInfo(&buf, ", false FROM %s s WHERE %s UNION ALL SELECT true",
						 speed_name, SPEED_GEN);
		states_and_finals(&buf, def, "t.", true, InvalidOid);
		appendStringInfoString(&buf, ", false FROM lv_tail t) u");
	}
	appendStringInfoString(&buf, ") x");
	if (def->having)
		appendStringInfo(&buf, " WHERE %s",
						 lv_deparse_over(def->having, "x", batch_table));
	return buf.data;
}

/*
 * lv_touched_sql returns, for the scan of a view's batch partition that
 * leaves out the groups read after the batch (quiet.c), the query of those
 * groups combined and finalized, shaped like the batch's rows (k.., f..),
 * with the batch row each one replaces (lv_tid; NULL for a new group).  $1
 * is the batch generation the reader uses; tail_filter, if not NULL, the
 * key numbers and values that lambda_views.tail_where takes after the
 * source.  NULL for a view without GROUP BY or over a Citus table, which
 * have no such read.
 */
char *
lv_touched_sql(void *defp, int32 view_id, Oid batch_table,
			   const char *batch_name, const char *speed_name,
			   const char *tail_filter)
{
	LvDefinition *def = defp;
	StringInfoData buf;

	if (def->dist_key > 0 || def->keys == NIL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "WITH lv_batch AS MATERIALIZED (SELECT $1::pg_catalog.int4 AS gen), ");
	tail_cte(&buf, def, view_id, tail_filter);
	appendStringInfoChar(&buf, ' ');
	touched_groups(&buf, def, batch_table, batch_name, speed_name,
				   "b.gen = $1::pg_catalog.int4 AND b.nrows IS NOT NULL", SPEED_GEN, true);
	return buf.data;
}

/* the catalog query of lv_tail, prepared once per backend */
static SPIPlanPtr meta_plan = NULL;

/*
 * A plan of a filtered tail, kept for the filter's shape (the key numbers
 * and the values' types) and the partial query it was made from; plan is
 * NULL until one is prepared.  A lookup of the same shape finds it without
 * building its query again.
 */
typedef struct TailWhere
{
	char	   *partial_sql;
	int			n;
	int		   *keyno;
	Oid		   *types;
	SPIPlanPtr	plan;
	bool		sort_groups;
} TailWhere;

/*
 * What lv_tail keeps per backend and view: the prepared partial query, and
 * the key sequence and last speed watermark it read.  Watermarks only grow,
 * so while the sequence has not handed out a key beyond the one remembered
 * the tail is empty and the catalog need not be read.
 */
typedef struct TailCache
{
	int32		view_id;
	char	   *partial_sql;	/* NULL until a plan is prepared */
	SPIPlanPtr	plan;
	bool		sort_groups;	/* the plan aggregates large states sorted */
	TailWhere	where[3];		/* the filtered tail's plans, by TailForm */
	bool		valid;			/* watermark read, no relcache inval since */
	Oid			key_sequence;
	int64		watermark;
	TransactionId xmax;			/* of the snapshot that read it */
	bool		holes;			/* the watermark had holes (speed.c) */
	int			distributed;	/* the source is a Citus table: 1, 0, or
								 * -1 while not known */
} TailCache;

static List *tail_caches = NIL;

/*
 * forget_watermarks distrusts every remembered watermark: a view may have
 * been dropped and its id reused (DROP and CREATE EXTENSION) since.
 */
static void
forget_watermarks(Datum arg, Oid relid)
{
	ListCell   *lc;

	foreach(lc, tail_caches)
	{
		((TailCache *) lfirst(lc))->valid = false;
		/* every relation: perhaps a new extension, with the id reused */
		if (!OidIsValid(relid))
			((TailCache *) lfirst(lc))->distributed = -1;
	}
}

/* tail_cache returns the entry of a view, creating it if asked. */
static TailCache *
tail_cache(int32 view_id, bool create)
{
	ListCell   *lc;
	TailCache  *tc;
	MemoryContext oldcxt;

	foreach(lc, tail_caches)
	{
		if (((TailCache *) lfirst(lc))->view_id == view_id)
			return lfirst(lc);
	}
	if (!create)
		return NULL;
	if (tail_caches == NIL)
		CacheRegisterRelcacheCallback(forget_watermarks, (Datum) 0);
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	tc = palloc0(sizeof(TailCache));
	tc->view_id = view_id;
	tc->distributed = -1;
	tail_caches = lappend(tail_caches, tc);
	MemoryContextSwitchTo(oldcxt);
	return tc;
}

/*
 * Bucket keys.  A group key that buckets a source column, date_trunc(unit,
 * col) or date_bin(stride, col, origin), has the rows of one group within a
 * range of the column that can be computed from the key's value.  The
 * filtered tail adds that range on the column to its source scan, so that
 * an index on the column (or one leading with other keys and then this
 * column) finds the group's rows, instead of a scan through every unfolded
 * row or every row of the other keys over all time.  The range only adds
 * rows: the key's own equality still decides.
 */

/* the longest span, in microseconds, of one bucket of each date_trunc unit */
static const struct
{
	int			unit;			/* DTK_* */
	int64		span;
}			unit_spans[] =
{
	{DTK_MICROSEC, 1},
	{DTK_MILLISEC, 1000},
	{DTK_SECOND, USECS_PER_SEC},
	{DTK_MINUTE, USECS_PER_MINUTE},
	{DTK_HOUR, USECS_PER_HOUR},
	{DTK_DAY, USECS_PER_DAY},
	{DTK_WEEK, 7 * USECS_PER_DAY},
	{DTK_MONTH, 31 * USECS_PER_DAY},
	{DTK_QUARTER, 92 * USECS_PER_DAY},
	{DTK_YEAR, 366 * USECS_PER_DAY},
	{DTK_DECADE, 3653 * USECS_PER_DAY},
	{DTK_CENTURY, 36525 * USECS_PER_DAY},
	{DTK_MILLENNIUM, 365250 * USECS_PER_DAY}
};

/* trunc_unit_span: the span of a date_trunc unit, 0 for none known */
static int64
trunc_unit_span(Const *unit)
{
	char	   *lowunits;
	int			val;
	int			i;
	text	   *t;

	if (unit->constisnull || unit->consttype != TEXTOID)
		return 0;
	t = DatumGetTextPP(unit->constvalue);
	lowunits = downcase_truncate_identifier(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), false);
	if (DecodeUnits(0, lowunits, &val) != UNITS)
		return 0;
	for (i = 0; i < lengthof(unit_spans); i++)
		if (unit_spans[i].unit == val)
			return unit_spans[i].span;
	return 0;
}

/*
 * key_range appends to buf, for group key k of the partial query (its
 * analyzed form) whose value is parameter $param, the range of a source
 * column that holds every row of the group, and returns true; it returns
 * false, appending nothing, for a key that is no such bucket.
 *
 * date_bin and date_trunc of a timestamp are exact: the value v is the
 * bucket's start and the bucket ends before v + its span.  date_trunc of a
 * timestamptz in units of days and longer truncates in the session's time
 * zone and takes the offset of the truncated local time, which can differ
 * from the row's own offset by a transition inside the bucket: in a zone
 * with transitions, the range is widened by two days on each side (more
 * than any offset change there has been).  Below a day it keeps the row's
 * offset and is exact.  Values near the ends of the type's range, and
 * infinities, get the unbounded range (no arithmetic that could overflow).
 */
static bool
key_range(StringInfo buf, Query *query, int k, int param)
{
	TargetEntry *tle;
	FuncExpr   *fn;
	Var		   *var;
	RangeTblEntry *rte;
	int64		span = 0;
	int64		slack = 0;
	const char *type;
	const char *col;
	char	   *attname;

	if (query == NULL || k > list_length(query->targetList))
		return false;
	tle = list_nth_node(TargetEntry, query->targetList, k - 1);
	if (!IsA(tle->expr, FuncExpr))
		return false;
	fn = (FuncExpr *) tle->expr;
	if (list_length(fn->args) < 2 || !IsA(lsecond(fn->args), Var) ||
		!IsA(linitial(fn->args), Const))
		return false;
	var = lsecond(fn->args);
	switch (fn->funcid)
	{
		case F_DATE_TRUNC_TEXT_TIMESTAMP:
		case F_DATE_TRUNC_TEXT_TIMESTAMPTZ:
			span = trunc_unit_span(linitial(fn->args));
			if (fn->funcid == F_DATE_TRUNC_TEXT_TIMESTAMPTZ && span >= USECS_PER_DAY)
			{
				long		gmtoff;

				if (!pg_get_timezone_offset(session_timezone, &gmtoff))
					slack = 2 * USECS_PER_DAY;
			}
			break;
		case F_DATE_BIN_INTERVAL_TIMESTAMP_TIMESTAMP:
		case F_DATE_BIN_INTERVAL_TIMESTAMPTZ_TIMESTAMPTZ:
			{
				Const	   *stride = linitial(fn->args);
				Interval   *iv;

				if (stride->constisnull || list_length(fn->args) != 3 ||
					!IsA(lthird(fn->args), Const))
					return false;
				iv = DatumGetIntervalP(stride->constvalue);
				/* date_bin refuses months; days are 24 hours to it */
				if (iv->month != 0 || iv->day < 0 || iv->time < 0 ||
					iv->day > 1000000 || iv->time > 1000000 * USECS_PER_DAY)
					return false;
				span = iv->day * USECS_PER_DAY + iv->time;
			}
			break;
		default:
			return false;
	}
	if (span <= 0 || var->varlevelsup != 0 || var->varattno <= 0 ||
		var->varno < 1 || var->varno > list_length(query->rtable))
		return false;
	rte = rt_fetch(var->varno, query->rtable);
	if (rte->rtekind != RTE_RELATION)
		return false;
	attname = get_attname(rte->relid, var->varattno, true);
	if (attname == NULL)
		return false;
	type = format_type_be_qualified(var->vartype);
	col = quote_identifier(attname);

	/*
	 * $p within [4000 BC, 200000 AD]: far from the type's ends (4713 BC,
	 * 294276 AD) by more than any span and slack above
	 */
#define INSIDE "$%d OPERATOR(pg_catalog.>=) '4000-01-01 BC'::%s AND $%d OPERATOR(pg_catalog.<=) '200000-01-01'::%s"
	appendStringInfo(buf, "%s OPERATOR(pg_catalog.>=) CASE WHEN " INSIDE
					 " THEN $%d::%s OPERATOR(pg_catalog.-) '" INT64_FORMAT " microseconds'::pg_catalog.interval"
					 " ELSE '-infinity'::%s END AND ",
					 col, param, type, param, type, param, type, slack, type);
	appendStringInfo(buf, "%s OPERATOR(pg_catalog.<=) CASE WHEN " INSIDE
					 " THEN $%d::%s OPERATOR(pg_catalog.+) '" INT64_FORMAT " microseconds'::pg_catalog.interval"
					 " ELSE 'infinity'::%s END",
					 col, param, type, param, type, param, type, span + slack, type);
#undef INSIDE
	return true;
}

/*
 * with_source_quals returns the partial query partial_sql with quals
 * ("a AND b") added to its WHERE clause: the first WHERE outside
 * parentheses, found by the SQL scanner (not in a literal, an identifier or
 * a subquery).  NULL when there is none.
 */
static char *
with_source_quals(const char *partial_sql, const char *quals)
{
	core_yyscan_t scanner;
	core_yy_extra_type extra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			depth = 0;
	int			at = -1;
	int			tok;

	scanner = scanner_init(partial_sql, &extra, &ScanKeywords, ScanKeywordTokens);
	while ((tok = core_yylex(&yylval, &yylloc, scanner)) != 0)
	{
		if (tok == '(' || tok == '[')
			depth++;
		else if (tok == ')' || tok == ']')
			depth--;
		else if (depth == 0 && tok == WHERE)
		{
			at = yylloc + strlen("WHERE");
			break;
		}
	}
	scanner_finish(scanner);
	if (at < 0)
		return NULL;
	return psprintf("%.*s (%s) AND%s", at, partial_sql, quals, partial_sql + at);
}

/*
 * The forms of a filtered tail's query.  TAIL_PLAIN: the view's partial
 * query under the key equalities, plans as plancache chooses.  TAIL_RANGE:
 * with the ranges of its bucket keys added (key_range; the plain query when
 * no filtered key is a bucket), planned for each call's values: only they tell
 * whether the rows of the group's bucket (an index on the bucket's column)
 * or the unfolded rows (the append key's index) are fewer.  A plan for any
 * value would take the bucket's rows, and a lookup of a busy group in the
 * current bucket would read all of them.  TAIL_SCAN: the unfolded rows
 * alone, through the append key's index, the equalities as filters on them
 * (in a form no index takes), planned once: for a tail of a few hundred
 * keys, reading them costs less than planning a query.
 */
typedef enum TailForm
{
	TAIL_PLAIN,
	TAIL_RANGE,
	TAIL_SCAN
} TailForm;

/*
 * the widest tail, in keys handed out beyond the watermark, read as
 * TAIL_SCAN: at about 0.25 us a row, 300 rows cost about half of planning
 * the filtered tail (measured on the benchmark's data)
 */
#define TAIL_SCAN_KEYS 300

/*
 * tail_form picks the form of a filtered tail for a range of span keys (the
 * keys beyond the watermark handed out so far, or a hole's).  A Citus
 * source keeps the plain form: its planner routes a filter on the
 * distribution column to one shard, which neither the scan's filters nor
 * the ranges may change.
 */
static TailForm
tail_form(TailCache *tc, int64 span)
{
	if (tc->distributed == 1)
		return TAIL_PLAIN;
	if (span <= TAIL_SCAN_KEYS)
		return TAIL_SCAN;
	return TAIL_RANGE;
}

/* tail_plan returns the saved plan for the view's partial query. */
static SPIPlanPtr
tail_plan(TailCache *tc, const char *partial_sql)
{
	if (tc->partial_sql != NULL && strcmp(tc->partial_sql, partial_sql) == 0)
		return tc->plan;
	if (tc->partial_sql != NULL)
	{
		SPI_freeplan(tc->plan);
		pfree(tc->partial_sql);
		tc->partial_sql = NULL;
	}
	tc->plan = SPI_prepare(partial_sql, 2, (Oid[]) {INT8OID, INT8OID});
	if (tc->plan == NULL)
		elog(ERROR, "lambda_views: could not prepare the tail of view %d", tc->view_id);
	SPI_keepplan(tc->plan);
	tc->sort_groups = lv_wants_sorted_groups(tc->plan);
	tc->partial_sql = MemoryContextStrdup(TopMemoryContext, partial_sql);
	return tc->plan;
}

/*
 * tail_where_plan returns the saved plan of the tail of the groups filter
 * asks for: the view's partial query (plan, prepared) wrapped in "WHERE
 * p.kN = $3 AND ...", which the planner moves below the aggregation (quals
 * on grouping columns), so that only those groups' source rows are
 * aggregated.  Each key is compared with its type's equality operator and
 * collation, the ones its GROUP BY uses; the values' types must be those
 * the operator takes.  Parameters: the key range ($1, $2), then the values.
 * form says how the source's rows are found (TailForm); each form's plan
 * is kept apart.
 */
static SPIPlanPtr
tail_where_plan(TailCache *tc, SPIPlanPtr plan, const char *partial_sql,
				const char *view_name, const LvTailFilter *filter, TailForm form,
				bool *sort_groups)
{
	CachedPlanSource *src = linitial(SPI_plan_get_plan_sources(plan));
	TupleDesc	desc = src->resultDesc;
	Query	   *query = NULL;
	StringInfoData buf;
	StringInfoData ranges;
	StringInfoData key;
	char	   *ranged = NULL;
	SPIPlanPtr	p;
	TailWhere  *w = &tc->where[form];
	Oid		   *types;
	int			nkeys = 0;
	int			i;

	if (w->plan != NULL && w->n == filter->n &&
		memcmp(w->keyno, filter->keyno, filter->n * sizeof(int)) == 0 &&
		memcmp(w->types, filter->types, filter->n * sizeof(Oid)) == 0 &&
		strcmp(w->partial_sql, partial_sql) == 0)
	{
		*sort_groups = w->sort_groups;
		return w->plan;
	}
	types = palloc((filter->n + 2) * sizeof(Oid));
	while (nkeys < desc->natts &&
		   strcmp(NameStr(TupleDescAttr(desc, nkeys)->attname), psprintf("k%d", nkeys + 1)) == 0)
		nkeys++;
	types[0] = types[1] = INT8OID;
	if (src->is_valid && list_length(src->query_list) == 1)
		query = linitial_node(Query, src->query_list);
	initStringInfo(&buf);
	initStringInfo(&ranges);
	for (i = 0; i < filter->n; i++)
	{
		int			k = filter->keyno[i];
		Form_pg_attribute att;
		TypeCacheEntry *tce;
		HeapTuple	optup;
		Form_pg_operator op;

		if (k < 1 || k > nkeys)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lambda view %s has no group key number %d", view_name, k),
					 errdetail("Its group keys are numbered 1 to %d.", nkeys)));
		att = TupleDescAttr(desc, k - 1);
		tce = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR);
		if (!OidIsValid(tce->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("group key %d of lambda view %s has no equality operator", k, view_name)));
		optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tce->eq_opr));
		if (!HeapTupleIsValid(optup))
			elog(ERROR, "cache lookup failed for operator %u", tce->eq_opr);
		op = (Form_pg_operator) GETSTRUCT(optup);

		/*
		 * Both sides of the exact types of the key type's equality
		 * operator, so that the operator named is that one and no other
		 * of the name (the caller's value type could match another one
		 * better, made by whoever may create in that schema).  An
		 * operator of a polymorphic type (anyenum, anyarray, anyrange:
		 * built in) takes the key's own type on both sides.
		 */
		{
			bool		generic = get_typtype(op->oprright) == TYPTYPE_PSEUDO ||
				get_typtype(op->oprleft) == TYPTYPE_PSEUDO;
			Oid			right = generic ? getBaseType(att->atttypid) : op->oprright;

			if (!IsBinaryCoercible(filter->types[i], right))
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("value for group key %d of lambda view %s is of type %s, not %s",
								k, view_name, format_type_be(filter->types[i]),
								format_type_be(att->atttypid))));
			appendStringInfo(&buf, "%s%sp.k%d", i > 0 ? " AND " : "",
							 form == TAIL_SCAN ? "(" : "", k);
			if (!generic && op->oprleft != att->atttypid)
				appendStringInfo(&buf, "::%s", format_type_be_qualified(op->oprleft));
			appendStringInfo(&buf, " OPERATOR(%s.%s) $%d::%s",
							 quote_identifier(get_namespace_name(op->oprnamespace)),
							 NameStr(op->oprname), i + 3, format_type_be_qualified(right));
			types[i + 2] = right;
		}
		if (OidIsValid(att->attcollation) && att->attcollation != DEFAULT_COLLATION_OID)
			appendStringInfo(&buf, " COLLATE %s", generate_collation_name(att->attcollation));
		if (form == TAIL_SCAN)
			appendStringInfoString(&buf, ") IS TRUE");
		ReleaseSysCache(optup);
		if (form == TAIL_RANGE)
		{
			int			mark = ranges.len;

			if (ranges.len > 0)
				appendStringInfoString(&ranges, " AND ");
			if (!key_range(&ranges, query, k, i + 3))
			{
				ranges.len = mark;
				ranges.data[mark] = '\0';
			}
		}
	}
	if (ranges.len > 0)
		ranged = with_source_quals(partial_sql, ranges.data);
	initStringInfo(&key);
	appendStringInfo(&key, "SELECT * FROM (%s) p WHERE %s",
					 ranged ? ranged : partial_sql, buf.data);
	p = SPI_prepare_cursor(key.data, filter->n + 2, types,
						   form == TAIL_SCAN ? CURSOR_OPT_GENERIC_PLAN :
						   ranged != NULL ? CURSOR_OPT_CUSTOM_PLAN : 0);
	if (p == NULL)
		elog(ERROR, "lambda_views: could not prepare the filtered tail of view %d: %s",
			 tc->view_id, SPI_result_code_string(SPI_result));
	*sort_groups = lv_wants_sorted_groups(p);

	/*
	 * kept for the next lookup of the shape, but a ranged form made without
	 * its ranges because the partial query's plan was being replaced (freed
	 * with this call's SPI connection)
	 */
	if (form == TAIL_RANGE && query == NULL)
		return p;
	SPI_keepplan(p);
	if (w->plan != NULL)
	{
		SPI_freeplan(w->plan);
		pfree(w->partial_sql);
		pfree(w->keyno);
		pfree(w->types);
		w->plan = NULL;
	}
	w->plan = p;
	w->sort_groups = *sort_groups;
	w->n = filter->n;
	w->keyno = MemoryContextAlloc(TopMemoryContext, Max(filter->n, 1) * sizeof(int));
	memcpy(w->keyno, filter->keyno, filter->n * sizeof(int));
	w->types = MemoryContextAlloc(TopMemoryContext, Max(filter->n, 1) * sizeof(Oid));
	memcpy(w->types, filter->types, filter->n * sizeof(Oid));
	w->partial_sql = MemoryContextStrdup(TopMemoryContext, partial_sql);
	return p;
}

/*
 * check_tail_columns refuses a column definition list that does not match
 * the tail's real columns: the caller would read a datum of one type as
 * another.  The relation's own query always matches.
 */
static void
check_tail_columns(TupleDesc expected, TupleDesc actual, int32 view_id)
{
	int			i;

	if (expected == NULL || expected->natts != actual->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column definition list of lambda_views.tail() does not match lambda view %d", view_id),
				 errdetail("The tail has %d columns.", actual->natts)));
	for (i = 0; i < actual->natts; i++)
		if (TupleDescAttr(expected, i)->atttypid != TupleDescAttr(actual, i)->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column definition list of lambda_views.tail() does not match lambda view %d", view_id),
					 errdetail("Column %d is of type %s, not %s.", i + 1,
							   format_type_be(TupleDescAttr(actual, i)->atttypid),
							   format_type_be(TupleDescAttr(expected, i)->atttypid))));
}

/* the catalog queries of the tail and of the read mark */
#define TAIL_META_SQL "SELECT v.view_schema, v.view_name, v.owner, s.speed_watermark, " \
	"v.settings, v.partial_sql, v.key_sequence, s.speed_holes::pg_catalog.text " \
	"FROM lambda_views.views v " \
	"JOIN lambda_views.view_state s USING (view_id) WHERE v.view_id = $1"
#define MARK_META_SQL "SELECT v.view_schema, v.view_name, s.batch_gen::pg_catalog.int8, " \
	"s.speed_watermark, s.speed_holes::pg_catalog.text, v.source::pg_catalog.oid " \
	"FROM lambda_views.views v " \
	"JOIN lambda_views.view_state s USING (view_id) WHERE v.view_id = $1"

/*
 * view_meta runs a catalog query of a view (sql, prepared once into *plan;
 * its one argument the view id; its first two columns the view's schema and
 * name) as the catalog's
 * owner, in snapshot (InvalidSnapshot: the caller's), and checks that the
 * caller may read the view, which reading what asks for needs.  Returns
 * the row in SPI_tuptable, or NULL when there is no such view.  The caller
 * is connected to SPI.
 */
static HeapTuple
view_meta(SPIPlanPtr *plan, const char *sql, int32 view_id, Snapshot snapshot,
		  const char *what)
{
	Oid			cat_user;
	int			cat_sec;
	int			level;
	int			rc;
	HeapTuple	meta;
	TupleDesc	metadesc;
	Oid			relid;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, 1, (Oid[]) {INT4OID});

		if (p == NULL)
			elog(ERROR, "lambda_views: could not prepare the catalog query of %s", what);
		SPI_keepplan(p);
		*plan = p;
	}
	level = lv_become_catalog_owner(&cat_user, &cat_sec);
	rc = SPI_execute_snapshot(*plan, (Datum[]) {Int32GetDatum(view_id)},
							  NULL, snapshot, InvalidSnapshot, true, false, 1);

	lv_restore_user(cat_user, cat_sec, level);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lambda_views: the catalog query of %s failed: %s",
			 what, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	meta = SPI_tuptable->vals[0];
	metadesc = SPI_tuptable->tupdesc;
	relid = get_relname_relid(SPI_getvalue(meta, metadesc, 2),
							  get_namespace_oid(SPI_getvalue(meta, metadesc, 1), false));
	if (!OidIsValid(relid) ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for lambda view %s.%s",
						SPI_getvalue(meta, metadesc, 1), SPI_getvalue(meta, metadesc, 2)),
				 errhint("Reading %s needs SELECT on the view.", what)));
	return meta;
}

/*
 * lv_serve_tail puts into store the partial states of the committed source
 * rows of a view beyond its speed watermark, in the caller's snapshot
 * (lambda_views.tail).  expected is the caller's column definition list,
 * checked against the tail's real columns.
 */
void
lv_serve_tail(int32 view_id, Tuplestorestate *store, TupleDesc expected,
			  const LvTailFilter *filter)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	bool		isnull;
	HeapTuple	meta;
	TupleDesc	metadesc;
	Oid			owner;
	int64		watermark;
	List	   *settings = NIL;
	ArrayType  *arr;
	Datum	   *elems;
	int			nelems;
	int			i;
	uint64		row;
	SPIPlanPtr	plan;
	TailCache  *tc;
	List	   *holes;
	Datum	   *args;
	bool		sort_groups;
	SPIPlanPtr *plans;
	const char *view_name = NULL;
	int64		last_key;

	/* equality with NULL: no group asked for */
	if (filter != NULL && filter->any_null)
		return;
	/*
	 * The watermark remembered, in a snapshot that sees every transaction
	 * the one that read it saw (an older one, say a cursor's, may see an
	 * older watermark), and in a transaction that has written nothing (a
	 * fold of its own is seen by its later commands alone): while no key
	 * beyond it was handed out, the tail is empty
	 */
	tc = tail_cache(view_id, false);
	if (tc != NULL && tc->valid && !tc->holes && ActiveSnapshotSet() &&
		!TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		TransactionIdFollowsOrEquals(GetActiveSnapshot()->xmin, tc->xmax) &&
		lv_sequence_last_value(tc->key_sequence) <= tc->watermark)
		return;
	/* someone reads unfolded rows: the worker may fold early (worker.c) */
	lv_note_tail_read();

	/*
	 * Citus: no fold may commit between this read of the watermark and the
	 * reads of the speed rows on the shards that follow it (speed.c)
	 */
	if (tc == NULL || tc->distributed < 0)
	{
		LvView	   *view = lv_view_by_id(view_id, true);

		if (view == NULL)
			return;
		tc = tail_cache(view_id, true);
		tc->distributed = view->distributed ? 1 : 0;
	}
	if (tc->distributed == 1)
		lv_lock_view(view_id, LV_LOCK_FOLD_COMMIT, ShareLock);

	SPI_connect();
	/* read_only: the catalog and watermark in the caller's snapshot */
	meta = view_meta(&meta_plan, TAIL_META_SQL, view_id, InvalidSnapshot, "the real-time tail");
	if (meta == NULL)
	{
		SPI_finish();
		return;
	}
	metadesc = SPI_tuptable->tupdesc;
	owner = DatumGetObjectId(SPI_getbinval(meta, metadesc, 3, &isnull));
	watermark = DatumGetInt64(SPI_getbinval(meta, metadesc, 4, &isnull));

	/*
	 * No key beyond the watermark handed out yet: nothing to aggregate, and
	 * no settings to pin (the sequence's page is ahead of every key in use).
	 */
	tc = tail_cache(view_id, true);
	tc->key_sequence = DatumGetObjectId(SPI_getbinval(meta, metadesc, 7, &isnull));
	tc->watermark = watermark;
	tc->xmax = ActiveSnapshotSet() ? GetActiveSnapshot()->xmax : InvalidTransactionId;
	tc->valid = ActiveSnapshotSet();
	holes = lv_parse_holes(SPI_getvalue(meta, metadesc, 8));
	tc->holes = holes != NIL;
	last_key = lv_sequence_last_value(tc->key_sequence);
	if (holes == NIL && last_key <= watermark)
	{
		SPI_finish();
		return;
	}
	arr = DatumGetArrayTypeP(SPI_getbinval(meta, metadesc, 5, &isnull));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	for (i = 0; i < nelems; i++)
		settings = lappend(settings, TextDatumGetCString(elems[i]));

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nestlevel = lv_pin_settings(settings);
	plan = tail_plan(tc, SPI_getvalue(meta, metadesc, 6));
	sort_groups = tc->sort_groups;
	args = palloc0(((filter ? filter->n : 0) + 2) * sizeof(Datum));

	/*
	 * the rows beyond the watermark, and those of its holes: keys passed
	 * by a fold that could not see their rows yet (speed.c); a group may
	 * come in several rows, which the view combines.  A filtered tail
	 * picks its form for each range by the keys in it.
	 */
	plans = palloc((list_length(holes) + 1) * sizeof(SPIPlanPtr));
	for (i = -1; i < list_length(holes); i++)
	{
		LvKeyRange *hole = i < 0 ? NULL : list_nth(holes, i);

		plans[i + 1] = plan;
		if (filter != NULL && filter->n > 0)
		{
			if (view_name == NULL)
				view_name = quote_qualified_identifier(SPI_getvalue(meta, metadesc, 1),
													   SPI_getvalue(meta, metadesc, 2));
			plans[i + 1] = tail_where_plan(tc, plan, tc->partial_sql, view_name, filter,
										   tail_form(tc, hole ? hole->hi - hole->lo :
													 last_key - watermark),
										   &sort_groups);
		}
	}
	if (filter != NULL && filter->n > 0)
		memcpy(args + 2, filter->values, filter->n * sizeof(Datum));
	/* hll_add_agg & co. sorted, as for folds (run.c) */
	if (sort_groups)
		lv_sort_groups();
	for (i = -1; i < list_length(holes); i++)
	{
		LvKeyRange *hole = i < 0 ? NULL : list_nth(holes, i);
		int64		lo = hole ? hole->lo - 1 : watermark;
		int64		hi = hole ? hole->hi - 1 : PG_INT64_MAX;

		args[0] = Int64GetDatum(lo);
		args[1] = Int64GetDatum(hi);
		if (SPI_execute_plan(plans[i + 1], args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "lambda_views: the tail of view %d failed", view_id);
		check_tail_columns(expected, SPI_tuptable->tupdesc, view_id);
		for (row = 0; row < SPI_processed; row++)
			tuplestore_puttuple(store, SPI_tuptable->vals[row]);
		SPI_freetuptable(SPI_tuptable);
	}
	lv_unpin_settings(nestlevel);
	SetUserIdAndSecContext(saved_user, saved_sec);
	SPI_finish();
}

/* same_text says whether two strings, either NULL, are the same */
static bool
same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* the catalog query of lv_serve_mark, prepared once per backend */
static SPIPlanPtr mark_plan = NULL;

/*
 * lv_serve_mark puts into store the read mark of a view over a Citus
 * distributed table (lambda_views.serving_mark): a row (gen, NULL, NULL)
 * with the batch generation, then with lambda_views.realtime on a row
 * (NULL, lo, hi) per key range of the real-time tail, [lo, hi] of the
 * source's append key, beyond the speed watermark and in its holes.  The
 * relation joins the batch and speed rows with the first, the source with
 * the others: one subquery on the coordinator.
 *
 * There is no snapshot across the nodes of a Citus cluster: the reader
 * reads this mark on the coordinator and the storage on the shards in
 * separate steps.  So it first takes the lock every fold and every batch
 * swap of such a view holds from before its first write until its commit
 * has reached every shard (speed.c, batch.c), keeps it to the end of its
 * transaction, and reads the latest committed mark: what the shards show
 * next is what that mark describes, and nothing commits in between.
 */
void
lv_serve_mark(int32 view_id, Tuplestorestate *store, TupleDesc desc)
{
	HeapTuple	meta;
	TupleDesc	metadesc;
	bool		isnull;
	int64		gen;
	int64		watermark;
	char	   *holes;
	Oid			source;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	ListCell   *lc;

	if (desc == NULL || desc->natts != 3)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("lambda_views.serving_mark() must return three columns")));
	lv_lock_view(view_id, LV_LOCK_FOLD_COMMIT, ShareLock);

	SPI_connect();
	meta = view_meta(&mark_plan, MARK_META_SQL, view_id, GetLatestSnapshot(), "the view's read mark");
	if (meta == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("lambda view %d is not defined on this node", view_id),
				 errdetail("The catalog of lambda views lives on the node they were created on; Citus workers have a copy of each relation but not of the catalog."),
				 errhint("Read lambda views over Citus tables on the coordinator.")));
	metadesc = SPI_tuptable->tupdesc;
	gen = DatumGetInt64(SPI_getbinval(meta, metadesc, 3, &isnull));
	watermark = DatumGetInt64(SPI_getbinval(meta, metadesc, 4, &isnull));
	holes = SPI_getvalue(meta, metadesc, 5);
	source = DatumGetObjectId(SPI_getbinval(meta, metadesc, 6, &isnull));

	/*
	 * Shards on other nodes are read in snapshots taken after this lock,
	 * which see this mark.  Shards on this node are read in the statement's
	 * snapshot: if a fold or swap committed between it and the lock, the
	 * mark that snapshot sees is the one that fits them.
	 */
	meta = view_meta(&mark_plan, MARK_META_SQL, view_id, InvalidSnapshot, "the view's read mark");
	if (meta == NULL ||
		DatumGetInt64(SPI_getbinval(meta, SPI_tuptable->tupdesc, 3, &isnull)) != gen ||
		DatumGetInt64(SPI_getbinval(meta, SPI_tuptable->tupdesc, 4, &isnull)) != watermark ||
		!same_text(SPI_getvalue(meta, SPI_tuptable->tupdesc, 5), holes))
	{
		bool		local;
		bool		remote;

		lv_citus_placements(source, &local, &remote);
		if (local && remote)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not read lambda view %d consistently", view_id),
					 errdetail("A fold or batch swap of the view committed after this statement's snapshot was taken, and the statement reads shards on this node in that snapshot and shards on other nodes after it."),
					 errhint("Retry the statement.")));
		if (local && meta != NULL)
		{
			gen = DatumGetInt64(SPI_getbinval(meta, SPI_tuptable->tupdesc, 3, &isnull));
			watermark = DatumGetInt64(SPI_getbinval(meta, SPI_tuptable->tupdesc, 4, &isnull));
			holes = SPI_getvalue(meta, SPI_tuptable->tupdesc, 5);
		}
	}
	/* the generation in a row of its own, which no range joins */
	values[0] = Int64GetDatum(gen);
	nulls[1] = nulls[2] = true;
	tuplestore_putvalues(store, desc, values, nulls);
	nulls[0] = true;
	nulls[1] = nulls[2] = false;
	if (lv_realtime)
	{
		/* someone reads unfolded rows: the worker may fold early (worker.c) */
		lv_note_tail_read();
		foreach(lc, holes ? lv_parse_holes(holes) : NIL)
		{
			LvKeyRange *r = lfirst(lc);

			values[1] = Int64GetDatum(r->lo);
			values[2] = Int64GetDatum(r->hi - 1);
			tuplestore_putvalues(store, desc, values, nulls);
		}
		if (watermark < PG_INT64_MAX)
		{
			values[1] = Int64GetDatum(watermark + 1);
			values[2] = Int64GetDatum(PG_INT64_MAX);
			tuplestore_putvalues(store, desc, values, nulls);
		}
	}
	SPI_finish();
}
