/*-------------------------------------------------------------------------
 *
 * src/ground/run.c  (level: ground)
 *	  Ground: how the extension runs SQL.  SPI calls that fail loudly, the
 *	  catalog owner's rights for the extension's own fixed statements, a
 *	  view owner's pinned settings around user code, the storage schema's
 *	  grants, and the extension's own lock tags.
 *
 * Every statement the extension writes itself runs under search_path =
 * pg_catalog, pg_temp; user code (a view's query, RLS policies on its
 * source, check queries) runs as the view's owner under the settings
 * recorded at create_view, and nothing it sets outlives the statement that
 * ran it: each statement runs in a GUC nest level of its own, ended with
 * AtEOXact_GUC(false), so the next one, still in the owner's context, is
 * resolved under the pinned settings again (and lv_restore_user ends the
 * owner's level the same way).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "executor/tuptable.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "lambda_views.h"
#include "agg_state.h"

/* the search_path every statement of the extension's own runs under */
#define LV_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* set_in_level sets a setting until the current GUC nest level ends */
static void
set_in_level(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * lv_catalog_owner returns the owner of the catalog tables (the role that
 * created the extension).
 */
Oid
lv_catalog_owner(void)
{
	Oid			nspid = get_namespace_oid("lambda_views", false);
	Oid			relid = get_relname_relid("views", nspid);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the lambda_views catalog is missing"),
				 errhint("Run CREATE EXTENSION lambda_views.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * lv_pin_search_path starts a GUC nest level with search_path pinned to
 * pg_catalog, pg_temp; lv_unpin_settings(level) undoes it and every
 * setting changed after it.
 */
int
lv_pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	set_in_level("search_path", LV_SAFE_SEARCH_PATH);
	return nestlevel;
}

/*
 * lv_become_catalog_owner switches to the catalog's owner in a security-
 * restricted operation under the pinned search_path; undo with
 * lv_restore_user.  For the extension's own fixed statements only.
 */
int
lv_become_catalog_owner(Oid *saved_user, int *saved_sec)
{
	Oid			owner = lv_catalog_owner();

	GetUserIdAndSecContext(saved_user, saved_sec);
	SetUserIdAndSecContext(owner, *saved_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	return lv_pin_search_path();
}

/*
 * lv_catalog_sql runs one of the extension's own statements on its catalog
 * (SPI_execute_with_args' arguments; the caller is connected to SPI) as
 * the catalog's owner, and fails on any SPI error.  Returns the SPI code.
 */
int
lv_catalog_sql(const char *sql, int nargs, Oid *argtypes, Datum *values,
			   const char *nulls, bool read_only, long tcount)
{
	Oid			saved_user;
	int			saved_sec;
	int			nestlevel = lv_become_catalog_owner(&saved_user, &saved_sec);
	int			rc;

	rc = lv_spi_exec_kept(sql, nargs, argtypes, values, nulls, read_only, tcount);
	lv_restore_user(saved_user, saved_sec, nestlevel);
	return rc;
}

/*
 * Kept plans.  The extension runs the same few statements for every view in
 * every worker round (its catalog statements, each view's fold), so it
 * plans each statement once per backend and keeps the plan; the plan cache
 * replans it when a table it reads changes or search_path differs.  Keyed
 * by the statement's text and argument types; a backend that meets more
 * than LV_MAX_KEPT_PLANS distinct statements (many views) starts over.
 */
#define LV_MAX_KEPT_PLANS 1024

typedef struct KeptPlan
{
	uint64		key;			/* hash of text and argument types */
	char	   *sql;
	int			nargs;
	Oid		   *argtypes;
	SPIPlanPtr	plan;
	bool		sort_groups;	/* see lv_wants_sorted_groups */
} KeptPlan;

static HTAB *kept_plans = NULL;

/* forget_kept_plans frees every kept plan. */
static void
forget_kept_plans(void)
{
	HASH_SEQ_STATUS seq;
	KeptPlan   *entry;

	hash_seq_init(&seq, kept_plans);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		SPI_freeplan(entry->plan);
		pfree(entry->sql);
		if (entry->argtypes)
			pfree(entry->argtypes);
	}
	hash_destroy(kept_plans);
	kept_plans = NULL;
}

/*
 * lv_spi_exec_kept is lv_spi_exec_args with the statement's plan kept for
 * the next call (the caller is connected to SPI).
 */
int
lv_spi_exec_kept(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls, bool read_only, long tcount)
{
	return lv_spi_exec_kept_snapshot(sql, nargs, argtypes, values, nulls, read_only,
									 tcount, InvalidSnapshot);
}

/* prepare plans sql, failing loudly. */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "lambda_views: could not plan a statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	return plan;
}

/*
 * large_partial_walker finds a lambda_views.partial() of an aggregate with a
 * large state (lv_agg_large_state)
 */
static bool
large_partial_walker(Node *node, Oid *partial_namespace)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, large_partial_walker,
								 partial_namespace, 0);
	if (IsA(node, Aggref))
	{
		Aggref	   *aggref = (Aggref *) node;

		if (aggref->args != NIL &&
			get_func_namespace(aggref->aggfnoid) == *partial_namespace)
		{
			char	   *name = get_func_name(aggref->aggfnoid);
			TargetEntry *tle = linitial_node(TargetEntry, aggref->args);

			if (name != NULL && strcmp(name, "partial") == 0 &&
				IsA(tle->expr, Const) && !((Const *) tle->expr)->constisnull &&
				lv_agg_large_state(DatumGetObjectId(((Const *) tle->expr)->constvalue)))
				return true;
		}
	}
	return expression_tree_walker(node, large_partial_walker, partial_namespace);
}

/*
 * lv_wants_sorted_groups says whether a statement partially aggregates
 * (lambda_views.partial) an aggregate with a large transition state.  The
 * planner sizes a hash aggregation by the transition space of the
 * aggregate it sees, and lambda_views.partial declares the small one its
 * usual aggregates need: for hll_add_agg (128 kB per group) it would plan
 * a hash aggregation that allocates a state per group and spills over and
 * over, where the same GROUP BY written with hll_add_agg itself is sorted
 * (measured: a fold of 100k events 2-3x slower).  Such statements run
 * with enable_hashagg off, as the planner would choose for the aggregate
 * itself.
 */
bool
lv_wants_sorted_groups(SPIPlanPtr plan)
{
	Oid			partial_namespace = get_namespace_oid("lambda_views", true);
	ListCell   *lc;

	if (!OidIsValid(partial_namespace))
		return false;
	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *source = lfirst(lc);
		ListCell   *lq;

		foreach(lq, source->query_list)
			if (large_partial_walker(lfirst(lq), &partial_namespace))
				return true;
	}
	return false;
}

/*
 * lv_sort_groups turns hash aggregation off in the current GUC nest level
 * (see lv_wants_sorted_groups).
 */
void
lv_sort_groups(void)
{
	set_in_level("enable_hashagg", "off");
}

/*
 * begin_run sets, in a nest level of its own, what a statement runs
 * under: a plan for its values whatever plan_cache_mode the role has
 * (custom_plan), its large states aggregated sorted (sort_groups); end_run
 * restores the settings and fails on an SPI error.
 */
static int
begin_run(bool sort_groups, bool custom_plan)
{
	int			level = NewGUCNestLevel();

	if (custom_plan)
		set_in_level("plan_cache_mode", "force_custom_plan");
	if (sort_groups)
		lv_sort_groups();
	return level;
}

static void
end_run(int level, int rc, const char *sql)
{
	lv_unpin_settings(level);
	if (rc < 0)
		elog(ERROR, "lambda_views: statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
}

/*
 * run_plan executes a plan in snapshot (InvalidSnapshot: as SPI would),
 * undoing the settings user code changed in it, and fails on any SPI error.
 * sort_groups: plan it without hash aggregation (lv_wants_sorted_groups);
 * custom_plan: plan it for the values given.
 */
static int
run_plan(SPIPlanPtr plan, const char *sql, Datum *values, const char *nulls,
		 bool read_only, long tcount, Snapshot snapshot, bool sort_groups,
		 bool custom_plan)
{
	int			level = begin_run(sort_groups, custom_plan);
	int			rc;

	rc = SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot,
							  read_only, true, tcount);
	end_run(level, rc, sql);
	return rc;
}

/*
 * lv_spi_exec_kept_snapshot is lv_spi_exec_kept in the given snapshot
 * (InvalidSnapshot: as SPI would), so that several statements see the same
 * committed rows.
 */
int
lv_spi_exec_kept_snapshot(const char *sql, int nargs, Oid *argtypes, Datum *values,
						  const char *nulls, bool read_only, long tcount,
						  Snapshot snapshot)
{
	uint64		key;
	KeptPlan   *entry;
	bool		found;

	key = hash_bytes_extended((const unsigned char *) sql, strlen(sql), 0);
	if (nargs > 0)
		key = hash_combine64(key, hash_bytes_extended((const unsigned char *) argtypes,
													  nargs * sizeof(Oid), 0));
	if (kept_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(KeptPlan);
		ctl.hcxt = CacheMemoryContext;
		kept_plans = hash_create("lambda_views kept plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(kept_plans, &key, HASH_FIND, NULL);
	if (entry != NULL &&
		(entry->nargs != nargs || strcmp(entry->sql, sql) != 0 ||
		 (nargs > 0 && memcmp(entry->argtypes, argtypes, nargs * sizeof(Oid)) != 0)))
		/* a hash collision: plan it once */
		return lv_spi_exec_once(sql, nargs, argtypes, values, nulls, read_only,
								tcount, snapshot);
	if (entry == NULL)
	{
		SPIPlanPtr	plan = prepare(sql, nargs, argtypes);

		if (hash_get_num_entries(kept_plans) >= LV_MAX_KEPT_PLANS)
			forget_kept_plans();
		if (kept_plans == NULL)
			return lv_spi_exec_kept_snapshot(sql, nargs, argtypes, values, nulls, read_only,
											 tcount, snapshot);
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "lambda_views: could not keep the plan of: %s", sql);
		entry = hash_search(kept_plans, &key, HASH_ENTER, &found);
		entry->sql = MemoryContextStrdup(CacheMemoryContext, sql);
		entry->nargs = nargs;
		entry->argtypes = NULL;
		if (nargs > 0)
		{
			entry->argtypes = MemoryContextAlloc(CacheMemoryContext, nargs * sizeof(Oid));
			memcpy(entry->argtypes, argtypes, nargs * sizeof(Oid));
		}
		entry->plan = plan;
		entry->sort_groups = lv_wants_sorted_groups(plan);
	}
	return run_plan(entry->plan, sql, values, nulls, read_only, tcount, snapshot,
					entry->sort_groups, false);
}

/*
 * lv_spi_exec_once plans and runs a statement once, for the values given
 * (as a one-shot plan would be), in snapshot (InvalidSnapshot: as SPI
 * would), with the rule of lv_wants_sorted_groups.
 */
int
lv_spi_exec_once(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls, bool read_only, long tcount, Snapshot snapshot)
{
	SPIPlanPtr	plan = prepare(sql, nargs, argtypes);
	int			rc = run_plan(plan, sql, values, nulls, read_only, tcount, snapshot,
							  lv_wants_sorted_groups(plan), true);

	SPI_freeplan(plan);
	return rc;
}

/* const_params: the values of a statement's $n, as SPIExecuteOptions take them */
static ParamListInfo
const_params(int nargs, Oid *argtypes, Datum *values, const char *nulls)
{
	ParamListInfo params = makeParamList(nargs);
	int			i;

	for (i = 0; i < nargs; i++)
	{
		ParamExternData *prm = &params->params[i];

		prm->value = values[i];
		prm->isnull = nulls != NULL && nulls[i] == 'n';
		prm->pflags = PARAM_FLAG_CONST;
		prm->ptype = argtypes[i];
	}
	return params;
}

/*
 * lv_spi_exec_dest runs a read-only statement in the active snapshot and
 * sends its rows to dest as they come (SPI keeps none of them): plan, a
 * prepared statement whose values have the types it was prepared with,
 * or else sql.
 */
int
lv_spi_exec_dest(const char *sql, SPIPlanPtr plan, int nargs, Oid *argtypes,
				 Datum *values, const char *nulls, DestReceiver *dest)
{
	SPIExecuteOptions options;

	memset(&options, 0, sizeof(options));
	options.params = const_params(nargs, argtypes, values, nulls);
	options.read_only = true;
	options.dest = dest;
	if (plan != NULL)
		return SPI_execute_plan_extended(plan, &options);
	return SPI_execute_extended(sql, &options);
}

/* what lv_spi_exec_once_sum's statement returns goes here: the sum of a column */
typedef struct SumReceiver
{
	DestReceiver pub;
	int64		sum;
} SumReceiver;

static void
sum_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	if (typeinfo->natts != 1 || TupleDescAttr(typeinfo, 0)->atttypid != INT8OID)
		elog(ERROR, "lambda_views: a summed statement must return one bigint column");
}

static bool
sum_receive(TupleTableSlot *slot, DestReceiver *self)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, 1, &isnull);

	if (!isnull)
		((SumReceiver *) self)->sum += DatumGetInt64(value);
	return true;
}

static void
sum_nothing(DestReceiver *self)
{
}

/*
 * lv_spi_exec_once_sum is lv_spi_exec_once (in the caller's snapshot) for
 * a statement that returns one bigint column, an INSERT ... RETURNING:
 * its rows are summed as they come, never kept, and the sum returned.
 */
int64
lv_spi_exec_once_sum(const char *sql, int nargs, Oid *argtypes, Datum *values,
					 const char *nulls)
{
	SPIPlanPtr	plan = prepare(sql, nargs, argtypes);
	SPIExecuteOptions options;
	SumReceiver receiver;
	int			level;
	int			rc;

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = sum_receive;
	receiver.pub.rStartup = sum_startup;
	receiver.pub.rShutdown = sum_nothing;
	receiver.pub.rDestroy = sum_nothing;
	receiver.pub.mydest = DestNone;

	memset(&options, 0, sizeof(options));
	options.params = const_params(nargs, argtypes, values, nulls);
	options.dest = (DestReceiver *) &receiver;

	level = begin_run(lv_wants_sorted_groups(plan), true);
	rc = SPI_execute_plan_extended(plan, &options);
	end_run(level, rc, sql);
	SPI_freeplan(plan);
	return receiver.sum;
}

/*
 * What lv_spi_exec_into's query returns is written into a table, as COPY
 * FREEZE writes its rows: in batches (table_multi_insert), frozen, so that
 * each page is all-visible from the start and no reader sets hint bits or
 * waits for a vacuum to read it by pages.  That is safe for a batch
 * partition alone: it is created in this transaction, and a reader reads
 * its rows only once its marker row, inserted as any row is, is visible to
 * it (batch.c).  One bigint column of the rows is summed.
 */
#define INTO_BATCH_ROWS 1000
#define INTO_BATCH_BYTES 65535

typedef struct IntoReceiver
{
	DestReceiver pub;
	Relation	rel;
	int			sum_att;
	int64		sum;
	CommandId	cid;
	BulkInsertState bistate;
	TupleTableSlot *slots[INTO_BATCH_ROWS];
	int			nslots;			/* slots made */
	int			nbuffered;		/* of which hold rows to write */
	Size		bytes;
	MemoryContext cxt;			/* what a flush allocates */
} IntoReceiver;

#define INTO_OPTIONS (TABLE_INSERT_SKIP_FSM | TABLE_INSERT_FROZEN)

static void
into_flush(IntoReceiver *r)
{
	int			i;
	MemoryContext old;

	if (r->nbuffered == 0)
		return;
	/* what the insertion allocates (tuples toasted, their array) goes too */
	old = MemoryContextSwitchTo(r->cxt);
	table_multi_insert(r->rel, r->slots, r->nbuffered, r->cid, INTO_OPTIONS, r->bistate);
	MemoryContextSwitchTo(old);
	for (i = 0; i < r->nbuffered; i++)
		ExecClearTuple(r->slots[i]);
	r->nbuffered = 0;
	r->bytes = 0;
	MemoryContextReset(r->cxt);
}

static void
into_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	IntoReceiver *r = (IntoReceiver *) self;

	/* before the executor enters parallel mode */
	r->cid = GetCurrentCommandId(true);
	r->bistate = GetBulkInsertState();
	r->cxt = AllocSetContextCreate(CurrentMemoryContext, "lambda_views batch rows",
								   ALLOCSET_DEFAULT_SIZES);
}

static bool
into_receive(TupleTableSlot *slot, DestReceiver *self)
{
	IntoReceiver *r = (IntoReceiver *) self;
	TupleTableSlot *copy;
	bool		isnull;
	Datum		value = slot_getattr(slot, r->sum_att, &isnull);

	if (!isnull)
		r->sum += DatumGetInt64(value);
	if (r->nbuffered == r->nslots)
		r->slots[r->nslots++] = table_slot_create(r->rel, NULL);
	copy = r->slots[r->nbuffered++];
	/*
	 * the query's columns are the table's (lv_prepare_into: it checks them
	 * against the batch table, whose LIKE the new partition is); the copy
	 * lives in the slot's memory until the flush clears it
	 */
	ExecCopySlot(copy, slot);
	r->bytes += ((HeapTupleTableSlot *) copy)->tuple ?
		((HeapTupleTableSlot *) copy)->tuple->t_len : 0;
	if (r->nbuffered == INTO_BATCH_ROWS || r->bytes >= INTO_BATCH_BYTES)
		into_flush(r);
	return true;
}

static void
into_shutdown(DestReceiver *self)
{
	IntoReceiver *r = (IntoReceiver *) self;
	int			i;

	into_flush(r);
	for (i = 0; i < r->nslots; i++)
		ExecDropSingleTupleTableSlot(r->slots[i]);
	FreeBulkInsertState(r->bistate);
	table_finish_bulk_insert(r->rel, INTO_OPTIONS);
	MemoryContextDelete(r->cxt);
}

/*
 * lv_prepare_into plans sql, a query, to be written into a table shaped
 * like relid (lv_spi_exec_into), planned as any query is, with parallel
 * workers where PostgreSQL allows.  NULL when the query's columns are not
 * exactly that table's, in order, of the same types: the caller inserts
 * then.
 */
struct _SPI_plan *
lv_prepare_into(const char *sql, int nargs, Oid *argtypes, Oid relid)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_PARALLEL_OK);
	List	   *sources;
	TupleDesc	result;
	Relation	rel;
	bool		fits = true;
	int			i;

	if (plan == NULL)
		elog(ERROR, "lambda_views: could not plan a statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1 ||
		(result = ((CachedPlanSource *) linitial(sources))->resultDesc) == NULL)
	{
		SPI_freeplan(plan);
		return NULL;
	}
	rel = table_open(relid, AccessShareLock);
	if (result->natts != RelationGetDescr(rel)->natts)
		fits = false;
	for (i = 0; fits && i < result->natts; i++)
	{
		Form_pg_attribute q = TupleDescAttr(result, i);
		Form_pg_attribute t = TupleDescAttr(RelationGetDescr(rel), i);

		if (t->attisdropped || t->attnotnull || q->atttypid != t->atttypid ||
			(t->atttypmod != -1 && q->atttypmod != t->atttypmod))
			fits = false;
	}
	table_close(rel, AccessShareLock);
	if (!fits)
	{
		SPI_freeplan(plan);
		return NULL;
	}
	return plan;
}

/*
 * lv_spi_exec_into runs a plan of lv_prepare_into for the values given (a
 * custom plan, with the rule of lv_wants_sorted_groups), writes its rows
 * into relid, a table created empty in this transaction, and returns the
 * sum of its column sum_att.  The plan is freed.
 */
int64
lv_spi_exec_into(struct _SPI_plan *plan, const char *sql, int nargs, Oid *argtypes,
				 Datum *values, Oid relid, int sum_att)
{
	SPIExecuteOptions options;
	IntoReceiver *receiver = palloc0(sizeof(IntoReceiver));
	int64		sum;
	int			level;
	int			rc;

	receiver->pub.receiveSlot = into_receive;
	receiver->pub.rStartup = into_startup;
	receiver->pub.rShutdown = into_shutdown;
	receiver->pub.rDestroy = sum_nothing;
	receiver->pub.mydest = DestNone;
	receiver->rel = table_open(relid, RowExclusiveLock);
	receiver->sum_att = sum_att;

	memset(&options, 0, sizeof(options));
	options.params = const_params(nargs, argtypes, values, NULL);
	options.dest = (DestReceiver *) receiver;

	level = begin_run(lv_wants_sorted_groups(plan), true);
	rc = SPI_execute_plan_extended(plan, &options);
	end_run(level, rc, sql);
	table_close(receiver->rel, NoLock);
	SPI_freeplan(plan);
	sum = receiver->sum;
	pfree(receiver);
	return sum;
}

/* lv_view_locktag fills tag with one of a view's own lock tags. */
void
lv_view_locktag(LOCKTAG *tag, int32 view_id, int kind)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) view_id, (uint32) kind,
						 LV_LOCKTAG_FIELD4);
}

/*
 * lv_try_lock_view takes one of a view's own locks until the transaction
 * ends if nobody holds it in a conflicting mode; false (and no lock) if
 * someone does.
 */
bool
lv_try_lock_view(int32 view_id, int kind, LOCKMODE mode)
{
	LOCKTAG		tag;

	lv_view_locktag(&tag, view_id, kind);
	return LockAcquire(&tag, mode, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/* lv_lock_view takes one of a view's own locks until the transaction ends. */
void
lv_lock_view(int32 view_id, int kind, LOCKMODE mode)
{
	LOCKTAG		tag;

	lv_view_locktag(&tag, view_id, kind);
	(void) LockAcquire(&tag, mode, false, false);
}

/*
 * lv_spi_exec runs a statement as the current user and fails on any SPI
 * error.  Returns the SPI code.
 */
int
lv_spi_exec(const char *sql, bool read_only, long tcount)
{
	int			level = NewGUCNestLevel();
	int			rc = SPI_execute(sql, read_only, tcount);

	lv_unpin_settings(level);
	if (rc < 0)
		elog(ERROR, "lambda_views: statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	return rc;
}

/*
 * lv_spi_exec_args is SPI_execute_with_args as the current user, failing on
 * any SPI error.  Returns the SPI code.
 */
int
lv_spi_exec_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls, bool read_only, long tcount)
{
	int			level = NewGUCNestLevel();
	int			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls,
										   read_only, tcount);

	lv_unpin_settings(level);
	if (rc < 0)
		elog(ERROR, "lambda_views: statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	return rc;
}

/*
 * lv_restore_user undoes lv_become_owner and lv_become_catalog_owner: the
 * user, and every setting changed since, even by set_config(..., false) in
 * the code that ran meanwhile.
 */
void
lv_restore_user(Oid saved_user, int saved_sec, int nestlevel)
{
	lv_unpin_settings(nestlevel);
	SetUserIdAndSecContext(saved_user, saved_sec);
}

/*
 * lv_require_read_committed refuses to fold or swap under a transaction
 * snapshot: rows committed after it would be skipped for good.
 */
void
lv_require_read_committed(const char *what)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s must run in a READ COMMITTED transaction", what),
				 errdetail("Under a transaction snapshot, rows committed later would be skipped."),
				 errhint("Call it outside an explicit REPEATABLE READ or SERIALIZABLE transaction.")));
}

/*
 * lv_pin_settings applies the settings recorded at create_view and a
 * search_path of pg_catalog only, until lv_unpin_settings.
 */
int
lv_pin_settings(List *settings)
{
	int			nestlevel = NewGUCNestLevel();
	ListCell   *lc;

	foreach(lc, settings)
	{
		char	   *setting = pstrdup(lfirst(lc));
		char	   *eq = strchr(setting, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		set_in_level(setting, eq + 1);
	}
	set_in_level("search_path", LV_SAFE_SEARCH_PATH);
	return nestlevel;
}

/*
 * lv_unpin_settings restores every setting changed since lv_pin_settings,
 * including those the code run meanwhile changed with SET or set_config():
 * nothing user code sets outlives it (as PostgreSQL does when it leaves
 * index functions or a materialized view's query).
 */
void
lv_unpin_settings(int nestlevel)
{
	AtEOXact_GUC(false, nestlevel);
}

/*
 * lv_lock_relation_briefly takes an AccessExclusiveLock on relid, waiting
 * at most timeout_ms (0: not at all): readers queue behind a waiting lock,
 * so the extension never waits long.  False (and no lock) on timeout.
 */
bool
lv_lock_relation_briefly(Oid relid, int timeout_ms)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			nestlevel;
	bool		locked = false;

	if (ConditionalLockRelationOid(relid, AccessExclusiveLock))
		return true;
	if (timeout_ms <= 0)
		return false;
	nestlevel = NewGUCNestLevel();
	set_in_level("lock_timeout", psprintf("%d", timeout_ms));
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		LockRelationOid(relid, AccessExclusiveLock);
		ReleaseCurrentSubTransaction();
		locked = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		/* only the lock timeout is expected; a cancel is not swallowed */
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	AtEOXact_GUC(false, nestlevel);
	return locked;
}
