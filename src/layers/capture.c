/*-------------------------------------------------------------------------
 *
 * src/layers/capture.c  (level: layer)
 *	  Which source rows are safe to fold: the append key's high-water mark,
 *	  and waiting for the writers that may still commit keys below it.
 *
 * Rule: a writer draws its append key from the sequence (column default)
 * while it holds RowExclusiveLock on the source, and keeps that lock until
 * it commits or aborts.  So after reading the sequence's last value H and
 * waiting for every transaction that holds a write lock on the source at
 * that moment (what CREATE INDEX CONCURRENTLY does), every key <= H is
 * either committed or never will be.  New writers are never blocked.  The
 * folds do not wait: they note the writers (lv_capture_settled) and fold
 * around those that stay (speed.c: holes).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "fmgr.h"
#include "catalog/pg_inherits.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "utils/rel.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "catalog/pg_type.h"

#include "lambda_views.h"
#include "shmem.h"

/*
 * lv_sequence_last_value reads the last value a sequence handed out straight
 * from its page, without the SELECT privilege on the sequence that reading
 * it through SQL would need.  A sequence that never handed out a value
 * returns its start value minus one.
 */
int64
lv_sequence_last_value(Oid seqrelid)
{
	Relation	seqrel = relation_open(seqrelid, AccessShareLock);
	Buffer		buf;
	Page		page;
	ItemId		lp;
	HeapTupleData tuple;
	Form_pg_sequence_data seq;
	int64		last;

	if (seqrel->rd_rel->relkind != RELKIND_SEQUENCE)
		elog(ERROR, "\"%s\" is not a sequence", RelationGetRelationName(seqrel));
	buf = ReadBuffer(seqrel, 0);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	lp = PageGetItemId(page, FirstOffsetNumber);
	tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple.t_len = ItemIdGetLength(lp);
	seq = (Form_pg_sequence_data) GETSTRUCT(&tuple);
	last = seq->is_called ? seq->last_value : seq->last_value - 1;
	UnlockReleaseBuffer(buf);
	relation_close(seqrel, AccessShareLock);
	return last;
}

/*
 * collect_conflicts appends to waits the transactions now holding a lock
 * on tag that conflicts with mode.  Vacuum and analyze also conflict with
 * ShareLock on a relation but never insert, so they are left out.
 */
static List *
collect_conflicts(List *waits, const LOCKTAG *tag, LOCKMODE mode)
{
	VirtualTransactionId *vxids = GetLockConflicts(tag, mode, NULL);

	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		PGPROC	   *proc = BackendIdGetProc(vxids->backendId);
		VirtualTransactionId *copy;

		if (proc != NULL &&
			(proc->statusFlags & (PROC_IN_VACUUM | PROC_IS_AUTOVACUUM)) &&
			proc->lxid == vxids->localTransactionId)
			continue;
		copy = palloc(sizeof(VirtualTransactionId));
		*copy = *vxids;
		waits = lappend(waits, copy);
	}
	return waits;
}

/* wait_all waits until each of the transactions listed has ended. */
static void
wait_all(List *waits)
{
	ListCell   *lc;

	foreach(lc, waits)
	{
		CHECK_FOR_INTERRUPTS();
		VirtualXactLock(*(VirtualTransactionId *) lfirst(lc), true);
	}
}

/*
 * lv_wait_for_writers waits until every transaction that holds a write lock
 * on the relation (and, for a partitioned table, on any partition) now has
 * ended.
 */
void
lv_wait_for_writers(Oid relid, bool with_partitions)
{
	List	   *relids = with_partitions ?
		find_all_inheritors(relid, NoLock, NULL) : list_make1_oid(relid);
	List	   *waits = NIL;
	ListCell   *lc;

	foreach(lc, relids)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		waits = collect_conflicts(waits, &tag, ShareLock);
	}
	wait_all(waits);
}

/*
 * lv_wait_for_lockers waits until every transaction that now holds a lock
 * on tag conflicting with mode has ended (one of the extension's own tags:
 * only its own work holds them).
 */
void
lv_wait_for_lockers(const LOCKTAG *tag, LOCKMODE mode)
{
	wait_all(collect_conflicts(NIL, tag, mode));
}

/* source_writers lists the transactions now holding a write lock on a source. */
static List *
source_writers(Oid source)
{
	List	   *relids = find_all_inheritors(source, NoLock, NULL);
	List	   *waits = NIL;
	ListCell   *lc;

	foreach(lc, relids)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		waits = collect_conflicts(waits, &tag, ShareLock);
	}
	return waits;
}

/*
 * lv_capture_high_water returns the highest append key below which every
 * row of the view's source is settled: committed for good or never.  It
 * waits for the writers that hold the source now.
 */
int64
lv_capture_high_water(LvView *view)
{
	int64		high_water = lv_sequence_last_value(view->key_sequence);

	wait_all(source_writers(view->source));
	return high_water;
}

/*
 * lv_capture_settled is lv_capture_high_water for the workers, which must
 * never wait for a writer: one left idle in a transaction would stall every
 * view they fold.  Each call reads the high-water mark H and the writers W
 * holding the source now, and keeps (H, W) as a checkpoint in *checkpoints
 * (allocated in cxt, kept by the caller between calls).  Every key <= H
 * is settled once every writer of W has ended, without waiting for anyone
 * who came later: a writer draws its keys while it holds the source's lock,
 * so one that drew a key <= H either ended before the checkpoint or is in
 * W.  Returns the highest H of a checkpoint whose writers have all ended,
 * and forgets it and every older one; -1 when none has.
 */
int64
lv_capture_settled(LvView *view, List **checkpoints, MemoryContext cxt)
{
	int64		high_water = lv_sequence_last_value(view->key_sequence);
	List	   *writers = source_writers(view->source);
	int64		settled = -1;
	ListCell   *lc;
	int			keep_from = 0;

	if (writers == NIL)
	{
		/* nobody writes: everything handed out is settled */
		foreach(lc, *checkpoints)
			pfree(lfirst(lc));
		list_free(*checkpoints);
		*checkpoints = NIL;
		return high_water;
	}
	if (*checkpoints == NIL ||
		((LvCheckpoint *) llast(*checkpoints))->high_water < high_water)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		LvCheckpoint *cp = palloc(offsetof(LvCheckpoint, writers) +
								  list_length(writers) * sizeof(VirtualTransactionId));

		cp->high_water = high_water;
		cp->taken = GetCurrentTimestamp();
		cp->nwriters = 0;
		foreach(lc, writers)
			cp->writers[cp->nwriters++] = *(VirtualTransactionId *) lfirst(lc);
		*checkpoints = lappend(*checkpoints, cp);
		MemoryContextSwitchTo(old);
	}
	/* the newest checkpoint whose writers have all ended */
	foreach(lc, *checkpoints)
	{
		LvCheckpoint *cp = lfirst(lc);
		bool		ended = true;
		int			i;

		for (i = 0; i < cp->nwriters && ended; i++)
			ended = VirtualXactLock(cp->writers[i], false);
		if (ended)
		{
			settled = cp->high_water;
			keep_from = foreach_current_index(lc) + 1;
		}
	}
	if (keep_from > 0)
	{
		for (int i = 0; i < keep_from; i++)
			pfree(list_nth(*checkpoints, i));
		*checkpoints = list_delete_first_n(*checkpoints, keep_from);
	}
	return settled;
}

/*
 * lv_capture_around returns how far a worker folds around the writers that
 * keep rows from settling (speed.c: their keys become holes): the newest
 * checkpoint's high-water mark once the oldest checkpoint still waiting
 * for its writers (lv_capture_settled keeps only those) was taken more than
 * grace_ms ago; 0 while none has waited that long.  Writers that insert
 * for a moment end within the grace, and nothing is folded around them.
 */
int64
lv_capture_around(List *checkpoints, int grace_ms)
{
	LvCheckpoint *oldest;

	if (checkpoints == NIL)
		return 0;
	oldest = linitial(checkpoints);
	if (!TimestampDifferenceExceeds(oldest->taken, GetCurrentTimestamp(), grace_ms))
		return 0;
	return ((LvCheckpoint *) llast(checkpoints))->high_water;
}

/*
 * lv_capture_wait_for_folds makes a writer about to insert into relation
 * relid wait while a view of it is more than lambda_views.max_lag behind
 * its speed_interval (shmem.c: as far as the workers folding it know), so
 * that folds catch up under an ingest they cannot keep up with.  It waits
 * before the writer draws any append key, so no row of its waits unfolded;
 * a cancel or statement_timeout ends the wait as any other.  Never without
 * the workers, nor for views none of them is folding, nor in a transaction
 * that has written already.
 */
void
lv_capture_wait_for_folds(Oid relid)
{
	LOCKTAG		tag;

	if (lv_max_lag_ms <= 0 || lv_shared == NULL || !OidIsValid(relid) ||
		IsBackgroundWorker || IsParallelWorker())
		return;

	/*
	 * Only before the transaction's first write.  A transaction that has
	 * written or locked rows (it has an xid: a hand-run fold locks the
	 * view's state row), or that holds the source exclusively, may hold
	 * what the fold it would wait for needs, and no deadlock check sees a
	 * latch wait.  Its rows are few next to an ingest's.
	 */
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	if (LockHeldByMe(&tag, AccessExclusiveLock))
		return;
	for (bool first = true;; first = false)
	{
		bool		folded;
		long		behind = lv_lag_behind_ms(MyDatabaseId, relid, lv_max_lag_ms, &folded);

		/* the workers fold such a source's views early (worker.c) */
		if (first && folded)
			lv_note_paced_write();
		if (behind <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(Max(behind, 1), 10), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* lv_capture_writing says whether some transaction holds a write lock on the source. */
bool
lv_capture_writing(LvView *view)
{
	return source_writers(view->source) != NIL;
}

/*
 * lv_view_high_water sets *high_water to the last append key the source's
 * sequence of a view handed out; false (and nothing set) for callers who
 * may not read the view.
 */
bool
lv_view_high_water(int32 view_id, int64 *high_water)
{
	LvView	   *view = lv_view_by_id(view_id, true);

	/* the sequence may be private: only for those who may read the view */
	if (view == NULL || !OidIsValid(view->relid) ||
		pg_class_aclcheck(view->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	*high_water = lv_sequence_last_value(view->key_sequence);
	return true;
}

/*
 * lv_view_pending_rows sets *pending to the committed source rows of a
 * view beyond its speed watermark, in the caller's snapshot, counted as the
 * view's owner (an index range scan on the append key); false (and nothing
 * set) for callers who may not read the view.
 */
bool
lv_view_pending_rows(int32 view_id, int64 *pending)
{
	LvView	   *view = lv_view_by_id(view_id, true);
	char	   *source;
	const char *key;
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	bool		isnull;

	if (view == NULL || get_rel_name(view->source) == NULL || !OidIsValid(view->relid) ||
		pg_class_aclcheck(view->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(view->source, view->owner, ACL_SELECT) != ACLCHECK_OK)
		return false;
	source = quote_qualified_identifier(get_namespace_name(get_rel_namespace(view->source)),
										get_rel_name(view->source));
	key = quote_identifier(view->append_key);
	nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
	SPI_connect();
	/* beyond the watermark, and in its holes (speed.c) */
	if (view->distributed)
	{
		/*
		 * Citus plans no query that joins the local state row with the
		 * source's shards: one count per range (each origin's rest is a
		 * hole), in the caller's snapshot of the state row
		 */
		char	   *w;
		StringInfoData q;
		ListCell   *lc;

		lv_spi_exec_args("SELECT st.speed_watermark::pg_catalog.text, st.speed_holes::pg_catalog.text "
						 "FROM lambda_views.view_state st WHERE st.view_id = $1",
						 1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						 NULL, true, 1);
		w = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		initStringInfo(&q);
		appendStringInfo(&q, "SELECT pg_catalog.count(*) FROM %s WHERE %s > %s",
						 source, key, w);
		/* an index range per hole */
		foreach(lc, lv_parse_holes(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)))
		{
			LvKeyRange *r = lfirst(lc);

			appendStringInfo(&q, " OR (%s >= " INT64_FORMAT " AND %s < " INT64_FORMAT ")",
							 key, r->lo, key, r->hi);
		}
		lv_spi_exec(q.data, true, 1);
	}
	else
		lv_spi_exec_args(psprintf("SELECT (SELECT pg_catalog.count(*) FROM %s WHERE %s > st.speed_watermark) "
								  "+ (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(st.speed_holes) r, "
								  "   LATERAL (SELECT 1 FROM %s WHERE %s >= pg_catalog.lower(r) "
								  "   AND %s < pg_catalog.upper(r)) x) "
								  "FROM lambda_views.view_state st WHERE st.view_id = $1",
								  source, key, source, key, key),
						 1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view->view_id)},
						 NULL, true, 1);
	*pending = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return true;
}

/*
 * Citus (a hash-distributed source).  Every node that plans an INSERT draws
 * the append key from its own range of the sequence: the keys of the node
 * of group g lie in (g << 48, (g + 1) << 48], and a writer holds the shell
 * table's lock at that node (its origin) from before it draws a key until
 * its commit has reached every shard, or left an in-doubt prepared
 * transaction there that Citus' recovery ends later (which keeps the
 * shard's lock).  So once every writer that held the shell table at the
 * origin when its head H was read has ended, and no prepared transaction
 * holds a shard of the source, every key of that origin up to H is
 * committed for good on its shard, or never will be.
 */
#define LV_ORIGIN_MODES "('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')"

/* origin_probe_sql: "group head writers" of the node it runs on */
static char *
origin_probe_sql(LvView *view)
{
	char	   *source = quote_literal_cstr(quote_qualified_identifier(get_namespace_name(get_rel_namespace(view->source)),
																	   get_rel_name(view->source)));
	char	   *seq = quote_qualified_identifier(get_namespace_name(get_rel_namespace(view->key_sequence)),
												 get_rel_name(view->key_sequence));

	return psprintf("SELECT (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)::pg_catalog.text "
					"|| ' ' || (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM %s s)::pg_catalog.text "
					"|| ' ' || coalesce((SELECT pg_catalog.string_agg(DISTINCT k.virtualtransaction, ',') "
					"FROM pg_catalog.pg_locks k WHERE k.locktype = 'relation' AND k.granted "
					"AND k.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) "
					"AND k.relation = %s::pg_catalog.regclass AND k.mode IN " LV_ORIGIN_MODES "), '')",
					seq, source);
}

/* in_doubt_sql: whether a prepared transaction holds a shard of the source on the node */
static char *
in_doubt_sql(LvView *view)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(view->source));
	char	   *rel = get_rel_name(view->source);
	char	   *source = quote_literal_cstr(quote_qualified_identifier(nsp, rel));

	return psprintf("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks k WHERE k.pid IS NULL "
					"AND k.locktype = 'relation' AND k.relation IN (SELECT pg_catalog.to_regclass("
					"pg_catalog.quote_ident(%s) || '.' || pg_catalog.quote_ident(%s || '_' || s.shardid)) "
					"FROM pg_catalog.pg_dist_shard s WHERE s.logicalrelid = %s::pg_catalog.regclass))::pg_catalog.text",
					quote_literal_cstr(nsp), quote_literal_cstr(rel), source);
}

/* parse_probe reads "group head vx1,vx2" into an LvOrigin */
static LvOrigin *
parse_probe(const char *text)
{
	LvOrigin   *o = palloc0(sizeof(LvOrigin));
	char	   *copy = pstrdup(text);
	char	   *group = strtok(copy, " ");
	char	   *head = strtok(NULL, " ");
	char	   *writers = strtok(NULL, " ");

	if (group == NULL || head == NULL)
		elog(ERROR, "lambda_views: malformed origin probe \"%s\"", text);
	o->group = pg_strtoint32(group);
	o->head = strtoi64(head, NULL, 10);
	o->writers = writers ? pstrdup(writers) : NULL;
	return o;
}

/*
 * lv_capture_origins returns, as a List of LvOrigin (in the caller's
 * memory context), the head of every node's range of the source's append
 * keys and whether every key up to it is settled.  It looks again every 5
 * ms, up to wait_ms, for the writers that held the shell table when the
 * heads were read; never for later ones.  An origin whose writers have not
 * all ended by then is not settled.  When a prepared transaction holds a
 * shard of the source (an in-doubt commit), no origin is settled: its rows
 * may be anywhere below the heads.
 */
List *
lv_capture_origins(LvView *view, int wait_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *origins = NIL;
	List	   *local_writers;
	LvOrigin   *local;
	ListCell   *lc;
	TimestampTz start = GetCurrentTimestamp();
	bool		in_doubt = false;

	SPI_connect();
	{
		MemoryContext spi = MemoryContextSwitchTo(cxt);

		local = palloc0(sizeof(LvOrigin));
		local->head = lv_sequence_last_value(view->key_sequence);
		local_writers = source_writers(view->source);
		MemoryContextSwitchTo(spi);
	}
	local->group = lv_citus_local_group();
	foreach(lc, lv_citus_on_other_nodes(origin_probe_sql(view)))
	{
		MemoryContext spi = MemoryContextSwitchTo(cxt);

		origins = lappend(origins, parse_probe(lfirst(lc)));
		MemoryContextSwitchTo(spi);
	}

	for (;;)
	{
		bool		waiting = false;
		StringInfoData check;

		/* the local writers */
		while (local_writers != NIL &&
			   VirtualXactLock(*(VirtualTransactionId *) linitial(local_writers), false))
			local_writers = list_delete_first(local_writers);
		local->settled = (local_writers == NIL);
		waiting = !local->settled;

		/* the other nodes' writers: one look at all of them */
		initStringInfo(&check);
		foreach(lc, origins)
		{
			LvOrigin   *o = lfirst(lc);
			char	   *vx;
			char	   *save;
			char	   *copy;
			bool		first = true;

			if (o->settled)
				continue;
			if (o->writers == NULL || o->writers[0] == '\0')
			{
				o->settled = true;
				continue;
			}
			appendStringInfo(&check, "%sWHEN %d THEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks k "
							 "WHERE k.virtualtransaction IN (",
							 check.len == 0 ? "" : " ", o->group);
			copy = pstrdup(o->writers);
			for (vx = strtok_r(copy, ",", &save); vx; vx = strtok_r(NULL, ",", &save))
			{
				appendStringInfo(&check, "%s%s", first ? "" : ", ", quote_literal_cstr(vx));
				first = false;
			}
			appendStringInfoString(&check, "))");
		}
		if (check.len > 0)
		{
			/* each node answers "group:ended" for its own writers */
			List	   *answers = lv_citus_on_other_nodes(psprintf("SELECT (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)::pg_catalog.text "
																   "|| ':' || (CASE (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l) "
																   "%s ELSE true END)::pg_catalog.text",
																   check.data));

			ListCell   *lc2;

			foreach(lc2, answers)
			{
				char	   *answer = lfirst(lc2);
				int32		group = pg_strtoint32(pnstrdup(answer, strcspn(answer, ":")));
				bool		ended = strcmp(answer + strcspn(answer, ":"), ":true") == 0;

				foreach(lc, origins)
				{
					LvOrigin   *o = lfirst(lc);

					if (o->group == group && !o->settled)
					{
						o->settled = ended;
						waiting = waiting || !ended;
					}
				}
			}
		}
		if (!waiting ||
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), wait_ms))
			break;
		pg_usleep(5000L);
		CHECK_FOR_INTERRUPTS();
	}

	/* after the origins: an in-doubt commit keeps its shard's lock */
	lv_spi_exec(in_doubt_sql(view), true, 1);
	in_doubt = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "true") == 0;
	foreach(lc, lv_citus_on_other_nodes(in_doubt_sql(view)))
		in_doubt = in_doubt || strcmp(lfirst(lc), "true") == 0;
	SPI_finish();

	origins = lcons(local, origins);
	if (in_doubt)
	{
		foreach(lc, origins)
			((LvOrigin *) lfirst(lc))->settled = false;
	}
	return origins;
}
