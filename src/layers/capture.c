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
