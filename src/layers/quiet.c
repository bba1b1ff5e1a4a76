/*-------------------------------------------------------------------------
 *
 * src/layers/quiet.c  (level: layer)
 *	  Serving layer, a view read through one scan of its batch's partition,
 *	  planned as such: quiet, busy or merged.
 *
 * The relation users query merges batch, speed and tail (serving.c); the
 * planner pays for every branch of it even when only the batch has rows,
 * which is what a view is most of the time between a recompute and the
 * next fold.  A lambda view whose state row in the active snapshot has a
 * batch (and, when it is not quiet, group keys and no Citus source) is
 * planned instead as its outputs and HAVING over one scan of the batch
 * partition of that generation, with the view owner's rights:
 *
 *	- at parse analysis (lv_post_parse_analyze), for a statement about to
 *	  run, so that the rewriter has nothing to expand;
 *	- in the planner (lv_planner) for views it still finds merged (inside a
 *	  utility command, without preloading).
 *
 * Not in statements that lock or re-check the rows they read (UPDATE,
 * DELETE, MERGE, FOR UPDATE/SHARE: locks_rows), whose re-check refetches a
 * row by its ctid.  Each plain scan of that partition is wrapped in a
 * custom scan (LambdaViewScan) that looks, in the executor's snapshot, at
 * what follows that batch:
 *
 *	- nothing (the state row has the speed watermark at the batch's and,
 *	  with lambda_views.realtime on, the key sequence has handed out no key
 *	  beyond it): quiet.  The child scan (the partition's seq, index or
 *	  bitmap scan with the query's quals) runs and its rows go up but the
 *	  marker row, which the scan skips by its null bit instead of a qual on
 *	  every row;
 *	- folds or rows beyond the watermark, the batch still the same (in one
 *	  process): busy.  One kept query returns the groups the speed rows and
 *	  the tail touch, combined, with the ctid of the batch row each replaces
 *	  (lv_touched_sql); then the child's rows go up but those batch rows;
 *	- else (a swap committed since planning, a parallel plan, more replaced
 *	  rows than hash_mem holds): merged.  The merged query runs instead, in
 *	  the same snapshot, as the view's owner, with the quals on group keys it
 *	  can take and every qual of the scan checked on its rows, which pass
 *	  through a tuplestore (work_mem in memory, the rest in a temporary
 *	  file); cached plans that use the view are invalidated in this backend,
 *	  so the next execution is planned against the merged view again.
 *
 * A parallel plan, made only for a view quiet when planned, wraps the
 * partition's parallel scan the same way, in each participant.  The leader
 * alone checks the view and tells the workers (shared memory of the
 * parallel query); when the view is not quiet there, the leader writes the
 * merged rows into a shared tuplestore (in files, as a parallel hash join
 * keeps its batches) and the first participant to ask returns them, so
 * they appear once whoever takes part.
 *
 * Either way the rows are those of the view's query in the reader's
 * snapshot.  The state row is read in the snapshot straight from its
 * primary key, as the merged view reads it (lv_quiet), except in a snapshot
 * with the same contents as one it was found quiet in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "rewrite/prs2lock.h"
#include "storage/dsm.h"
#include "storage/lmgr.h"
#include "storage/sharedfileset.h"
#include "storage/sinval.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/sharedtuplestore.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "lambda_views.h"
#include "definition.h"


/* what the scan needs to check a view at execution (custom_private) */
typedef struct QuietTarget
{
	int32		view_id;
	int32		gen;			/* the batch generation planned for */
	Oid			view_relid;
	Oid			batch_table;
	Oid			partition;
	Oid			state_relid;
	Oid			state_index;
	Oid			key_sequence;
	Oid			owner;
	AttrNumber	nrows;			/* the scan skips the marker itself (see
								 * quiet_plan); 0: its child does */
} QuietTarget;

#define QUIET_FIELDS 10

/* the partitions the current planning substituted, innermost planning last */
static List *quiet_targets = NIL;
static bool in_fallback = false;
static int	utility_depth = 0;
static int	planner_depth = 0;

static planner_hook_type prev_planner = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

/* catalog objects, looked up once per backend until a relcache reset */
typedef struct QuietCatalog
{
	bool		valid;
	Oid			lv_nsp;
	Oid			data_nsp;
	Oid			state_relid;
	Oid			state_index;
	Oid			views_relid;
	Oid			views_index;
	Oid			tail_func;
	Oid			tail_where_func;	/* InvalidOid before 1.5 */
	Oid			mark_func;		/* InvalidOid before 1.4 */
	AttrNumber	st_speed;
	AttrNumber	st_batch;
	AttrNumber	st_gen;
	AttrNumber	v_key_sequence;
	AttrNumber	v_storage_schema;	/* InvalidAttrNumber before 1.2 */
} QuietCatalog;

static QuietCatalog cat;

/*
 * the key sequence and storage schema of each view id (fixed for a view),
 * while cat is valid
 */
typedef struct KeySequence
{
	int32		view_id;
	Oid			key_sequence;
	Oid			storage_nsp;
	int			distributed;	/* over a Citus table: 1, 0, -1 not known */
} KeySequence;

static List *key_sequences = NIL;

static void forget_proofs(void);
static KeySequence *view_entry(int32 view_id);
static bool distributed_view(const QuietTarget *t);

static void
forget_all(void)
{
	forget_proofs();
	cat.valid = false;
	list_free_deep(key_sequences);
	key_sequences = NIL;
}

static void
forget_catalog(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == cat.state_relid || relid == cat.views_relid)
		forget_all();
}

static void
forget_functions(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_all();
}

/* load_catalog fills cat; false when the extension is not installed */
static bool
load_catalog(void)
{
	if (cat.valid)
		return true;
	cat.lv_nsp = get_namespace_oid("lambda_views", true);
	cat.data_nsp = get_namespace_oid(LV_DATA_SCHEMA, true);
	if (!OidIsValid(cat.lv_nsp) || !OidIsValid(cat.data_nsp))
		return false;
	cat.state_relid = get_relname_relid("view_state", cat.lv_nsp);
	cat.state_index = get_relname_relid("view_state_pkey", cat.lv_nsp);
	cat.views_relid = get_relname_relid("views", cat.lv_nsp);
	cat.views_index = get_relname_relid("views_pkey", cat.lv_nsp);
	if (!OidIsValid(cat.state_relid) || !OidIsValid(cat.state_index) ||
		!OidIsValid(cat.views_relid) || !OidIsValid(cat.views_index))
		return false;
	cat.tail_func = LookupFuncName(list_make2(makeString("lambda_views"), makeString("tail")),
								   2, (Oid[]) {INT4OID, REGCLASSOID}, true);
	cat.tail_where_func = LookupFuncName(list_make2(makeString("lambda_views"), makeString("tail_where")),
										 4, (Oid[]) {INT4OID, REGCLASSOID, INT4ARRAYOID, ANYOID}, true);
	cat.mark_func = LookupFuncName(list_make2(makeString("lambda_views"), makeString("serving_mark")),
								   1, (Oid[]) {INT4OID}, true);
	cat.st_speed = get_attnum(cat.state_relid, "speed_watermark");
	cat.st_batch = get_attnum(cat.state_relid, "batch_watermark");
	cat.st_gen = get_attnum(cat.state_relid, "batch_gen");
	cat.v_key_sequence = get_attnum(cat.views_relid, "key_sequence");
	/* a catalog older than 1.2 keeps all storage in LV_DATA_SCHEMA */
	cat.v_storage_schema = get_attnum(cat.views_relid, "storage_schema");
	if (!OidIsValid(cat.tail_func) || cat.st_speed <= 0 || cat.st_batch <= 0 ||
		cat.st_gen <= 0 || cat.v_key_sequence <= 0)
		return false;
	cat.valid = true;
	return true;
}

/*
 * fetch_by_id reads attributes attnums of the row with primary key id (an
 * int4 first column) in snapshot, by-reference ones copied into the current
 * memory context; false when there is no such row.
 */
static bool
fetch_by_id(Oid relid, Oid index, int32 id, Snapshot snapshot, int natts,
			const AttrNumber *attnums, Datum *values)
{
	Relation	rel = table_open(relid, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(id));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		int			i;

		found = true;
		for (i = 0; i < natts; i++)
		{
			bool		isnull;

			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnums[i] - 1);

			values[i] = heap_getattr(tuple, attnums[i], RelationGetDescr(rel), &isnull);
			if (isnull)
				found = false;
			else if (!att->attbyval)
				/* the tuple goes with the scan: keep a copy */
				values[i] = datumCopy(values[i], false, att->attlen);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The last snapshots in which this backend found a view's state row quiet.
 * Visibility is a function of the snapshot's contents alone for a backend
 * that has written nothing (no transaction id): another snapshot with the
 * same contents sees the same state row, so the row need not be read again.
 * On an idle system consecutive statements get snapshots with the same
 * contents; whenever a transaction ends they differ.
 */
#define QUIET_PROOFS 8
#define QUIET_PROOF_XIDS 16

typedef struct QuietProof
{
	int32		view_id;		/* 0: unused */
	int32		gen;
	int64		speed;			/* the speed (= batch) watermark */
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	bool		recovery;
	TransactionId xip[QUIET_PROOF_XIDS];
	TransactionId subxip[QUIET_PROOF_XIDS];
} QuietProof;

static QuietProof proofs[QUIET_PROOFS];
static int	next_proof = 0;

static void
forget_proofs(void)
{
	memset(proofs, 0, sizeof(proofs));
}

static bool
provable(Snapshot snapshot)
{
	return snapshot->snapshot_type == SNAPSHOT_MVCC &&
		!TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		snapshot->xcnt <= QUIET_PROOF_XIDS &&
		snapshot->subxcnt >= 0 && snapshot->subxcnt <= QUIET_PROOF_XIDS;
}

static bool
same_snapshot(const QuietProof *p, Snapshot snapshot)
{
	return p->xmin == snapshot->xmin && p->xmax == snapshot->xmax &&
		p->xcnt == snapshot->xcnt && p->subxcnt == snapshot->subxcnt &&
		p->suboverflowed == snapshot->suboverflowed &&
		p->recovery == snapshot->takenDuringRecovery &&
		memcmp(p->xip, snapshot->xip, sizeof(TransactionId) * p->xcnt) == 0 &&
		memcmp(p->subxip, snapshot->subxip, sizeof(TransactionId) * p->subxcnt) == 0;
}

/* proven_quiet: a proof that the view's row is quiet with gen in snapshot */
static QuietProof *
proven_quiet(int32 view_id, int32 gen, Snapshot snapshot)
{
	int			i;

	if (!provable(snapshot))
		return NULL;
	for (i = 0; i < QUIET_PROOFS; i++)
		if (proofs[i].view_id == view_id && proofs[i].gen == gen &&
			same_snapshot(&proofs[i], snapshot))
			return &proofs[i];
	return NULL;
}

static void
remember_quiet(int32 view_id, int32 gen, int64 speed, Snapshot snapshot)
{
	QuietProof *p = NULL;
	int			i;

	if (!provable(snapshot))
		return;
	for (i = 0; i < QUIET_PROOFS && p == NULL; i++)
		if (proofs[i].view_id == view_id)
			p = &proofs[i];
	if (p == NULL)
	{
		p = &proofs[next_proof];
		next_proof = (next_proof + 1) % QUIET_PROOFS;
	}
	p->view_id = view_id;
	p->gen = gen;
	p->speed = speed;
	p->xmin = snapshot->xmin;
	p->xmax = snapshot->xmax;
	p->xcnt = snapshot->xcnt;
	p->subxcnt = snapshot->subxcnt;
	p->suboverflowed = snapshot->suboverflowed;
	p->recovery = snapshot->takenDuringRecovery;
	memcpy(p->xip, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
	memcpy(p->subxip, snapshot->subxip, sizeof(TransactionId) * snapshot->subxcnt);
}

/*
 * view_is_quiet says whether, in snapshot, nothing follows batch generation
 * gen of the view: the state row has that batch and the speed watermark at
 * the batch's, and with realtime on no key beyond it was handed out (the
 * tail is empty; uncommitted and aborted keys count, which only errs
 * towards the merged read).  With want_gen, gen is set to the state row's;
 * state_gen, if not NULL, is set to it when the row was read (-1 if not).
 */
static bool
view_is_quiet(const QuietTarget *t, Snapshot snapshot, int32 *gen, bool want_gen,
			  int32 *state_gen)
{
	Datum		values[3];
	int64		speed;
	QuietProof *proof = want_gen ? NULL : proven_quiet(t->view_id, *gen, snapshot);

	if (state_gen)
		*state_gen = proof ? *gen : -1;
	/*
	 * Over a Citus table every node hands out keys from its own sequence:
	 * this one cannot tell that the tail is empty, and a real-time read
	 * takes the merged (routed) relation, which reads the tail's ranges
	 */
	if (lv_realtime && distributed_view(t))
		return false;
	/* the row is as it was; the sequence is not transactional */
	if (proof != NULL)
		return !lv_realtime || lv_sequence_last_value(t->key_sequence) <= proof->speed;
	if (!fetch_by_id(t->state_relid, t->state_index, t->view_id, snapshot, 3,
					 (AttrNumber[]) {cat.st_speed, cat.st_batch, cat.st_gen}, values))
		return false;
	speed = DatumGetInt64(values[0]);
	if (state_gen)
		*state_gen = DatumGetInt32(values[2]);
	if (want_gen)
		*gen = DatumGetInt32(values[2]);
	else if (DatumGetInt32(values[2]) != *gen)
		return false;
	if (speed != DatumGetInt64(values[1]))
		return false;
	remember_quiet(t->view_id, *gen, speed, snapshot);
	if (lv_realtime && lv_sequence_last_value(t->key_sequence) > speed)
		return false;
	return true;
}

/* distributed_view says whether t is a view over a Citus table */
static bool
distributed_view(const QuietTarget *t)
{
	KeySequence *ks = view_entry(t->view_id);

	if (ks == NULL)
		return true;
	if (ks->distributed < 0 && OidIsValid(t->batch_table))
		ks->distributed = lv_citus_table(t->batch_table) ? 1 : 0;
	/* not known: the merged read, which is always right */
	return ks->distributed != 0;
}

/* target_list/target_from_list: QuietTarget to and from custom_private */
static List *
target_list(const QuietTarget *t)
{
	return list_make5(makeInteger(t->view_id), makeInteger(t->gen),
					  makeInteger((int) t->view_relid), makeInteger((int) t->batch_table),
					  makeInteger((int) t->partition));
}

static List *
target_list_all(const QuietTarget *t)
{
	List	   *l = target_list(t);

	l = lappend(l, makeInteger((int) t->state_relid));
	l = lappend(l, makeInteger((int) t->state_index));
	l = lappend(l, makeInteger((int) t->key_sequence));
	l = lappend(l, makeInteger((int) t->owner));
	return lappend(l, makeInteger((int) t->nrows));
}

static void
target_from_list(List *l, QuietTarget *t)
{
	if (list_length(l) != QUIET_FIELDS)
		elog(ERROR, "lambda_views: malformed quiet scan");
	t->view_id = intVal(list_nth(l, 0));
	t->gen = intVal(list_nth(l, 1));
	t->view_relid = (Oid) intVal(list_nth(l, 2));
	t->batch_table = (Oid) intVal(list_nth(l, 3));
	t->partition = (Oid) intVal(list_nth(l, 4));
	t->state_relid = (Oid) intVal(list_nth(l, 5));
	t->state_index = (Oid) intVal(list_nth(l, 6));
	t->key_sequence = (Oid) intVal(list_nth(l, 7));
	t->owner = (Oid) intVal(list_nth(l, 8));
	t->nrows = (AttrNumber) intVal(list_nth(l, 9));
}

/* ---------------------------------------------------------------------
 * Planning: the quiet subquery in place of the merged one
 * ---------------------------------------------------------------------
 */

/*
 * lambda_view_id returns the id of the lambda view whose rewritten query q
 * is, or -1: its lv_tail CTE calls lambda_views.tail(id, ...), or (a view
 * over a Citus table, serving.c) its lv_batch CTE reads
 * lambda_views.serving_mark(id) joined with the view's state row.
 */
static int32
lambda_view_id(Query *q)
{
	ListCell   *lc;

	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = lfirst(lc);
		Query	   *tq;
		RangeTblEntry *frte;
		FuncExpr   *fe;
		Const	   *c;
		bool		routed;

		if (!IsA(cte->ctequery, Query))
			continue;
		if (strcmp(cte->ctename, "lv_tail") == 0)
			routed = false;
		else if (strcmp(cte->ctename, "lv_batch") == 0 && OidIsValid(cat.mark_func))
			routed = true;
		else
			continue;
		tq = (Query *) cte->ctequery;
		/* routed: the mark, LEFT JOIN the state row (a join entry) */
		if (list_length(tq->rtable) != (routed ? 3 : 1))
		{
			if (routed)
				continue;
			return -1;
		}
		frte = linitial(tq->rtable);
		if (frte->rtekind != RTE_FUNCTION || list_length(frte->functions) != 1)
			return -1;
		fe = (FuncExpr *) ((RangeTblFunction *) linitial(frte->functions))->funcexpr;
		if (!IsA(fe, FuncExpr) || fe->funcid != (routed ? cat.mark_func : cat.tail_func) ||
			list_length(fe->args) != (routed ? 1 : 2))
			return -1;
		c = linitial(fe->args);
		if (!IsA(c, Const) || c->constisnull || c->consttype != INT4OID)
			return -1;
		return DatumGetInt32(c->constvalue);
	}
	return -1;
}

/*
 * quiet_subquery builds "SELECT k.., f.. FROM ONLY partition WHERE nrows IS
 * NOT NULL" with the columns of x, the merged subquery it replaces; NULL
 * when the partition's columns do not match.
 */
static Query *
quiet_subquery(Query *x, Oid partition, Oid owner)
{
	Relation	rel = relation_open(partition, NoLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Query	   *qb = makeNode(Query);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	List	   *colnames = NIL;
	List	   *tlist = NIL;
	ListCell   *lc;
	AttrNumber	nrows;
	NullTest   *nt;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		colnames = lappend(colnames, makeString(att->attisdropped ? pstrdup("") :
												pstrdup(NameStr(att->attname))));
	}
	rte->rtekind = RTE_RELATION;
	rte->relid = partition;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = AccessShareLock;
	rte->eref = makeAlias(pstrdup(RelationGetRelationName(rel)), colnames);
	rte->inh = false;
	rte->inFromCl = true;
	rte->requiredPerms = ACL_SELECT;
	rte->checkAsUser = owner;
	/* marks the scan the set_rel_pathlist hook wraps: see there */
	rte->security_barrier = true;

	foreach(lc, x->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		AttrNumber	attno;
		Form_pg_attribute att;

		if (tle->resjunk || tle->resname == NULL)
			continue;
		attno = get_attnum(partition, tle->resname);
		if (attno <= 0)
			goto mismatch;
		att = TupleDescAttr(desc, attno - 1);
		if (att->atttypid != exprType((Node *) tle->expr) ||
			att->attcollation != exprCollation((Node *) tle->expr))
			goto mismatch;
		if (att->atttypmod != exprTypmod((Node *) tle->expr))
			goto mismatch;
		tlist = lappend(tlist, makeTargetEntry((Expr *) makeVar(1, attno, att->atttypid,
																 att->atttypmod, att->attcollation, 0),
											   list_length(tlist) + 1, pstrdup(tle->resname), false));
		rte->selectedCols = bms_add_member(rte->selectedCols,
										   attno - FirstLowInvalidHeapAttributeNumber);
	}
	nrows = get_attnum(partition, "nrows");
	if (nrows <= 0 || list_length(tlist) != list_length(x->targetList))
		goto mismatch;
	rte->selectedCols = bms_add_member(rte->selectedCols,
									   nrows - FirstLowInvalidHeapAttributeNumber);
	nt = makeNode(NullTest);
	nt->arg = (Expr *) makeVar(1, nrows, INT8OID, -1, InvalidOid, 0);
	nt->nulltesttype = IS_NOT_NULL;
	nt->location = -1;

	qb->commandType = CMD_SELECT;
	qb->querySource = QSRC_ORIGINAL;
	qb->canSetTag = true;
	qb->rtable = list_make1(rte);
	qb->jointree = makeFromExpr(list_make1(makeNode(RangeTblRef)), (Node *) nt);
	((RangeTblRef *) linitial(qb->jointree->fromlist))->rtindex = 1;
	qb->targetList = tlist;
	relation_close(rel, NoLock);
	return qb;

mismatch:
	relation_close(rel, NoLock);
	return NULL;
}

/*
 * lambda_view_shape returns the id of the lambda view whose query (its
 * rule's action, or its rewritten subquery) q is, and the range table index
 * of its merged subquery x; -1 when q is not that of a lambda view with
 * group keys (views without keys always combine: nothing to gain).
 */
static int32
lambda_view_shape(Query *q, int *xindex)
{
	RangeTblEntry *old;
	RangeTblEntry *xrte;
	RangeTblRef *rtr;

	/* FOR UPDATE/SHARE is left to the merged view */
	if (q == NULL || q->commandType != CMD_SELECT || q->cteList == NIL ||
		q->rowMarks != NIL || q->hasForUpdate || list_length(q->rtable) < 3 ||
		q->jointree == NULL || list_length(q->jointree->fromlist) != 1)
		return -1;
	/* the view's own entry (*OLD*), which carries the reader's permission check */
	old = linitial(q->rtable);
	if (old->rtekind != RTE_RELATION || old->relkind != RELKIND_VIEW)
		return -1;
	rtr = linitial(q->jointree->fromlist);
	if (!IsA(rtr, RangeTblRef))
		return -1;
	xrte = rt_fetch(rtr->rtindex, q->rtable);
	/* the merged read: a UNION ALL, or (routed) one GROUP BY over one */
	if (xrte->rtekind != RTE_SUBQUERY || xrte->subquery == NULL ||
		(xrte->subquery->setOperations == NULL && xrte->subquery->groupClause == NIL))
		return -1;
	if (!load_catalog())
		return -1;
	*xindex = rtr->rtindex;
	return lambda_view_id(q);
}

/* view_entry returns the cached catalog facts of a view, NULL if none */
static KeySequence *
view_entry(int32 view_id)
{
	ListCell   *lc;
	Datum		values[2];
	KeySequence *ks;
	MemoryContext oldcxt;
	Oid			nsp = cat.data_nsp;

	foreach(lc, key_sequences)
	{
		ks = lfirst(lc);
		if (ks->view_id == view_id)
			return ks;
	}
	/* one look-up for both (storage_schema from 1.2 on) */
	if (!fetch_by_id(cat.views_relid, cat.views_index, view_id, GetActiveSnapshot(),
					 cat.v_storage_schema != InvalidAttrNumber ? 2 : 1,
					 (AttrNumber[]) {cat.v_key_sequence, cat.v_storage_schema}, values))
		return NULL;
	if (cat.v_storage_schema != InvalidAttrNumber)
	{
		nsp = get_namespace_oid(NameStr(*DatumGetName(values[1])), true);
		if (!OidIsValid(nsp))
			return NULL;
	}
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	ks = palloc(sizeof(KeySequence));
	ks->view_id = view_id;
	ks->key_sequence = DatumGetObjectId(values[0]);
	ks->storage_nsp = nsp;
	ks->distributed = -1;
	key_sequences = lappend(key_sequences, ks);
	MemoryContextSwitchTo(oldcxt);
	return ks;
}

/* key_sequence_of returns the view's key sequence, InvalidOid if none */
static Oid
key_sequence_of(int32 view_id)
{
	KeySequence *ks = view_entry(view_id);

	return ks ? ks->key_sequence : InvalidOid;
}

/* storage_nsp_of returns the schema of the view's storage, InvalidOid if none */
static Oid
storage_nsp_of(int32 view_id)
{
	KeySequence *ks = view_entry(view_id);

	return ks ? ks->storage_nsp : InvalidOid;
}

/*
 * quiet_target fills t for the view, when it is quiet in the active
 * snapshot or can be read busy (busy_readable), and locks the batch
 * partition it would read; false otherwise.
 */
static bool
quiet_target(int32 view_id, Oid view_relid, QuietTarget *t)
{
	HeapTuple	reltup;
	bool		quiet;

	memset(t, 0, sizeof(QuietTarget));
	t->view_id = view_id;
	t->view_relid = view_relid;
	t->state_relid = cat.state_relid;
	t->state_index = cat.state_index;
	t->key_sequence = key_sequence_of(view_id);
	t->batch_table = get_relname_relid(psprintf("v%d_batch", view_id), storage_nsp_of(view_id));
	t->gen = -1;
	if (!OidIsValid(t->key_sequence) || !OidIsValid(t->batch_table))
		return false;
	/*
	 * a view that is not quiet is read so too, but for the groups read
	 * after its batch (a busy read, quiet_begin), when it has group keys
	 * and is not over a Citus table
	 */
	quiet = view_is_quiet(t, GetActiveSnapshot(), &t->gen, true, NULL);
	if (!quiet && (t->gen < 0 || distributed_view(t)))
		return false;
	t->partition = get_relname_relid(psprintf("v%d_batch_%d", view_id, t->gen),
									 storage_nsp_of(view_id));
	if (!OidIsValid(t->batch_table) || !OidIsValid(t->partition) ||
		(!quiet && get_attnum(t->partition, "k1") == InvalidAttrNumber))
		return false;
	LockRelationOid(t->partition, AccessShareLock);
	LockRelationOid(t->batch_table, AccessShareLock);
	reltup = SearchSysCache1(RELOID, ObjectIdGetDatum(t->partition));
	if (!HeapTupleIsValid(reltup))
		return false;
	ReleaseSysCache(reltup);
	/*
	 * the storage is read with the view owner's rights, as in the view;
	 * a view made security_invoker is left to the rewriter
	 */
	{
		Relation	vrel = relation_open(view_relid, NoLock);
		bool		invoker = RelationHasSecurityInvoker(vrel);

		t->owner = vrel->rd_rel->relowner;
		relation_close(vrel, NoLock);
		if (invoker)
			return false;
	}
	return true;
}

/*
 * try_quiet replaces the merged subquery of the lambda view that rte
 * expands (after the rewriter), when the view is quiet in the planning
 * snapshot.
 */
static void
try_quiet(RangeTblEntry *rte)
{
	Query	   *q = rte->subquery;
	RangeTblEntry *xrte;
	QuietTarget t;
	Query	   *qb;
	int			xi;
	int32		view_id = lambda_view_shape(q, &xi);

	if (view_id < 0)
		return;
	if (!quiet_target(view_id, ((RangeTblEntry *) linitial(q->rtable))->relid, &t))
		return;
	xrte = rt_fetch(xi, q->rtable);
	qb = quiet_subquery(xrte->subquery, t.partition, t.owner);
	if (qb == NULL)
		return;
	xrte->subquery = qb;
	q->cteList = NIL;
	q->hasRecursive = false;
	q->hasModifyingCTE = false;
	/* the caller registers it: register_substituted */
}

/*
 * register_substituted registers the batch partition read by q when q is
 * a lambda view that parse analysis substituted (try_quiet_view): the
 * view's entry first, the quiet subquery over the marked partition.
 */
static void
register_substituted(Query *q)
{
	RangeTblEntry *old;
	ListCell   *lc;

	if (list_length(q->rtable) < 3)
		return;
	old = linitial(q->rtable);
	if (old->rtekind != RTE_RELATION || old->relkind != RELKIND_VIEW)
		return;
	foreach(lc, q->rtable)
	{
		RangeTblEntry *x = lfirst(lc);
		RangeTblEntry *p;
		QuietTarget t;
		char	   *name;

		if (x->rtekind != RTE_SUBQUERY || x->subquery == NULL ||
			list_length(x->subquery->rtable) != 1)
			continue;
		p = linitial(x->subquery->rtable);
		if (p->rtekind != RTE_RELATION || !p->security_barrier ||
			p->relkind != RELKIND_RELATION || !load_catalog())
			continue;
		memset(&t, 0, sizeof(QuietTarget));
		name = get_rel_name(p->relid);
		if (name == NULL || sscanf(name, "v%d_batch_%d", &t.view_id, &t.gen) != 2)
			continue;
		t.view_relid = old->relid;
		t.partition = p->relid;
		t.owner = p->checkAsUser;
		t.state_relid = cat.state_relid;
		t.state_index = cat.state_index;
		t.key_sequence = key_sequence_of(t.view_id);
		/* the view's own storage, nothing else of that name */
		if (get_rel_namespace(p->relid) != storage_nsp_of(t.view_id))
			continue;
		t.batch_table = get_relname_relid(psprintf("v%d_batch", t.view_id),
										  storage_nsp_of(t.view_id));
		if (OidIsValid(t.key_sequence) && OidIsValid(t.batch_table))
			quiet_targets = lappend(quiet_targets, target_list_all(&t));
	}
}

/*
 * try_quiet_view puts in place of rte, a lambda view as parse analysis
 * leaves it, the subquery the rewriter would make of it with the quiet
 * subquery in place of the merged one, when the view is quiet in the
 * active snapshot.  The rewriter then has nothing to expand; the view's
 * own entry (*OLD*, unreferenced) carries the reader's permission check as
 * the rewriter's would, and an unreferenced entry of the batch table makes
 * a swap (ATTACH) invalidate a cached query.
 */
static void
try_quiet_view(RangeTblEntry *rte)
{
	Relation	vrel;
	Query	   *rule;
	Query	   *sub;
	RangeTblEntry *xrule;
	RangeTblEntry *old;
	RangeTblEntry *brte;
	QuietTarget t;
	Query	   *qb;
	int			xi;
	int32		view_id;
	int			i;
	bool		barrier;

	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW ||
		rte->tablesample != NULL)
		return;
	/* the parser holds the view's lock */
	vrel = relation_open(rte->relid, NoLock);
	if (vrel->rd_rules == NULL || vrel->rd_rules->numLocks != 1 ||
		vrel->rd_rules->rules[0]->event != CMD_SELECT ||
		list_length(vrel->rd_rules->rules[0]->actions) != 1)
	{
		relation_close(vrel, NoLock);
		return;
	}
	rule = linitial(vrel->rd_rules->rules[0]->actions);
	barrier = RelationIsSecurityView(vrel);
	view_id = lambda_view_shape(rule, &xi);
	if (view_id < 0 || !quiet_target(view_id, rte->relid, &t))
	{
		relation_close(vrel, NoLock);
		return;
	}
	xrule = rt_fetch(xi, rule->rtable);
	qb = quiet_subquery(xrule->subquery, t.partition, t.owner);
	if (qb == NULL)
	{
		relation_close(vrel, NoLock);
		return;
	}

	/* the rule's action without its CTEs and merged subquery */
	sub = makeNode(Query);
	sub->commandType = CMD_SELECT;
	sub->querySource = QSRC_INSTEAD_RULE;
	sub->canSetTag = false;
	for (i = 1; i <= list_length(rule->rtable); i++)
	{
		RangeTblEntry *e;

		if (i == xi)
		{
			e = makeNode(RangeTblEntry);
			e->rtekind = RTE_SUBQUERY;
			e->subquery = qb;
			e->alias = copyObject(xrule->alias);
			e->eref = copyObject(xrule->eref);
			e->inFromCl = xrule->inFromCl;
		}
		else
			e = copyObject(rt_fetch(i, rule->rtable));
		sub->rtable = lappend(sub->rtable, e);
	}
	brte = makeNode(RangeTblEntry);
	brte->rtekind = RTE_RELATION;
	brte->relid = t.batch_table;
	brte->relkind = RELKIND_PARTITIONED_TABLE;
	brte->rellockmode = AccessShareLock;
	brte->eref = makeAlias("lv_batch_table", NIL);
	sub->rtable = lappend(sub->rtable, brte);
	sub->jointree = copyObject(rule->jointree);
	sub->targetList = copyObject(rule->targetList);
	sub->hasSubLinks = rule->hasSubLinks;
	sub->hasTargetSRFs = rule->hasTargetSRFs;
	relation_close(vrel, NoLock);

	/* as ApplyRetrieveRule: the view's entry checks the reader's rights */
	old = linitial(sub->rtable);
	old->requiredPerms = rte->requiredPerms;
	old->checkAsUser = rte->checkAsUser;
	old->selectedCols = rte->selectedCols;
	old->insertedCols = rte->insertedCols;
	old->updatedCols = rte->updatedCols;
	old->extraUpdatedCols = rte->extraUpdatedCols;
	((RangeTblEntry *) lsecond(sub->rtable))->requiredPerms = 0;

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->security_barrier = barrier;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->inh = false;
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
}

/*
 * locks_rows says whether a statement (any of its queries) locks or
 * re-checks the rows it reads: UPDATE, DELETE and MERGE (row marks on the
 * tables they read, for concurrent updates), FOR UPDATE/SHARE.  Such a
 * re-check refetches a row of the partition by its ctid; a merged or busy
 * read returns rows that have none, so such statements read the merged
 * view, which the planner marks to copy.
 */
static bool
locks_rows(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (q->commandType == CMD_UPDATE || q->commandType == CMD_DELETE ||
			q->commandType == CMD_MERGE || q->rowMarks != NIL)
			return true;
		return query_tree_walker(q, locks_rows, context, 0);
	}
	return expression_tree_walker(node, locks_rows, context);
}

/* RTEs after their contents: a view made a subquery is not walked again */
static bool
analyze_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, analyze_walker, context,
								 QTW_EXAMINE_RTES_AFTER);
	if (IsA(node, RangeTblEntry))
	{
		try_quiet_view((RangeTblEntry *) node);
		return false;
	}
	return expression_tree_walker(node, analyze_walker, context);
}

/*
 * lv_post_parse_analyze substitutes quiet lambda views in statements about
 * to run.  Never inside a utility command (CREATE VIEW and the like keep
 * the query they analyze), where the planner hook still makes the
 * substitution in the plan alone.
 */
static void
lv_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	/*
	 * nor inside the planner (a SQL function inlined there is analyzed
	 * after lv_planner registered what it substituted)
	 */
	if (!lv_quiet_scan || utility_depth > 0 || planner_depth > 0 || in_fallback ||
		query->commandType == CMD_UTILITY || !ActiveSnapshotSet() ||
		IsParallelWorker() || locks_rows((Node *) query, NULL))
		return;
	(void) analyze_walker((Node *) query, NULL);
}

/* the utility hook counts the commands running (lambda_views.c) */
void
lv_quiet_enter_utility(void)
{
	utility_depth++;
}

void
lv_quiet_leave_utility(void)
{
	if (utility_depth > 0)
		utility_depth--;
}

/* not_a_value finds what makes an expression other than a value (key_value) */
static bool
not_a_value(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) || IsA(node, PlaceHolderVar) || IsA(node, Aggref) ||
		IsA(node, WindowFunc) || IsA(node, GroupingFunc) || IsA(node, SubLink) ||
		IsA(node, CurrentOfExpr) || IsA(node, NextValueExpr) ||
		(IsA(node, Param) && ((Param *) node)->paramkind != PARAM_EXTERN) ||
		(IsA(node, FuncExpr) && ((FuncExpr *) node)->funcretset) ||
		(IsA(node, OpExpr) && ((OpExpr *) node)->opretset))
		return true;
	return expression_tree_walker(node, not_a_value, context);
}

/*
 * key_value says whether an expression is a value a tail can be asked for:
 * one value per execution of the statement, whatever row it is computed
 * for (constants, the statement's parameters, immutable and stable
 * functions of them: '/p/' || $1, to_timestamp($2)).  The tail's arguments
 * are computed once, in the reader's settings, as the filter's are.
 */
static bool
key_value(Node *node)
{
	return !not_a_value(node, NULL) && !contain_volatile_functions(node);
}

/*
 * tail_key_quals has the real-time tail of a merged lambda view v (range
 * table entry vi of q, merged subquery xi) aggregate only the groups a
 * conjunct of q's WHERE keeps, when there are such conjuncts: "column =
 * value" on a column that is a group key, with the key type's equality
 * operator and the key's collation (those its GROUP BY groups by), value
 * a constant or a parameter.  The CTE lv_tail then calls tail_where with
 * those key numbers and values in place of tail.
 *
 * Every row of q has that key equal to that value, so rows of v for other
 * groups, whatever the filtered tail makes of them, reach no row of q:
 * what a filtered tail leaves out is the rows of those groups alone.  The
 * conjuncts stay where they are.
 */
static void
tail_key_quals(Query *q, Index vi, Query *v, int xi)
{
	CommonTableExpr *cte = NULL;
	RangeTblFunction *rtf;
	FuncExpr   *fe;
	FuncExpr   *where;
	List	   *keynos = NIL;
	List	   *values = NIL;
	Datum	   *elems;
	ListCell   *lc;
	int			i;

	/*
	 * a MERGE's jointree quals are its ON condition, not a WHERE: the
	 * source rows that fail it are the NOT MATCHED ones
	 */
	if (!OidIsValid(cat.tail_where_func) || q->commandType == CMD_MERGE ||
		q->jointree == NULL || q->jointree->quals == NULL || lambda_view_id(v) < 0)
		return;
	foreach(lc, v->cteList)
		if (strcmp(((CommonTableExpr *) lfirst(lc))->ctename, "lv_tail") == 0)
			cte = lfirst(lc);
	if (cte == NULL)
		return;
	rtf = linitial(((RangeTblEntry *) linitial(((Query *) cte->ctequery)->rtable))->functions);
	fe = (FuncExpr *) rtf->funcexpr;

	foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
	{
		OpExpr	   *op = lfirst(lc);
		Node	   *side;
		Node	   *value;
		Var		   *var;
		Var		   *key;
		TargetEntry *tle;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2)
			continue;
		side = linitial(op->args);
		value = lsecond(op->args);
		if (!key_value(value))
		{
			side = lsecond(op->args);
			value = linitial(op->args);
			if (!key_value(value))
				continue;
		}
		/* a key of a type that compares as another (varchar as text) */
		if (IsA(side, RelabelType))
			side = (Node *) ((RelabelType *) side)->arg;
		if (!IsA(side, Var))
			continue;
		var = (Var *) side;
		if (var->varno != vi || var->varlevelsup != 0 || var->varattno <= 0)
			continue;
		tle = get_tle_by_resno(v->targetList, var->varattno);
		if (tle == NULL || tle->resjunk || !IsA(tle->expr, Var))
			continue;
		key = (Var *) tle->expr;
		/* x's columns: the group keys k1.., then the aggregates */
		if (key->varno != xi || key->varlevelsup != 0 || key->varattno <= 0 ||
			key->varattno >= list_length(rtf->funccolnames) ||
			strcmp(strVal(list_nth(rtf->funccolnames, key->varattno - 1)),
				   psprintf("k%d", key->varattno)) != 0)
			continue;
		if (op->opno != lookup_type_cache(key->vartype, TYPECACHE_EQ_OPR)->eq_opr ||
			op->inputcollid != key->varcollid)
			continue;
		keynos = lappend_int(keynos, key->varattno);
		values = lappend(values, copyObject(value));
	}
	if (keynos == NIL)
		return;

	elems = palloc(list_length(keynos) * sizeof(Datum));
	i = 0;
	foreach(lc, keynos)
		elems[i++] = Int32GetDatum(lfirst_int(lc));
	where = makeFuncExpr(cat.tail_where_func, RECORDOID,
						 list_concat(list_make2(linitial(fe->args), lsecond(fe->args)),
									 lcons(makeConst(INT4ARRAYOID, -1, InvalidOid, -1,
													 PointerGetDatum(construct_array(elems, i, INT4OID, 4, true, TYPALIGN_INT)),
													 false, false),
										   values)),
						 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	where->funcretset = true;
	rtf->funcexpr = (Node *) where;
}

/*
 * substitute_walker looks for lambda views in a rewritten query: a quiet
 * one is read as its batch (when context, a bool, allows: try_quiet), the
 * tail of one still merged only for the groups asked for (tail_key_quals).
 * It does not walk into the merged query of one (only storage in there),
 * which is most of the tree the planner gets for a view that is not quiet.
 */
static bool
substitute_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		register_substituted(q);
		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);
			int			xi;

			if (rte->rtekind != RTE_SUBQUERY)
			{
				if (range_table_entry_walker(rte, substitute_walker, context, 0))
					return true;
			}
			else if (lambda_view_shape(rte->subquery, &xi) >= 0)
			{
				if (*(bool *) context)
					try_quiet(rte);
				register_substituted(rte->subquery);
				if (rte->subquery->cteList != NIL)
					tail_key_quals(q, foreach_current_index(lc) + 1, rte->subquery, xi);
			}
			else if (substitute_walker((Node *) rte->subquery, context))
				return true;
		}
		return query_tree_walker(q, substitute_walker, context, QTW_IGNORE_RANGE_TABLE);
	}
	return expression_tree_walker(node, substitute_walker, context);
}

static PlannedStmt *
lv_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	List	   *saved = quiet_targets;
	int			saved_depth = planner_depth;
	List	   *mine = NIL;
	PlannedStmt *result;

	quiet_targets = NIL;
	PG_TRY();
	{
		ListCell   *lc;

		bool		quiet = lv_quiet_scan && !in_fallback && ActiveSnapshotSet() &&
			!locks_rows((Node *) parse, NULL);

		if (!IsParallelWorker())
			(void) substitute_walker((Node *) parse, &quiet);
		mine = quiet_targets;
		planner_depth++;
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
		/* a swap (ATTACH) or a catalog change plans the view again */
		foreach(lc, mine)
		{
			QuietTarget t;

			target_from_list(lfirst(lc), &t);
			result->relationOids = lappend_oid(result->relationOids, t.batch_table);
			result->relationOids = lappend_oid(result->relationOids, t.view_relid);
			result->relationOids = lappend_oid(result->relationOids, t.state_relid);
		}
	}
	PG_FINALLY();
	{
		quiet_targets = saved;
		planner_depth = saved_depth;
	}
	PG_END_TRY();
	return result;
}

static const CustomPathMethods quiet_path_methods;

/*
 * quiet_path wraps child, a plain scan of the partition, in the quiet scan;
 * a partial path (a parallel scan's) in a partial one.
 */
static Path *
quiet_path(RelOptInfo *rel, Path *child, List *target)
{
	CustomPath *cp = makeNode(CustomPath);

	cp->path.pathtype = T_CustomScan;
	cp->path.parent = rel;
	cp->path.pathtarget = rel->reltarget;
	cp->path.param_info = NULL;
	/* parallel aware: the leader's decision reaches the workers (DSM) */
	cp->path.parallel_aware = child->parallel_aware && child->parallel_safe;
	cp->path.parallel_safe = cp->path.parallel_aware;
	cp->path.parallel_workers = child->parallel_workers;
	cp->path.rows = child->rows;
	/* the check in the executor: one index probe */
	cp->path.startup_cost = child->startup_cost + 0.01;
	cp->path.total_cost = child->total_cost + 0.01;
	/* the merged read does not keep the index's order */
	cp->path.pathkeys = NIL;
	/* no projection of its own: see quiet_plan */
	cp->flags = 0;
	cp->custom_paths = list_make1(child);
	cp->custom_private = copyObject(target);
	cp->methods = &quiet_path_methods;
	return &cp->path;
}

/*
 * lv_set_rel_pathlist wraps every unparameterized plain scan of a
 * substituted partition in the quiet scan.  The partition is found by its
 * entry's security_barrier, which SQL cannot set on a table: a query that
 * names the partition itself is planned as usual.
 */
static void
lv_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					RangeTblEntry *rte)
{
	ListCell   *lc;
	List	   *target = NIL;
	List	   *paths = NIL;
	List	   *partial = NIL;
	bool		has_seq = false;

	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (rte->rtekind != RTE_RELATION || !rte->security_barrier ||
		rte->relkind != RELKIND_RELATION)
		return;
	foreach(lc, quiet_targets)
	{
		if ((Oid) intVal(list_nth(lfirst(lc), 4)) == rte->relid)
			target = lfirst(lc);
	}
	/* only this file marks a table so: never read a batch unchecked */
	if (target == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lambda view batch \"%s\" is read without its check",
						get_rel_name(rte->relid)),
				 errhint("Set lambda_views.quiet_scan to off and report this.")));
	if (IS_DUMMY_REL(rel))
		return;

	foreach(lc, rel->pathlist)
	{
		Path	   *p = lfirst(lc);

		if (p->param_info != NULL)
			continue;
		if (p->pathtype == T_SeqScan)
			has_seq = true;
		else if (p->pathtype != T_IndexScan && p->pathtype != T_BitmapHeapScan)
			continue;
		paths = lappend(paths, p);
	}
	if (!has_seq)
		paths = lappend(paths, create_seqscan_path(root, rel, NULL, 0));

	foreach(lc, rel->partial_pathlist)
	{
		Path	   *p = lfirst(lc);

		if (p->param_info == NULL && p->parallel_aware && p->parallel_safe &&
			(p->pathtype == T_SeqScan || p->pathtype == T_IndexScan ||
			 p->pathtype == T_BitmapHeapScan))
			partial = lappend(partial, p);
	}

	rel->pathlist = NIL;
	rel->partial_pathlist = NIL;
	rel->cheapest_parameterized_paths = NIL;
	foreach(lc, paths)
		add_path(rel, quiet_path(rel, lfirst(lc), target));

	/*
	 * A parallel read of the batch: the scan runs in every participant
	 * over the child's share of the partition, and the leader alone
	 * decides whether the view is quiet (quiet_begin).  Not for a view
	 * that is not quiet now: a busy read runs in one process.
	 */
	if (partial != NIL && ActiveSnapshotSet())
	{
		QuietTarget t;

		target_from_list(target, &t);
		if (!load_catalog() || !view_is_quiet(&t, GetActiveSnapshot(), &t.gen, false, NULL))
			partial = NIL;
	}
	if (partial != NIL)
	{
		/*
		 * the partition's columns as they are: a custom path never gets a
		 * physical target list of the planner's accord, and the rows of a
		 * parallel read (mostly aggregated in each worker) need no
		 * projection then
		 */
		PathTarget *physical = create_pathtarget(root, build_physical_tlist(root, rel));

		/*
		 * only when the scan computes nothing but columns: a placeholder
		 * (an expression of an outer join's nullable side) must be computed
		 * here, not above
		 */
		foreach(lc, rel->reltarget->exprs)
		{
			if (!IsA(lfirst(lc), Var))
				physical = NULL;
		}
		foreach(lc, partial)
		{
			Path	   *p = quiet_path(rel, lfirst(lc), target);

			if (physical != NULL)
				p->pathtarget = physical;
			add_partial_path(rel, p);
		}
	}
}

static const CustomScanMethods quiet_scan_methods;

static Plan *
quiet_plan(PlannerInfo *root, RelOptInfo *rel, struct CustomPath *best_path,
		   List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cs = makeNode(CustomScan);
	Plan	   *child = linitial(custom_plans);
	List	   *private = copyObject(best_path->custom_private);
	List	   *physical = build_physical_tlist(root, rel);
	AttrNumber	nrows = get_attnum(planner_rt_fetch(rel->relid, root)->relid, "nrows");
	ListCell   *lc;
	bool		plain = nrows > 0;

	/*
	 * A quiet read returns every row of the partition but its marker (nrows
	 * IS NULL).  The child returns the partition's tuples as they are, and
	 * the scan skips the marker by its null bit and projects: a qual of the
	 * child would cost every row a deform of nrows and an expression.  Only
	 * when the child can return its tuples unprojected (no dropped column);
	 * else the child tests nrows and projects for the scan, which passes
	 * its rows on untouched.  The merged read projects its own rows, shaped
	 * like the partition's, through the scan's target list.
	 */
	foreach(lc, physical)
	{
		if (!IsA(((TargetEntry *) lfirst(lc))->expr, Var))
			plain = false;
	}
	if (plain)
	{
		List	   *quals = NIL;

		child->targetlist = physical;
		foreach(lc, child->qual)
		{
			NullTest   *nt = lfirst(lc);

			if (IsA(nt, NullTest) && nt->nulltesttype == IS_NOT_NULL &&
				IsA(nt->arg, Var) && ((Var *) nt->arg)->varno == rel->relid &&
				((Var *) nt->arg)->varattno == nrows)
				continue;
			quals = lappend(quals, nt);
		}
		child->qual = quals;
		llast(private) = makeInteger(nrows);
	}
	else
		child->targetlist = copyObject(tlist);
	cs->scan.plan.targetlist = tlist;
	cs->scan.plan.qual = NIL;
	cs->scan.scanrelid = rel->relid;
	cs->flags = best_path->flags;
	cs->custom_plans = custom_plans;
	/* the child applies them; the merged read applies them itself */
	cs->custom_exprs = extract_actual_clauses(clauses, false);
	cs->custom_private = private;
	cs->custom_scan_tlist = NIL;
	cs->methods = &quiet_scan_methods;
	return &cs->scan.plan;
}

static const CustomPathMethods quiet_path_methods = {
	.CustomName = "LambdaViewScan",
	.PlanCustomPath = quiet_plan,
};

/* ---------------------------------------------------------------------
 * Execution
 * ---------------------------------------------------------------------
 */

/* a qual on a group key the merged read can take: key op value */
typedef struct PushedQual
{
	char	   *column;			/* k<i> */
	Oid			keytype;		/* the type the operator takes it as, when
								 * a binary coercion of the column's (or 0) */
	Oid			opno;
	int			array;			/* 0: key op value; 1: op ANY (value); 2: op ALL */
	Oid			valtype;
	Oid			collation;		/* of the key, when not the default */
	ExprState  *value;			/* evaluated as the reader */
} PushedQual;

typedef struct QuietScanState
{
	CustomScanState css;
	QuietTarget target;
	bool		quiet;
	PlanState  *child;
	/* the merged read */
	ExprState  *qual;
	List	   *pushed;
	bool		fetched;
	Tuplestorestate *store;		/* a one-process read's merged rows */
	TupleTableSlot *mslot;		/* reads them */
	/* a parallel read (plan parallel_aware) */
	struct QuietShared *shared;
	SharedTuplestoreAccessor *sts;	/* its merged rows, when not quiet */
	bool		sts_reading;	/* this participant began reading them */
	bool		claimed;		/* checked whether this participant reads
								 * the merged rows */
	bool		mine;			/* it does */
	AttrNumber	last_att;		/* the last column the projection reads */
	SeqScanState *seq;			/* a plain seq scan child, whose table scan
								 * this node runs itself (quiet_begin) */
	/* a busy read: the touched groups, then the child's other rows */
	bool		busy;
	bool		busy_child;		/* the touched groups are all returned */
	ItemPointerData *tids;		/* the batch rows they replace, sorted */
	int			ntids;
	int			maxtids;
	bool		tids_overflow;	/* more than hash_mem of them */
	BlockNumber tid_block;		/* the block of tids[tid_lo..tid_hi) */
	int			tid_lo;
	int			tid_hi;
	char	   *tail_read;		/* its tail's function and key numbers */
	/* the queries of the merged and the busy read, once written */
	char	   *merged_query;
	char	   *touched_query;
	MemoryContext fetchcxt;		/* what one fetch allocates */
} QuietScanState;

/*
 * What a parallel read's leader tells its workers: whether the view is
 * quiet, and if it is not, the merged rows, which one participant (the
 * first to claim them) returns; the others return none.  The rows are in
 * a shared tuplestore, whose files hold what does not fit in memory, as a
 * parallel hash join keeps its batches; shared memory holds only its
 * bookkeeping, whatever the size of the view.
 */
typedef struct QuietShared
{
	bool		quiet;
	pg_atomic_uint32 claimed;
	dsm_handle	seg;			/* the parallel query's segment */
	SharedFileSet fileset;		/* the merged rows' files */
	/*
	 * then, when not quiet, the SharedTuplestore (quiet_sts), unless the
	 * parallel query has no segment (the leader then reads alone)
	 */
} QuietShared;

#define QUIET_SHARED_SIZE MAXALIGN(sizeof(QuietShared))
#define quiet_sts(shared) \
	((SharedTuplestore *) ((char *) (shared) + QUIET_SHARED_SIZE))

static const CustomExecMethods quiet_exec_methods;
static TupleTableSlot *quiet_parallel_exec(PlanState *ps);
static TupleTableSlot *busy_exec(PlanState *ps);
static bool busy_readable(QuietScanState *s);
static TupleTableSlot *quiet_next(ScanState *ss);
static bool quiet_recheck(ScanState *ss, TupleTableSlot *slot);
static bool touched_tid(QuietScanState *s, ItemPointer tid);
/* the prepared queries of touched groups, by their text and types */
typedef struct TouchedPlan
{
	char	   *sql;			/* NULL: unused */
	int			nargs;
	Oid		   *types;
	SPIPlanPtr	plan;
	int			running;		/* reads running it (nested ones too) */
} TouchedPlan;

#define TOUCHED_PLANS 16
static TouchedPlan touched_plans[TOUCHED_PLANS];
static int	next_touched_plan = 0;

static TouchedPlan *touched_plan(const char *sql, int nargs, Oid *types);

static Node *
quiet_create_state(CustomScan *cscan)
{
	QuietScanState *s = (QuietScanState *) newNode(sizeof(QuietScanState), T_CustomScanState);

	s->css.methods = &quiet_exec_methods;
	target_from_list(cscan->custom_private, &s->target);
	return (Node *) s;
}

/*
 * pushable returns the qual on a group key that clause is, when the merged
 * read may evaluate it as the view's owner: a key column, a built-in
 * operator (pg_catalog: only superusers create there) under the key's
 * collation, and on the other side an expression without the scan's
 * columns, evaluated as the reader; "key op ANY/ALL (array)" too.  The
 * merged read's rows still go through every qual of the scan, so this only
 * narrows what it reads.
 */
/*
 * strip_relabel: a key column under a binary coercion (varchar compared as
 * text, oid as int4) is the column, taken as the type in *keytype (the
 * pushed qual casts it back: the operator compares as that type); a value
 * is left as it is
 */
static Node *
strip_relabel(Node *node, Oid *keytype)
{
	if (IsA(node, RelabelType) && IsA(((RelabelType *) node)->arg, Var))
	{
		*keytype = ((RelabelType *) node)->resulttype;
		return (Node *) ((RelabelType *) node)->arg;
	}
	return node;
}

static PushedQual *
pushable(Expr *clause, TupleDesc desc, PlanState *ps)
{
	Node	   *l;
	Node	   *r;
	Var		   *var;
	Oid			opno;
	Oid			inputcollid;
	HeapTuple	optup;
	Oid			nsp;
	PushedQual *pq;
	const char *colname;
	int			array = 0;
	Oid			keytype = InvalidOid;

	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Oid			ignored;

		l = linitial(op->args);
		r = lsecond(op->args);
		opno = op->opno;
		inputcollid = op->inputcollid;
		if (IsA(strip_relabel(r, &ignored), Var) && !IsA(strip_relabel(l, &ignored), Var))
		{
			/* value op key: key op' value, op' the commutator */
			r = l;
			l = lsecond(op->args);
			opno = get_commutator(opno);
			if (!OidIsValid(opno))
				return NULL;
		}
		l = strip_relabel(l, &keytype);
	}
	else if (IsA(clause, ScalarArrayOpExpr) &&
			 list_length(((ScalarArrayOpExpr *) clause)->args) == 2)
	{
		ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) clause;

		l = strip_relabel(linitial(op->args), &keytype);
		r = lsecond(op->args);
		opno = op->opno;
		inputcollid = op->inputcollid;
		array = op->useOr ? 1 : 2;
	}
	else
		return NULL;
	if (!IsA(l, Var))
		return NULL;
	var = (Var *) l;
	if (var->varattno <= 0 || var->varattno > desc->natts || var->varlevelsup != 0)
		return NULL;
	colname = NameStr(TupleDescAttr(desc, var->varattno - 1)->attname);
	if (colname[0] != 'k' || strspn(colname + 1, "0123456789") != strlen(colname + 1))
		return NULL;
	if (contain_var_clause(r) || contain_volatile_functions(r))
		return NULL;
	optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	if (!HeapTupleIsValid(optup))
		return NULL;
	nsp = ((Form_pg_operator) GETSTRUCT(optup))->oprnamespace;
	ReleaseSysCache(optup);
	if (nsp != PG_CATALOG_NAMESPACE)
		return NULL;
	if (OidIsValid(inputcollid) && inputcollid != var->varcollid)
		return NULL;
	pq = palloc0(sizeof(PushedQual));
	pq->column = pstrdup(colname);
	pq->keytype = keytype;
	pq->opno = opno;
	pq->array = array;
	pq->valtype = exprType(r);
	pq->collation = (OidIsValid(var->varcollid) && var->varcollid != DEFAULT_COLLATION_OID) ?
		var->varcollid : InvalidOid;
	pq->value = ExecInitExpr((Expr *) r, ps);
	return pq;
}

/*
 * invalidate_view_plans makes this backend plan again, at their next
 * execution, the cached plans that read the view: the merged view is
 * what they should read now.
 */
static void
invalidate_view_plans(Oid view_relid)
{
	SharedInvalidationMessage msg;

	msg.rc.id = SHAREDINVALRELCACHE_ID;
	msg.rc.dbId = MyDatabaseId;
	msg.rc.relId = view_relid;
	LocalExecuteInvalidationMessage(&msg);
}

/* is_marker: whether the child's row is the partition's marker */
static inline bool
is_marker(TupleTableSlot *slot, AttrNumber nrows)
{
	if ((TTS_IS_BUFFERTUPLE(slot) || TTS_IS_HEAPTUPLE(slot)) &&
		((HeapTupleTableSlot *) slot)->tuple != NULL)
	{
		HeapTupleHeader td = ((HeapTupleTableSlot *) slot)->tuple->t_data;

		/* a batch row has every column; nrows has no default */
		if (nrows > HeapTupleHeaderGetNatts(td))
			return true;
		if (!(td->t_infomask & HEAP_HASNULL))
			return false;
		return att_isnull(nrows - 1, td->t_bits);
	}
	return slot_attisnull(slot, nrows);
}

/*
 * quiet_child_row returns the next row of a quiet read: the child's rows
 * but the marker, projected (quiet_plan)
 */
static TupleTableSlot *
quiet_child_row(QuietScanState *s)
{
	PlanState  *ps = &s->css.ss.ps;
	ExprContext *econtext = ps->ps_ExprContext;

	if (s->target.nrows == 0)
		return ExecProcNode(s->child);
	for (;;)
	{
		TupleTableSlot *slot;

		if (s->seq != NULL)
		{
			/*
			 * the child's table scan, without its node's layers: it has no
			 * qual and returns its table's tuples (quiet_plan)
			 */
			ScanState  *ss = &s->seq->ss;

			CHECK_FOR_INTERRUPTS();
			/* a rescan left to the child's next run (ExecProcNode's rule) */
			if (s->child->chgParam != NULL)
				ExecReScan(s->child);
			if (ss->ss_currentScanDesc == NULL)
				ss->ss_currentScanDesc = table_beginscan(ss->ss_currentRelation,
														 ss->ps.state->es_snapshot, 0, NULL);
			slot = ss->ss_ScanTupleSlot;
			if (!table_scan_getnextslot(ss->ss_currentScanDesc, ForwardScanDirection, slot))
				ExecClearTuple(slot);
		}
		else
			slot = ExecProcNode(s->child);

		if (TupIsNull(slot))
			return ps->ps_ProjInfo ? ExecClearTuple(ps->ps_ResultTupleSlot) : slot;
		if (is_marker(slot, s->target.nrows))
			continue;
		/* a busy read returned the group of this batch row combined */
		if (s->ntids > 0 && touched_tid(s, &slot->tts_tid))
			continue;
		if (ps->ps_ProjInfo == NULL)
			return slot;

		/*
		 * the projection was built for a custom scan's scan slot, virtual,
		 * which it does not deform: deform the child's
		 */
		slot_getsomeattrs(slot, s->last_att);
		ResetExprContext(econtext);
		econtext->ecxt_scantuple = slot;
		return ExecProject(ps->ps_ProjInfo);
	}
}

/* a quiet read: the child's rows (quiet_child_row) */
static TupleTableSlot *
quiet_exec_quiet(PlanState *ps)
{
	return quiet_child_row((QuietScanState *) ps);
}

/* last_att returns the last column of the partition that tlist reads */
static AttrNumber
last_att(List *tlist, Index scanrelid, TupleDesc desc)
{
	Bitmapset  *attrs = NULL;
	int			m;

	pull_varattnos((Node *) tlist, scanrelid, &attrs);
	m = bms_prev_member(attrs, -1);
	if (m < 0 || bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, attrs))
		return desc->natts;
	return Max(m + FirstLowInvalidHeapAttributeNumber, 1);
}

static void
quiet_begin(CustomScanState *node, EState *estate, int eflags)
{
	QuietScanState *s = (QuietScanState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	bool		parallel = cs->scan.plan.parallel_aware;
	int32		state_gen = -1;
	ListCell   *lc;

	/*
	 * only the leader of a parallel read decides (quiet_initialize_worker
	 * tells the workers)
	 */
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) || (parallel && IsParallelWorker()))
		s->quiet = true;
	else
		s->quiet = load_catalog() &&
			view_is_quiet(&s->target, estate->es_snapshot, &s->target.gen, false,
						  &state_gen);
	/*
	 * else, in one process, the groups read after the batch and the rest;
	 * not where a row is re-checked by its ctid (locks_rows)
	 */
	if (!s->quiet && !parallel && estate->es_epq_active == NULL &&
		estate->es_plannedstmt->rowMarks == NIL &&
		(estate->es_plannedstmt->commandType == CMD_SELECT ||
		 estate->es_plannedstmt->commandType == CMD_INSERT))
		s->busy = state_gen == s->target.gen && busy_readable(s);

	/*
	 * the child: for a quiet or busy read, and in every participant of a
	 * parallel one (its share of the parallel scan is set up with the
	 * plan's)
	 */
	if (s->quiet || s->busy || parallel)
	{
		Plan	   *child = linitial(cs->custom_plans);

		s->child = ExecInitNode(child, estate, eflags);
		node->custom_ps = list_make1(s->child);
		s->last_att = last_att(cs->scan.plan.targetlist, cs->scan.scanrelid,
							   RelationGetDescr(node->ss.ss_currentRelation));

		/*
		 * a full scan of the partition: its table scan runs here, unless
		 * something must see the child run (EXPLAIN ANALYZE, a recheck of
		 * a concurrent update).  A parallel one is its share of the
		 * parallel table scan, which the child's DSM callbacks set up
		 * (custom_ps), as the child would run it.
		 */
		if (s->target.nrows > 0 && IsA(child, SeqScan) && child->qual == NIL &&
			estate->es_instrument == 0 &&
			estate->es_epq_active == NULL)
			s->seq = (SeqScanState *) s->child;
		node->ss.ps.ExecProcNode = parallel ? quiet_parallel_exec :
			s->busy ? busy_exec : quiet_exec_quiet;
		/* the child's rows may go up as they are, in whatever slot it has */
		if (parallel || s->busy || s->target.nrows == 0 ||
			node->ss.ps.ps_ProjInfo == NULL)
			node->ss.ps.resultopsfixed = false;
	}
	if (parallel)
	{
		s->qual = ExecInitQual(cs->custom_exprs, &node->ss.ps);
		/*
		 * no quals pushed: the rows go to the workers once, at the first
		 * scan, whatever executor parameters do later
		 */
		if (!s->quiet)
			invalidate_view_plans(s->target.view_relid);
		return;
	}
	if (s->quiet)
		return;
	s->qual = ExecInitQual(cs->custom_exprs, &node->ss.ps);
	foreach(lc, cs->custom_exprs)
	{
		PushedQual *pq = pushable(lfirst(lc), RelationGetDescr(node->ss.ss_currentRelation),
								  &node->ss.ps);

		if (pq)
			s->pushed = lappend(s->pushed, pq);
	}
	/* a merged read: the next execution is planned against the view */
	if (!s->busy)
		invalidate_view_plans(s->target.view_relid);
}

/*
 * remember_tid adds a batch row that a touched group replaces to those a
 * busy read skips, as long as they fit in hash_mem
 */
static void
remember_tid(QuietScanState *s, ItemPointer tid)
{
	if (s->tids_overflow)
		return;
	if (s->ntids == s->maxtids)
	{
		Size		bytes = sizeof(ItemPointerData) * Max(1024, (Size) s->maxtids * 2);

		if (bytes > get_hash_memory_limit())
		{
			s->tids_overflow = true;
			return;
		}
		s->maxtids = bytes / sizeof(ItemPointerData);
		s->tids = s->tids == NULL ?
			MemoryContextAlloc(s->css.ss.ps.state->es_query_cxt, bytes) :
			repalloc(s->tids, bytes);
	}
	s->tids[s->ntids++] = *tid;
}

static int
tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * touched_tid says whether a busy read skips the batch row at tid: a
 * touched group replaces it.  The tids of the block last asked about are
 * found once, so a scan in physical order pays one comparison per row of
 * a block without any.
 */
static bool
touched_tid(QuietScanState *s, ItemPointer tid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
	int			lo;
	int			hi;

	if (blk != s->tid_block)
	{
		/* the first tid of the block or after it, then the first after */
		lo = 0;
		hi = s->ntids;
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (ItemPointerGetBlockNumberNoCheck(&s->tids[mid]) < blk)
				lo = mid + 1;
			else
				hi = mid;
		}
		s->tid_lo = lo;
		hi = s->ntids;
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (ItemPointerGetBlockNumberNoCheck(&s->tids[mid]) <= blk)
				lo = mid + 1;
			else
				hi = mid;
		}
		s->tid_hi = lo;
		s->tid_block = blk;
	}
	lo = s->tid_lo;
	hi = s->tid_hi;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		OffsetNumber o = ItemPointerGetOffsetNumberNoCheck(&s->tids[mid]);

		if (o == off)
			return true;
		if (o < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* merged_sql returns the view's merged rows (k.., f..) as SQL */
static char *
merged_sql(Oid view_relid)
{
	Relation	vrel = relation_open(view_relid, AccessShareLock);
	Query	   *q;
	RangeTblRef *rtr;
	RangeTblEntry *xrte;
	List	   *tlist = NIL;
	ListCell   *lc;
	char	   *sql;

	if (vrel->rd_rules == NULL || vrel->rd_rules->numLocks != 1 ||
		list_length(vrel->rd_rules->rules[0]->actions) != 1)
		elog(ERROR, "lambda_views: relation %u is not a lambda view", view_relid);
	q = copyObject(linitial(vrel->rd_rules->rules[0]->actions));
	relation_close(vrel, AccessShareLock);
	rtr = linitial(q->jointree->fromlist);
	xrte = rt_fetch(rtr->rtindex, q->rtable);
	foreach(lc, xrte->subquery->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		tlist = lappend(tlist,
						makeTargetEntry((Expr *) makeVar(rtr->rtindex, tle->resno,
														 exprType((Node *) tle->expr),
														 exprTypmod((Node *) tle->expr),
														 exprCollation((Node *) tle->expr), 0),
										list_length(tlist) + 1, pstrdup(tle->resname), false));
	}
	q->targetList = tlist;
	q->jointree->quals = NULL;
	sql = pg_get_querydef(q, false);
	return sql;
}

/*
 * The merged rows of a read that found the view not quiet go, shaped like
 * the partition's rows (nrows 1, states NULL), to a tuplestore (a
 * one-process read) or to the shared tuplestore of a parallel one, as the
 * merged query returns them: both keep in memory at most work_mem of them
 * and write the rest to temporary files, however large the view.
 */
typedef struct MergedReceiver
{
	DestReceiver pub;
	QuietScanState *s;
	Tuplestorestate *store;		/* one of these two */
	SharedTuplestoreAccessor *sts;
	TupleDesc	desc;			/* the partition's */
	AttrNumber *map;			/* each result column's attribute there (0:
								 * lv_tid) */
	int			tid_col;		/* lv_tid's column, -1 if none */
	AttrNumber	nrows_att;
	Datum	   *values;
	bool	   *nulls;
	MemoryContext rowcxt;		/* each row's tuple, for the shared store */
	MemoryContext cxt;			/* fetch's */
} MergedReceiver;

static void
merged_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	MergedReceiver *r = (MergedReceiver *) self;
	Oid			partition = RelationGetRelid(r->s->css.ss.ss_currentRelation);
	int			c;

	r->nrows_att = get_attnum(partition, "nrows");
	r->map = palloc(sizeof(AttrNumber) * Max(typeinfo->natts, 1));
	r->tid_col = -1;
	for (c = 0; c < typeinfo->natts; c++)
	{
		/* the batch row a touched group replaces (fetch_touched) */
		if (strcmp(NameStr(TupleDescAttr(typeinfo, c)->attname), "lv_tid") == 0 &&
			TupleDescAttr(typeinfo, c)->atttypid == TIDOID)
		{
			r->map[c] = 0;
			r->tid_col = c;
			continue;
		}
		r->map[c] = get_attnum(partition, NameStr(TupleDescAttr(typeinfo, c)->attname));
		if (r->map[c] <= 0)
			elog(ERROR, "lambda_views: the merged read of view %d has no column %s in its batch",
				 r->s->target.view_id, NameStr(TupleDescAttr(typeinfo, c)->attname));
	}
}

static bool
merged_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MergedReceiver *r = (MergedReceiver *) self;
	MemoryContext old;
	int			a;
	int			c;

	slot_getallattrs(slot);
	for (a = 0; a < r->desc->natts; a++)
	{
		r->values[a] = (Datum) 0;
		r->nulls[a] = true;
	}
	for (c = 0; c < slot->tts_tupleDescriptor->natts; c++)
	{
		if (r->map[c] == 0)
			continue;
		r->values[r->map[c] - 1] = slot->tts_values[c];
		r->nulls[r->map[c] - 1] = slot->tts_isnull[c];
	}
	if (r->tid_col >= 0 && !slot->tts_isnull[r->tid_col])
		remember_tid(r->s, (ItemPointer) DatumGetPointer(slot->tts_values[r->tid_col]));
	r->values[r->nrows_att - 1] = Int64GetDatum(1);
	r->nulls[r->nrows_att - 1] = false;
	if (r->store)
		tuplestore_putvalues(r->store, r->desc, r->values, r->nulls);
	else
	{
		MinimalTuple tuple;

		old = MemoryContextSwitchTo(r->rowcxt);
		tuple = heap_form_minimal_tuple(r->desc, r->values, r->nulls);

		/*
		 * the tuple is copied; the store opens its file on the first, which
		 * must outlive the merged query's executor (fetch's context)
		 */
		MemoryContextSwitchTo(r->cxt);
		sts_puttuple(r->sts, NULL, tuple);
		MemoryContextSwitchTo(old);
		MemoryContextReset(r->rowcxt);
	}
	return true;
}

static void
merged_nothing(DestReceiver *self)
{
}


/* pushed_values evaluates the values of the pushed quals, as the reader */
static void
pushed_values(QuietScanState *s, Datum *values, Oid *types, char *nulls)
{
	ExprContext *econtext = s->css.ss.ps.ps_ExprContext;
	ListCell   *lc;

	foreach(lc, s->pushed)
	{
		PushedQual *pq = lfirst(lc);
		bool		isnull;

		values[foreach_current_index(lc)] = ExecEvalExpr(pq->value, econtext, &isnull);
		types[foreach_current_index(lc)] = pq->valtype;
		nulls[foreach_current_index(lc)] = isnull ? 'n' : ' ';
	}
}

/*
 * append_pushed appends the pushed quals to a query of alias lv, over $first
 * onwards
 */
static void
append_pushed(StringInfo sql, List *pushed, int first)
{
	ListCell   *lc;

	foreach(lc, pushed)
	{
		PushedQual *pq = lfirst(lc);
		HeapTuple	optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(pq->opno));

		if (!HeapTupleIsValid(optup))
			elog(ERROR, "cache lookup failed for operator %u", pq->opno);
		appendStringInfo(sql, " %s lv.%s", foreach_current_index(lc) == 0 ? "WHERE" : "AND",
						 quote_identifier(pq->column));
		if (OidIsValid(pq->keytype))
			appendStringInfo(sql, "::%s", format_type_be_qualified(pq->keytype));
		if (OidIsValid(pq->collation))
			appendStringInfo(sql, " COLLATE %s", generate_collation_name(pq->collation));
		appendStringInfo(sql, " OPERATOR(pg_catalog.%s) %s$%d%s",
						 NameStr(((Form_pg_operator) GETSTRUCT(optup))->oprname),
						 pq->array == 0 ? "" : pq->array == 1 ? "ANY (" : "ALL (",
						 foreach_current_index(lc) + first, pq->array == 0 ? "" : ")");
		ReleaseSysCache(optup);
	}
}

/*
 * read_as_owner runs sql, a read of the view's storage, with the quals
 * pushed to it, in the executor's snapshot, as the view's owner, and sends
 * its rows, shaped like the partition's, to the tuplestore or the shared
 * tuplestore given.  With prepared, it runs the plan touched_plan keeps.
 */
static void
read_as_owner(QuietScanState *s, const char *sql, bool prepared, int nargs,
			  Oid *types, Datum *values, char *nulls,
			  Tuplestorestate *store, SharedTuplestoreAccessor *sts)
{
	ScanState  *ss = &s->css.ss;
	TupleDesc	desc = RelationGetDescr(ss->ss_currentRelation);
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel;
	int			rc;
	MergedReceiver receiver;
	bool		was_in_fallback = in_fallback;
	TouchedPlan *volatile plan = NULL;

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = merged_receive;
	receiver.pub.rStartup = merged_startup;
	receiver.pub.rShutdown = merged_nothing;
	receiver.pub.rDestroy = merged_nothing;
	/* not DestNone, for which SPI reports a SELECT as a utility command */
	receiver.pub.mydest = DestTuplestore;
	receiver.s = s;
	receiver.store = store;
	receiver.sts = sts;
	receiver.desc = desc;
	receiver.values = palloc(sizeof(Datum) * desc->natts);
	receiver.nulls = palloc(sizeof(bool) * desc->natts);
	receiver.cxt = CurrentMemoryContext;
	/* each row's tuple for the shared store (a one-process store copies) */
	if (sts != NULL)
		receiver.rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												"lambda_views merged row",
												ALLOCSET_SMALL_SIZES);

	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(s->target.owner, saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	nestlevel = lv_pin_search_path();
	in_fallback = true;
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(ss->ps.state->es_snapshot);
		if (prepared)
			plan = touched_plan(sql, nargs, types);
		rc = lv_spi_exec_dest(sql, plan ? plan->plan : NULL, nargs, types, values,
							  nulls, (DestReceiver *) &receiver);
		PopActiveSnapshot();
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "lambda_views: the read of view %d failed: %s",
				 s->target.view_id, SPI_result_code_string(rc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		/* a read inside another's (a view's tail reading a view) */
		in_fallback = was_in_fallback;
		if (plan != NULL)
			plan->running--;
	}
	PG_END_TRY();
	lv_unpin_settings(nestlevel);
	SetUserIdAndSecContext(saved_user, saved_sec);
	if (receiver.rowcxt != NULL)
		MemoryContextDelete(receiver.rowcxt);
}



/*
 * The definition of each view a busy read used, parsed once per backend as
 * the view's owner (a view id's definition never changes): the query of
 * its touched groups is built from it (lv_touched_sql).
 */
typedef struct TouchedDef
{
	int32		view_id;		/* 0: unused */
	Oid			views_relid;	/* the catalog it was read from */
	void	   *def;			/* NULL: the view has no busy read */
	Oid			batch_table;
	char	   *batch_name;
	char	   *speed_name;
	MemoryContext cxt;
} TouchedDef;

#define TOUCHED_DEFS 16
static TouchedDef touched_defs[TOUCHED_DEFS];
static int	next_touched_def = 0;

/* touched_def returns the view's entry, made if need be */
static TouchedDef *
touched_def(int32 view_id)
{
	TouchedDef *d;
	LvView	   *view;
	int			i;

	for (i = 0; i < TOUCHED_DEFS; i++)
		if (touched_defs[i].view_id == view_id &&
			touched_defs[i].views_relid == cat.views_relid)
			return &touched_defs[i];
	d = &touched_defs[next_touched_def];
	next_touched_def = (next_touched_def + 1) % TOUCHED_DEFS;
	if (d->cxt != NULL)
		MemoryContextDelete(d->cxt);
	memset(d, 0, sizeof(TouchedDef));
	d->cxt = AllocSetContextCreate(TopMemoryContext, "lambda_views busy read",
								   ALLOCSET_SMALL_SIZES);
	view = lv_view_by_id(view_id, true);
	if (view != NULL && !view->distributed)
	{
		Oid			saved_user;
		int			saved_sec;
		int			nestlevel;
		LvDefinition *def;
		char	   *definition;
		MemoryContext old;
		bool		was_in_fallback = in_fallback;

		SPI_connect();
		lv_catalog_sql("SELECT definition FROM lambda_views.views WHERE view_id = $1",
					   1, (Oid[]) {INT4OID}, (Datum[]) {Int32GetDatum(view_id)},
					   NULL, true, 1);
		if (SPI_processed == 1)
		{
			definition = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			old = MemoryContextSwitchTo(d->cxt);
			nestlevel = lv_become_owner(view, &saved_user, &saved_sec);
			/* analyzed as it was at create_view, nothing substituted */
			in_fallback = true;
			PG_TRY();
			{
				def = lv_parse_definition(definition, view->append_key);
			}
			PG_FINALLY();
			{
				in_fallback = was_in_fallback;
			}
			PG_END_TRY();
			lv_restore_user(saved_user, saved_sec, nestlevel);
			if (def->keys != NIL && def->dist_key <= 0)
			{
				d->def = def;
				d->batch_table = view->batch_table;
				d->batch_name = lv_storage_name(view, "batch");
				d->speed_name = lv_storage_name(view, "speed");
			}
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	/* only now: an error above leaves the entry unused */
	d->views_relid = cat.views_relid;
	d->view_id = view_id;
	return d;
}


/*
 * touched_plan returns the prepared plan of sql, prepared now if need be
 * (as the caller runs: the view's owner, connected to SPI).  A generic
 * plan: the generation and the keys are parameters that change at every
 * execution, and custom plans would plan each one (a lookup under ingest:
 * 10 % of its time); the partition is pruned when the plan starts.
 */
static TouchedPlan *
touched_plan(const char *sql, int nargs, Oid *types)
{
	TouchedPlan *p = NULL;
	SPIPlanPtr	plan;
	int			i;

	for (i = 0; i < TOUCHED_PLANS; i++)
	{
		p = &touched_plans[i];
		if (p->sql != NULL && p->nargs == nargs &&
			memcmp(p->types, types, sizeof(Oid) * nargs) == 0 &&
			strcmp(p->sql, sql) == 0)
		{
			p->running++;
			return p;
		}
	}
	plan = SPI_prepare_cursor(sql, nargs, types, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "lambda_views: could not prepare a busy read: %s",
			 SPI_result_code_string(SPI_result));
	/* the next entry no read is running (one nested in its own, say) */
	p = NULL;
	for (i = 0; i < TOUCHED_PLANS && p == NULL; i++)
	{
		TouchedPlan *e = &touched_plans[(next_touched_plan + i) % TOUCHED_PLANS];

		if (e->running == 0)
		{
			p = e;
			next_touched_plan = (next_touched_plan + i + 1) % TOUCHED_PLANS;
		}
	}
	if (p == NULL)
		elog(ERROR, "lambda_views: busy reads nested more than %d deep", TOUCHED_PLANS);
	if (p->sql != NULL)
	{
		SPI_freeplan(p->plan);
		pfree(p->sql);
		pfree(p->types);
		p->sql = NULL;
	}
	SPI_keepplan(plan);
	p->types = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * Max(nargs, 1));
	memcpy(p->types, types, sizeof(Oid) * nargs);
	p->nargs = nargs;
	p->plan = plan;
	p->sql = MemoryContextStrdup(TopMemoryContext, sql);
	p->running = 1;
	return p;
}

/*
 * busy_readable says whether a one-process read of a view that is not quiet,
 * whose state row still has the batch it was planned for, can read that
 * batch's partition but the groups read after it (a busy read).
 */
static bool
busy_readable(QuietScanState *s)
{
	if (s->target.nrows <= 0 || !load_catalog() || distributed_view(&s->target))
		return false;
	return touched_def(s->target.view_id)->def != NULL;
}

/*
 * tail_filter returns the key numbers and values ($n) of the pushed
 * equalities on group keys, as lambda_views.tail_where takes them after
 * the source, so that the tail aggregates only those groups; NULL if none.
 * Only an equality of the key's own type and collation qualifies, as in
 * tail_key_quals.
 */
static char *
tail_filter(QuietScanState *s, int first)
{
	TupleDesc	desc = RelationGetDescr(s->css.ss.ss_currentRelation);
	StringInfoData nums;
	StringInfoData vals;
	ListCell   *lc;

	s->tail_read = "tail";
	/* a catalog older than 1.5 has no lambda_views.tail_where */
	if (!OidIsValid(cat.tail_where_func))
		return NULL;
	initStringInfo(&nums);
	initStringInfo(&vals);
	foreach(lc, s->pushed)
	{
		PushedQual *pq = lfirst(lc);
		int			keyno;
		AttrNumber	att;
		Form_pg_attribute a;

		if (pq->array != 0 || sscanf(pq->column, "k%d", &keyno) != 1)
			continue;
		att = get_attnum(RelationGetRelid(s->css.ss.ss_currentRelation), pq->column);
		if (att <= 0)
			continue;
		a = TupleDescAttr(desc, att - 1);
		if (!IsBinaryCoercible(pq->valtype, a->atttypid) ||
			pq->opno != lookup_type_cache(a->atttypid, TYPECACHE_EQ_OPR)->eq_opr ||
			(OidIsValid(pq->collation) && pq->collation != a->attcollation))
			continue;
		appendStringInfo(&nums, "%s%d", nums.len ? "," : "", keyno);
		appendStringInfo(&vals, ", $%d", foreach_current_index(lc) + first);
	}
	if (nums.len == 0)
		return NULL;
	s->tail_read = psprintf("tail_where {%s}", nums.data);
	return psprintf("'{%s}'::pg_catalog.int4[]%s", nums.data, vals.data);
}

/*
 * read_query returns the query of a merged read, or of a busy read's
 * touched groups ($1 the batch generation), with the quals pushed to it:
 * written once per scan, under the search path it runs under (every name
 * qualified)
 */
static const char *
read_query(QuietScanState *s, bool touched)
{
	char	  **query = touched ? &s->touched_query : &s->merged_query;

	if (*query == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(s->css.ss.ps.state->es_query_cxt);
		int			nestlevel = lv_pin_search_path();
		StringInfoData sql;

		initStringInfo(&sql);
		if (touched)
		{
			TouchedDef *d = touched_def(s->target.view_id);

			if (d->def == NULL)
				elog(ERROR, "lambda_views: view %d has no busy read", s->target.view_id);
			appendStringInfo(&sql, "SELECT * FROM (%s) lv",
							 lv_touched_sql(d->def, s->target.view_id, d->batch_table,
											d->batch_name, d->speed_name, tail_filter(s, 2)));
		}
		else
			appendStringInfo(&sql, "SELECT * FROM (%s) lv", merged_sql(s->target.view_relid));
		append_pushed(&sql, s->pushed, touched ? 2 : 1);
		lv_unpin_settings(nestlevel);
		MemoryContextSwitchTo(old);
		*query = sql.data;
	}
	return *query;
}

/*
 * fetch runs the view's merged query, or a busy read's query of the
 * touched groups, with the values of the quals pushed to it (read_as_owner)
 */
static void
fetch(QuietScanState *s, bool touched, Tuplestorestate *store,
	  SharedTuplestoreAccessor *sts)
{
	int			first = touched ? 1 : 0;
	int			nargs = list_length(s->pushed) + first;
	Datum	   *values = palloc0(sizeof(Datum) * (nargs + 1));
	Oid		   *types = palloc0(sizeof(Oid) * (nargs + 1));
	char	   *nulls = palloc0(nargs + 1);

	s->fetched = true;
	if (touched)
	{
		values[0] = Int32GetDatum(s->target.gen);
		types[0] = INT4OID;
		nulls[0] = ' ';
	}
	pushed_values(s, values + first, types + first, nulls + first);
	read_as_owner(s, read_query(s, touched), touched, nargs, types, values, nulls,
				  store, sts);
}

/*
 * fetch_touched runs, for a busy read, the query of the view's touched
 * groups with the quals pushed to it, in the executor's snapshot, as the
 * view's owner: their rows go to store, and the batch rows they replace to
 * the tids the scan skips.  When those do not fit in hash_mem, the read
 * becomes a merged one.
 */
static void
fetch_touched(QuietScanState *s, Tuplestorestate *store)
{
	s->ntids = 0;
	s->tids_overflow = false;
	s->tid_block = InvalidBlockNumber;
	fetch(s, true, store, NULL);

	if (s->tids_overflow)
	{
		/* the merged rows instead, and the next execution planned merged */
		tuplestore_clear(store);
		s->busy = false;
		s->ntids = 0;
		fetch(s, false, store, NULL);
		invalidate_view_plans(s->target.view_relid);
		return;
	}
	if (s->ntids > 1)
		qsort(s->tids, s->ntids, sizeof(ItemPointerData), tid_cmp);
}

/*
 * busy_exec: a busy read returns the touched groups (those through its
 * quals), then the child's rows but the batch rows those replace
 */
static TupleTableSlot *
busy_exec(PlanState *ps)
{
	QuietScanState *s = (QuietScanState *) ps;

	if (!s->busy_child)
	{
		TupleTableSlot *slot = ExecScan(&s->css.ss, quiet_next, quiet_recheck);

		if (!TupIsNull(slot) || !s->busy)
			return slot;
		s->busy_child = true;
	}
	return quiet_child_row(s);
}

/*
 * ensure_merged reads the merged rows of a one-process read once, for the
 * query's lifetime (again when the pushed quals' parameters change)
 */
static void
ensure_merged(QuietScanState *s)
{
	if (!s->fetched)
	{
		EState	   *estate = s->css.ss.ps.state;
		MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);

		if (s->store)
			tuplestore_end(s->store);
		s->store = tuplestore_begin_heap(false, false, work_mem);
		if (s->mslot == NULL)
			s->mslot = ExecAllocTableSlot(&estate->es_tupleTable,
										  RelationGetDescr(s->css.ss.ss_currentRelation),
										  &TTSOpsMinimalTuple);
		/* what a fetch allocates goes with the next one (rescans) */
		if (s->fetchcxt == NULL)
			s->fetchcxt = AllocSetContextCreate(estate->es_query_cxt,
												"lambda_views read",
												ALLOCSET_DEFAULT_SIZES);
		else
			MemoryContextReset(s->fetchcxt);
		MemoryContextSwitchTo(s->fetchcxt);
		if (s->busy)
			fetch_touched(s, s->store);
		else
			fetch(s, false, s->store, NULL);
		MemoryContextSwitchTo(old);
	}
}

/* end_shared_read ends this participant's read of the shared merged rows */
static void
end_shared_read(QuietScanState *s)
{
	if (s->sts_reading)
		sts_end_parallel_scan(s->sts);
	s->sts_reading = false;
}

/* next_merged returns the next merged row, or NULL after the last one */
static MinimalTuple
next_merged(QuietScanState *s)
{
	bool		should_free;

	if (s->sts)
	{
		if (!s->sts_reading)
		{
			sts_begin_parallel_scan(s->sts);
			s->sts_reading = true;
		}
		return sts_parallel_scan_next(s->sts, NULL);
	}
	ensure_merged(s);
	if (!tuplestore_gettupleslot(s->store, true, false, s->mslot))
		return NULL;
	return ExecFetchSlotMinimalTuple(s->mslot, &should_free);
}

static TupleTableSlot *
quiet_next(ScanState *ss)
{
	QuietScanState *s = (QuietScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	MinimalTuple tuple;

	/* a quiet read never comes here: quiet_exec_quiet */
	Assert(!s->quiet);
	while ((tuple = next_merged(s)) != NULL)
	{
		ExprContext *econtext = ss->ps.ps_ExprContext;

		ExecForceStoreMinimalTuple(tuple, slot, false);
		econtext->ecxt_scantuple = slot;
		if (s->qual == NULL || ExecQual(s->qual, econtext))
			return slot;
		ResetExprContext(econtext);
	}
	return ExecClearTuple(slot);
}

static bool
quiet_recheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
quiet_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, quiet_next, quiet_recheck);
}

/*
 * quiet_parallel_exec: a participant of a parallel read returns the
 * child's rows when the leader found the view quiet; else the merged rows
 * if it is the first to claim them, or none.
 */
static TupleTableSlot *
quiet_parallel_exec(PlanState *ps)
{
	QuietScanState *s = (QuietScanState *) ps;

	if (s->quiet)
		return quiet_child_row(s);
	if (!s->claimed)
	{
		s->claimed = true;
		/* without shared memory (no parallel run) the leader reads alone */
		s->mine = s->shared == NULL ||
			pg_atomic_exchange_u32(&s->shared->claimed, 1) == 0;
	}
	if (!s->mine)
		return ExecClearTuple(ps->ps_ResultTupleSlot);
	return ExecScan(&s->css.ss, quiet_next, quiet_recheck);
}

static Size
quiet_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	QuietScanState *s = (QuietScanState *) node;

	if (s->quiet)
		return QUIET_SHARED_SIZE;
	return add_size(QUIET_SHARED_SIZE, sts_estimate(pcxt->nworkers + 1));
}

/*
 * quiet_initialize_dsm: the leader tells the workers whether the view is
 * quiet; when it is not, it writes the merged rows into the shared
 * tuplestore before they start.
 */
static void
quiet_initialize_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	QuietScanState *s = (QuietScanState *) node;
	QuietShared *shared = coordinate;

	shared->quiet = s->quiet;
	pg_atomic_init_u32(&shared->claimed, 0);
	s->shared = shared;

	/*
	 * without a segment (shared memory in the leader's own, so no workers)
	 * the leader reads the merged rows alone, as a one-process read
	 */
	if (s->quiet || pcxt->seg == NULL)
		return;
	shared->seg = dsm_segment_handle(pcxt->seg);
	SharedFileSetInit(&shared->fileset, pcxt->seg);
	s->sts = sts_initialize(quiet_sts(shared), pcxt->nworkers + 1, 0, 0, 0,
							&shared->fileset, "lambda_views merged");
	fetch(s, false, NULL, s->sts);
	sts_end_write(s->sts);
}

static void
quiet_reinitialize_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	QuietScanState *s = (QuietScanState *) node;

	pg_atomic_write_u32(&((QuietShared *) coordinate)->claimed, 0);
	s->claimed = false;
	/*
	 * the same rows, read again from the start, through a new accessor: a
	 * scan that stopped inside a chunk leaves its own accessor counting
	 * tuples of that chunk as still to read
	 */
	if (s->sts)
	{
		QuietShared *shared = coordinate;

		end_shared_read(s);
		sts_reinitialize(s->sts);
		s->sts = sts_attach(quiet_sts(shared), 0, &shared->fileset);
	}
}

static void
quiet_initialize_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	QuietScanState *s = (QuietScanState *) node;
	QuietShared *shared = coordinate;

	s->shared = shared;
	s->quiet = shared->quiet;
	if (s->quiet)
		return;
	/* the leader's merged rows, read from its files if this one claims them */
	SharedFileSetAttach(&shared->fileset, dsm_find_mapping(shared->seg));
	s->sts = sts_attach(quiet_sts(shared), ParallelWorkerNumber + 1, &shared->fileset);
	s->fetched = true;
}

static void
quiet_end(CustomScanState *node)
{
	QuietScanState *s = (QuietScanState *) node;

	end_shared_read(s);
	if (s->store)
		tuplestore_end(s->store);
	s->store = NULL;
	if (s->child)
		ExecEndNode(s->child);
}

static void
quiet_rescan(CustomScanState *node)
{
	QuietScanState *s = (QuietScanState *) node;

	if (node->ss.ps.plan->parallel_aware)
	{
		/* the merged rows stay those given to the workers */
		if (node->ss.ps.chgParam != NULL)
			UpdateChangedParamSet(s->child, node->ss.ps.chgParam);
		if (s->child->chgParam == NULL)
			ExecReScan(s->child);
		s->claimed = false;
		end_shared_read(s);
		/* the leader's own merged rows, without shared memory */
		if (s->store)
			tuplestore_rescan(s->store);
		return;
	}
	if (s->quiet || s->busy)
	{
		if (node->ss.ps.chgParam != NULL)
			UpdateChangedParamSet(s->child, node->ss.ps.chgParam);
		if (s->child->chgParam == NULL)
			ExecReScan(s->child);
		if (s->quiet)
			return;
		s->busy_child = false;
		s->tid_block = InvalidBlockNumber;
	}
	/* the pushed values may depend on parameters that changed */
	if (node->ss.ps.chgParam != NULL)
		s->fetched = false;
	else if (s->store)
		tuplestore_rescan(s->store);
}

static void
quiet_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	QuietScanState *s = (QuietScanState *) node;

	ExplainPropertyInteger("Lambda View Batch", NULL, s->target.gen, es);
	if (es->analyze)
	{
		ExplainPropertyText("Lambda View Read",
							s->quiet ? "quiet" : s->busy ? "busy" : "merged", es);
		if (es->verbose && s->busy && s->tail_read)
			ExplainPropertyText("Lambda View Tail", s->tail_read, es);
	}
}

static const CustomExecMethods quiet_exec_methods = {
	.CustomName = "LambdaViewScan",
	.BeginCustomScan = quiet_begin,
	.ExecCustomScan = quiet_exec,
	.EndCustomScan = quiet_end,
	.ReScanCustomScan = quiet_rescan,
	.EstimateDSMCustomScan = quiet_estimate_dsm,
	.InitializeDSMCustomScan = quiet_initialize_dsm,
	.ReInitializeDSMCustomScan = quiet_reinitialize_dsm,
	.InitializeWorkerCustomScan = quiet_initialize_worker,
	.ExplainCustomScan = quiet_explain,
};

static const CustomScanMethods quiet_scan_methods = {
	.CustomName = "LambdaViewScan",
	.CreateCustomScanState = quiet_create_state,
};

/*
 * lv_quiet_register installs the planner hooks and the custom scan; once
 * per backend, from _PG_init.
 */
void
lv_quiet_register(bool preloaded)
{
	RegisterCustomScanMethods(&quiet_scan_methods);
	CacheRegisterRelcacheCallback(forget_catalog, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, forget_functions, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_functions, (Datum) 0);
	prev_planner = planner_hook;
	planner_hook = lv_planner;
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = lv_set_rel_pathlist;
	/* the utility hook that keeps it out of DDL is installed when preloaded */
	if (preloaded)
	{
		prev_post_parse_analyze = post_parse_analyze_hook;
		post_parse_analyze_hook = lv_post_parse_analyze;
	}
}
