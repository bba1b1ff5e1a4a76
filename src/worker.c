/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background workers: a launcher, one folding worker per database that
 *	  has the extension, and dynamic workers for batch recomputes.
 *
 * The launcher starts a worker for each database it has not yet ruled out.
 * A worker that finds no extension marks its database "no extension" and
 * exits; CREATE EXTENSION (the install script calls wake_launcher) puts the
 * database back in play.  A worker folds each view every speed_interval,
 * one chunk per transaction, and starts a dynamic worker for each due batch
 * recompute, so a long rebuild never stalls folding.  Errors in one view are
 * recorded in its status row and retried with backoff; other views go on.
 * DROP DATABASE (without FORCE) succeeds because a utility hook asks the
 * worker of that database to exit first.
 *
 * All of this needs shared_preload_libraries.  A library loaded later has
 * no shared state (lv_shared stays NULL), no hooks and no workers; the
 * functions a backend calls then (lv_note_tail_read, worker_pid,
 * wake_launcher) quietly do nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "lambda_views.h"

PG_FUNCTION_INFO_V1(lv_worker_pid);
PG_FUNCTION_INFO_V1(lv_wake_launcher);

PGDLLEXPORT void lv_launcher_main(Datum main_arg);
PGDLLEXPORT void lv_db_worker_main(Datum main_arg);
PGDLLEXPORT void lv_batch_worker_main(Datum main_arg);

#define LV_MAX_DATABASES 64
#define LV_MAX_VIEWS_PER_DB 256
#define LV_DROPPING_TIMEOUT_MS 60000
#define LV_BACKLOG_POLL_MS 100	/* backlog checks while rows arrive */
#define LV_TAIL_READ_WINDOW_MS 10000	/* early folds this long after a read */

typedef enum LvDbStatus
{
	LV_DB_UNKNOWN = 0,			/* launcher should start a worker */
	LV_DB_NO_EXTENSION,			/* worker found no extension; wait for wake */
	LV_DB_DROPPING				/* DROP DATABASE in progress */
} LvDbStatus;

typedef struct LvDbSlot
{
	Oid			dbid;
	LvDbStatus	status;
	pid_t		pid;			/* folding worker, 0 if none */
	TimestampTz status_since;
	TimestampTz tail_read_at;	/* last realtime read of unfolded rows */
} LvDbSlot;

typedef struct LvShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	int			workers;		/* running lambda_views workers of all kinds */
	LvDbSlot	dbs[LV_MAX_DATABASES];
} LvShared;

/* NULL unless the library was preloaded */
static LvShared *lv_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* per-view schedule inside a database worker */
typedef struct ViewSchedule
{
	int32		view_id;
	TimestampTz next_fold;
	long		fold_ms;		/* how long its last fold took */
	int			failures;
	BackgroundWorkerHandle *batch;
	bool		seen;
} ViewSchedule;

/*
 * fold_period returns how long after a fold starts the next one of the same
 * view starts.  A row committed just after a fold read the high-water mark
 * is visible when the next fold ends: period plus that fold's duration, plus
 * the folds of the other views ahead of it (cycle_ms).  So the period is
 * speed_interval less that, with a 50 ms margin, but at least a quarter of
 * it.
 */
static long
fold_period(long speed_ms, long cycle_ms)
{
	return Max(speed_ms / 4, speed_ms - cycle_ms - 50);
}

/* lv_shmem_request asks for the shared state. */
static void
lv_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(LvShared)));
}

/* lv_shmem_startup creates or attaches to the shared state. */
static void
lv_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	lv_shared = ShmemInitStruct("lambda_views", sizeof(LvShared), &found);
	if (!found)
	{
		memset(lv_shared, 0, sizeof(LvShared));
		SpinLockInit(&lv_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* db_slot returns the slot of a database, creating it; call under mutex. */
static LvDbSlot *
db_slot(Oid dbid, bool create)
{
	int			i;
	LvDbSlot   *free_slot = NULL;

	for (i = 0; i < LV_MAX_DATABASES; i++)
	{
		if (lv_shared->dbs[i].dbid == dbid)
			return &lv_shared->dbs[i];
		if (free_slot == NULL && lv_shared->dbs[i].dbid == InvalidOid)
			free_slot = &lv_shared->dbs[i];
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(LvDbSlot));
	free_slot->dbid = dbid;
	return free_slot;
}

/*
 * lv_note_tail_read records that a backend of this database read unfolded
 * rows with lambda_views.realtime on (at most once a second per backend).
 * Early folds only pay off while such reads happen.  Without the shared
 * state (library not preloaded) there are no workers to tell.
 */
void
lv_note_tail_read(void)
{
	static TimestampTz noted = 0;
	TimestampTz now;
	LvDbSlot   *slot;

	if (lv_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(noted, now, 1000))
		return;
	noted = now;
	SpinLockAcquire(&lv_shared->mutex);
	slot = db_slot(MyDatabaseId, false);
	if (slot != NULL)
		slot->tail_read_at = now;
	SpinLockRelease(&lv_shared->mutex);
}

/* tail_read_recently says whether a realtime read noted itself lately. */
static bool
tail_read_recently(Oid dbid)
{
	LvDbSlot   *slot;
	TimestampTz at = 0;

	if (lv_shared == NULL)
		return false;
	SpinLockAcquire(&lv_shared->mutex);
	slot = db_slot(dbid, false);
	if (slot != NULL)
		at = slot->tail_read_at;
	SpinLockRelease(&lv_shared->mutex);
	return !TimestampDifferenceExceeds(at, GetCurrentTimestamp(), LV_TAIL_READ_WINDOW_MS);
}

/* set_db_status records a database's status and wakes the launcher. */
static void
set_db_status(Oid dbid, LvDbStatus status)
{
	LvDbSlot   *slot;

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->mutex);
	slot = db_slot(dbid, true);
	if (slot)
	{
		slot->status = status;
		slot->status_since = GetCurrentTimestamp();
	}
	SpinLockRelease(&lv_shared->mutex);
	if (lv_shared->launcher_latch)
		SetLatch(lv_shared->launcher_latch);
}

/*
 * db_worker_pid returns the folding worker of a database, or 0 (always when
 * the library is not preloaded).
 */
static pid_t
db_worker_pid(Oid dbid)
{
	LvDbSlot   *slot;
	pid_t		pid = 0;

	if (lv_shared == NULL)
		return 0;
	SpinLockAcquire(&lv_shared->mutex);
	slot = db_slot(dbid, false);
	if (slot)
		pid = slot->pid;
	SpinLockRelease(&lv_shared->mutex);
	return pid;
}

/*
 * lv_process_utility makes the folding worker of a database step aside
 * before DROP DATABASE, which refuses to run while anyone is connected.
 * Installed only when preloaded, like the shared state it reads.
 */
static void
lv_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, DropdbStmt) && lv_shared != NULL)
	{
		DropdbStmt *stmt = (DropdbStmt *) pstmt->utilityStmt;
		Oid			dbid = get_database_oid(stmt->dbname, true);
		int			waited;

		if (OidIsValid(dbid))
		{
			pid_t		pid;

			set_db_status(dbid, LV_DB_DROPPING);
			pid = db_worker_pid(dbid);
			if (pid != 0)
				kill(pid, SIGTERM);
			for (waited = 0; waited < 10000 && db_worker_pid(dbid) != 0; waited += 10)
			{
				CHECK_FOR_INTERRUPTS();
				pg_usleep(10000L);
			}
		}
	}
	lv_guard_utility(pstmt->utilityStmt);
	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * lv_register_launcher registers the launcher and the shared-memory and
 * utility hooks; called from _PG_init when preloaded, and a no-op at any
 * other time (the hooks would never run or find no shared state).
 */
void
lv_register_launcher(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lv_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lv_shmem_startup;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = lv_process_utility;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "lambda_views", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "lv_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "lambda_views launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "lambda_views launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* start_worker starts a dynamic lambda_views worker, within max_workers. */
static BackgroundWorkerHandle *
start_worker(const char *function, const char *name, Oid dbid, int32 view_id)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	bool		full;

	/* a first look; the worker itself claims its place (claim_place) */
	SpinLockAcquire(&lv_shared->mutex);
	full = lv_shared->workers >= lv_max_workers;
	SpinLockRelease(&lv_shared->mutex);
	if (full)
		return NULL;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "lambda_views", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	memcpy(worker.bgw_extra, &view_id, sizeof(int32));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/* worker_exited gives back a worker's place; before_shmem_exit callback. */
static void
worker_exited(int code, Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);

	SpinLockAcquire(&lv_shared->mutex);
	lv_shared->workers--;
	if (OidIsValid(dbid))
	{
		LvDbSlot   *slot = db_slot(dbid, false);

		if (slot && slot->pid == MyProcPid)
			slot->pid = 0;
	}
	SpinLockRelease(&lv_shared->mutex);
	if (lv_shared->launcher_latch)
		SetLatch(lv_shared->launcher_latch);
}

/*
 * claim_place counts the calling worker among the running ones, within
 * max_workers, and has worker_exited give the place back when it exits.
 * Only running workers count, each once: a worker that never started, or
 * a launcher that restarts while workers run, cannot skew the count.
 */
static bool
claim_place(Oid dbid)
{
	SpinLockAcquire(&lv_shared->mutex);
	if (lv_shared->workers >= lv_max_workers)
	{
		SpinLockRelease(&lv_shared->mutex);
		return false;
	}
	lv_shared->workers++;
	SpinLockRelease(&lv_shared->mutex);
	before_shmem_exit(worker_exited, ObjectIdGetDatum(dbid));
	return true;
}

/* connectable_databases lists databases a worker may connect to. */
static List *
connectable_databases(void)
{
	List	   *dbids = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(cxt);
		dbids = lappend_oid(dbids, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbids;
}

/*
 * lv_launcher_main starts a folding worker for every database not ruled
 * out, every naptime and whenever a worker exits or CREATE EXTENSION runs.
 */
void
lv_launcher_main(Datum main_arg)
{
	BackgroundWorkerHandle *handles[LV_MAX_DATABASES] = {0};
	TimestampTz started[LV_MAX_DATABASES] = {0};
	MemoryContext loopcxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("lambda_views launcher");

	SpinLockAcquire(&lv_shared->mutex);
	lv_shared->launcher_latch = MyLatch;
	SpinLockRelease(&lv_shared->mutex);
	/* the database list of one round; handles live in TopMemoryContext */
	loopcxt = AllocSetContextCreate(TopMemoryContext, "lambda_views launcher loop",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		List	   *dbids;
		ListCell   *lc;
		int			i;

		MemoryContextReset(loopcxt);
		MemoryContextSwitchTo(loopcxt);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		dbids = lv_workers_enabled ? connectable_databases() : NIL;
		foreach(lc, dbids)
		{
			Oid			dbid = lfirst_oid(lc);
			LvDbSlot   *slot;
			bool		start = false;

			SpinLockAcquire(&lv_shared->mutex);
			slot = db_slot(dbid, true);
			i = slot ? slot - lv_shared->dbs : -1;
			if (slot && slot->status == LV_DB_DROPPING &&
				TimestampDifferenceExceeds(slot->status_since, GetCurrentTimestamp(),
										   LV_DROPPING_TIMEOUT_MS))
				slot->status = LV_DB_UNKNOWN;
			if (slot && slot->status == LV_DB_UNKNOWN)
			{
				pid_t		pid;

				/* a worker that failed is started again after naptime */
				start = (handles[i] == NULL ||
						 GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED) &&
					TimestampDifferenceExceeds(started[i], GetCurrentTimestamp(),
											   lv_naptime_ms);
			}
			SpinLockRelease(&lv_shared->mutex);
			if (start)
			{
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				if (handles[i] != NULL)
					pfree(handles[i]);
				handles[i] = start_worker("lv_db_worker_main", "lambda_views worker",
										  dbid, 0);
				MemoryContextSwitchTo(old);
				started[i] = GetCurrentTimestamp();
			}
		}
		/* forget databases that no longer exist */
		for (i = 0; i < LV_MAX_DATABASES; i++)
		{
			bool		gone;

			SpinLockAcquire(&lv_shared->mutex);
			gone = OidIsValid(lv_shared->dbs[i].dbid) && lv_workers_enabled &&
				!list_member_oid(dbids, lv_shared->dbs[i].dbid) &&
				lv_shared->dbs[i].pid == 0;
			if (gone)
				lv_shared->dbs[i].dbid = InvalidOid;
			SpinLockRelease(&lv_shared->mutex);
			if (gone)
			{
				if (handles[i] != NULL)
					pfree(handles[i]);
				handles[i] = NULL;
				started[i] = 0;
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 lv_naptime_ms, PG_WAIT_EXTENSION);
	}
}

/*
 * pin_worker_search_path: a worker runs as a superuser, so every name in
 * its own statements resolves in pg_catalog only, never in a schema where
 * some role may create an operator or a function.  User code it runs (as a
 * view's owner) cannot change this for long: every call into user code
 * undoes the settings it changed (lv_restore_user).
 */
static void
pin_worker_search_path(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * the memory context that was current when the unit of work began: the
 * worker loop's, reset every round.  Ending a transaction leaves
 * TopMemoryContext current; end_step and abort_step switch back, so nothing
 * a round allocates after a step (an error's copy included) outlives it.
 */
static MemoryContext step_caller_cxt = NULL;

/* begin_step starts the transaction and snapshot of one unit of work. */
static void
begin_step(void)
{
	step_caller_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/* end_step commits the unit of work begun by begin_step. */
static void
end_step(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(step_caller_cxt);
}

/*
 * abort_step, in PG_CATCH, keeps the error in the caller's memory context
 * and rolls the unit of work back.
 */
static ErrorData *
abort_step(void)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(step_caller_cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(step_caller_cxt);
	return edata;
}

/*
 * log_step_error logs an error a unit of work caught, with its SQLSTATE,
 * detail, hint and context, under the worker's own message.
 */
static void
log_step_error(ErrorData *edata, const char *what)
{
	ereport(LOG,
			(errcode(edata->sqlerrcode),
			 errmsg("lambda_views: %s failed: %s", what, edata->message),
			 edata->detail ? errdetail("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 edata->context ? errcontext("%s", edata->context) : 0));
}

/*
 * run_view_step runs one unit of a view's work in its own transaction; an
 * error is logged and recorded in the view's status row, and false returned.
 */
static bool
run_view_step(int32 view_id, bool recompute, bool *more)
{
	volatile bool ok = true;

	*more = false;
	PG_TRY();
	{
		LvView	   *view;

		begin_step();
		view = lv_view_by_id(view_id, true);
		if (view != NULL)
		{
			pgstat_report_activity(STATE_RUNNING,
								   psprintf("lambda_views: %s %s.%s",
											recompute ? "recompute" : "fold",
											view->view_schema, view->view_name));
			if (recompute)
				(void) lv_recompute_view(view);
			else
			{
				int64		replay_keys = lv_replay_keys(view);

				if (replay_keys >= 0)
					lv_lock_serving_first(view);
				(void) lv_fold_view(view, 1, Max(replay_keys, 0), more);
				if (replay_keys >= 0)
				{
					/* a replay folds one (throttled) chunk per round */
					if (!*more)
						(void) lv_finish_replay(view);
					*more = false;
				}
				else
					lv_drop_expired_versions();
				/*
				 * old batch partitions go once nobody can read them; under
				 * a steady read load the batch table is never free, so
				 * queue for it, briefly
				 */
				lv_drop_retired_batches(view, 20);
			}
		}
		end_step();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_step();

		log_step_error(edata, psprintf("%s of view %d",
									   recompute ? "recompute" : "fold", view_id));
		begin_step();
		lv_record_error(view_id, edata->message);
		end_step();
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/*
 * run_checks_step runs the data-product quality checks that are due, in a
 * transaction of their own; lambda_views.run_due_checks() runs each view's
 * checks as its owner and turns one view's failure into a warning.
 */
static void
run_checks_step(void)
{
	PG_TRY();
	{
		begin_step();
		pgstat_report_activity(STATE_RUNNING, "lambda_views: quality checks");
		SPI_connect();
		lv_spi_exec("SELECT lambda_views.run_due_checks()", false, 0);
		SPI_finish();
		end_step();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_step();

		log_step_error(edata, "quality checks");
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* one view's schedule inputs, read each round by due_views */
typedef struct DueView
{
	int32		view_id;
	int			speed_ms;
	bool		batch_due;		/* a recompute is due */
	int			backlog;		/* keys handed out beyond the speed layer */
} DueView;

/*
 * due_views reads each view's schedule inputs into a list of DueView (the
 * backlog is zero while a view replays, which folds at its own pace).
 * False if the database has no extension.
 */
static bool
due_views(List **views)
{
	bool		has_extension;
	uint64		i;
	MemoryContext cxt = CurrentMemoryContext;

	begin_step();
	has_extension = OidIsValid(get_extension_oid("lambda_views", true));
	if (has_extension)
	{
		SPI_connect();
		lv_spi_exec("SELECT v.view_id, LEAST((extract(epoch FROM v.speed_interval) * 1000)::bigint, 86400000), "
					"v.batch_interval IS NOT NULL AND (s.last_recompute_at IS NULL OR "
					"s.last_recompute_at + v.batch_interval <= now()) "
					/* a version switched in by alter_view gets its first batch */
					"OR (v.role = 'serving' AND v.version > 1 AND s.batch_gen = 0), "
					"CASE WHEN v.role = 'serving' THEN coalesce(pg_catalog.pg_sequence_last_value(v.key_sequence) "
					"- s.speed_watermark, 0) ELSE 0 END "
					"FROM lambda_views.views v JOIN lambda_views.view_state s USING (view_id) "
					"WHERE v.role <> 'retired' ORDER BY v.view_id", true, LV_MAX_VIEWS_PER_DB);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			MemoryContext old = MemoryContextSwitchTo(cxt);
			DueView    *v = palloc(sizeof(DueView));

			v->view_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			v->speed_ms = (int) DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			v->batch_due = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			v->backlog = (int) Min(DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)), INT_MAX);
			*views = lappend(*views, v);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	end_step();
	return has_extension;
}

/* schedule_for finds or adds a view's schedule entry. */
static ViewSchedule *
schedule_for(List **schedules, int32 view_id)
{
	ListCell   *lc;
	ViewSchedule *s;
	MemoryContext old;

	foreach(lc, *schedules)
		if (((ViewSchedule *) lfirst(lc))->view_id == view_id)
			return lfirst(lc);

	s = MemoryContextAllocZero(TopMemoryContext, sizeof(ViewSchedule));
	s->view_id = view_id;
	/* the list outlives the loop's memory context, like its entries */
	old = MemoryContextSwitchTo(TopMemoryContext);
	*schedules = lappend(*schedules, s);
	MemoryContextSwitchTo(old);
	return s;
}

/*
 * lv_db_worker_main folds every view of one database at its speed_interval
 * and starts batch workers for due recomputes.
 */
void
lv_db_worker_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	List	   *schedules = NIL;
	MemoryContext loopcxt;
	TimestampTz next_checks = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (!claim_place(dbid))
		proc_exit(0);			/* the launcher tries again after naptime */

	SpinLockAcquire(&lv_shared->mutex);
	{
		LvDbSlot   *slot = db_slot(dbid, true);

		if (slot == NULL || slot->status != LV_DB_UNKNOWN || slot->pid != 0)
		{
			SpinLockRelease(&lv_shared->mutex);
			proc_exit(0);
		}
		slot->pid = MyProcPid;
	}
	SpinLockRelease(&lv_shared->mutex);

	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pin_worker_search_path();
	pgstat_report_appname("lambda_views worker");
	loopcxt = AllocSetContextCreate(TopMemoryContext, "lambda_views worker loop",
									ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		List	   *views = NIL;
		ListCell   *lc;
		TimestampTz now;
		long		sleep_ms = lv_naptime_ms;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loopcxt);
		MemoryContextSwitchTo(loopcxt);

		if (lv_workers_enabled)
		{
			/* early folds only while realtime readers read unfolded rows */
			bool		early = lv_fold_backlog_rows > 0 && tail_read_recently(dbid);

			if (!due_views(&views))
			{
				set_db_status(dbid, LV_DB_NO_EXTENSION);
				proc_exit(0);
			}
			foreach(lc, schedules)
				((ViewSchedule *) lfirst(lc))->seen = false;
			foreach(lc, views)
			{
				DueView    *v = lfirst(lc);
				ViewSchedule *s = schedule_for(&schedules, v->view_id);
				bool		more = true;

				s->seen = true;
				now = GetCurrentTimestamp();
				/* heavy ingest folds early: a realtime read aggregates less */
				if (now >= s->next_fold ||
					(early && v->backlog >= lv_fold_backlog_rows && s->failures == 0))
				{
					bool		ok = true;
					long		cycle_ms = 0;
					ListCell   *other;

					while (more && ok)
					{
						CHECK_FOR_INTERRUPTS();
						ok = run_view_step(s->view_id, false, &more);
					}
					s->fold_ms = TimestampDifferenceMilliseconds(now, GetCurrentTimestamp());
					foreach(other, schedules)
						cycle_ms += ((ViewSchedule *) lfirst(other))->fold_ms;
					s->failures = ok ? 0 : Min(s->failures + 1, 10);
					/* exponential backoff after errors, up to ~17 minutes */
					if (ok)
						s->next_fold = TimestampTzPlusMilliseconds(now,
																   fold_period(v->speed_ms, cycle_ms));
					else
						s->next_fold = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																   (int64) v->speed_ms << s->failures);
				}
				if (v->batch_due)
				{
					pid_t		pid;

					if (s->batch == NULL ||
						GetBackgroundWorkerPid(s->batch, &pid) == BGWH_STOPPED)
					{
						MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

						if (s->batch)
							pfree(s->batch);
						s->batch = start_worker("lv_batch_worker_main",
												"lambda_views batch", dbid, s->view_id);
						MemoryContextSwitchTo(old);
					}
				}
				sleep_ms = Min(sleep_ms,
							   Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																	  s->next_fold)));
				/* while rows arrive, look at the backlog more often */
				if (early && v->backlog > 0)
					sleep_ms = Min(sleep_ms, LV_BACKLOG_POLL_MS);
			}
			/* forget dropped views, so they no longer count in a cycle */
			foreach(lc, schedules)
			{
				ViewSchedule *s = lfirst(lc);

				if (s->seen)
					continue;
				schedules = foreach_delete_current(schedules, lc);
				if (s->batch)
					pfree(s->batch);
				pfree(s);
			}
		}
		/* quality checks keep their own intervals; look every 10 seconds */
		if (lv_workers_enabled && GetCurrentTimestamp() >= next_checks)
		{
			run_checks_step();
			next_checks = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
	}
}

/* lv_batch_worker_main recomputes one view's batch and exits. */
void
lv_batch_worker_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	int32		view_id;
	bool		more;

	memcpy(&view_id, MyBgworkerEntry->bgw_extra, sizeof(int32));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (!claim_place(InvalidOid))
		proc_exit(0);			/* still due: the next round starts it again */
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pin_worker_search_path();
	pgstat_report_appname("lambda_views batch");
	(void) run_view_step(view_id, true, &more);
	proc_exit(0);
}

/*
 * lv_worker_pid is lambda_views.worker_pid(view_id): the pid of the worker
 * folding this database, or NULL when none runs (always when the library is
 * not preloaded).
 */
Datum
lv_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid = db_worker_pid(MyDatabaseId);

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

static bool wake_pending = false;

/*
 * wake_at_commit lets the launcher look at this database once the
 * transaction that asked for it (CREATE EXTENSION) has committed: a worker
 * started earlier would not see the extension yet.
 */
static void
wake_at_commit(XactEvent event, void *arg)
{
	if (!wake_pending)
		return;
	if (event == XACT_EVENT_COMMIT)
		set_db_status(MyDatabaseId, LV_DB_UNKNOWN);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_pending = false;
}

/*
 * lv_wake_launcher is lambda_views.wake_launcher(): called by CREATE
 * EXTENSION so the launcher starts a worker for this database.  False, and
 * nothing else, when the library is not preloaded: there is no launcher.
 */
Datum
lv_wake_launcher(PG_FUNCTION_ARGS)
{
	static bool registered = false;

	if (lv_shared == NULL)
		PG_RETURN_BOOL(false);
	if (!registered)
	{
		RegisterXactCallback(wake_at_commit, NULL);
		registered = true;
	}
	wake_pending = true;
	PG_RETURN_BOOL(true);
}
