/*-------------------------------------------------------------------------
 *
 * src/worker.c  (level: entry point)
 *	  Entry points: the background workers.  A launcher; a pool of folding
 *	  workers per database that has the extension; dynamic workers for batch
 *	  recomputes.
 *
 * The launcher starts lambda_views.fold_workers folding workers for each
 * database it has not yet ruled out (first workers of every database
 * first, within max_workers).  A worker that finds no extension marks its
 * database "no extension" and exits; CREATE EXTENSION (the install script
 * calls wake_launcher) puts the database back in play.
 *
 * The folding workers of a database share its views: the catalog's
 * last_fold_at is their common schedule, and a worker takes a due view only
 * if it gets the view's LV_LOCK_FOLDING lock without waiting, so a slow
 * view holds up one worker, never the pool.  Each fold takes one chunk per
 * transaction, up to the keys known settled without waiting for any writer
 * (capture.c, lv_capture_settled), so a writer left open on one source
 * stalls nothing but that source's newest rows.  The first worker of the
 * pool also starts a dynamic worker for each due batch recompute, so a long
 * rebuild never stalls folding, and runs the due quality checks.  Errors in
 * one view are logged with their SQLSTATE, recorded in its status row and
 * retried with backoff; other views go on.
 *
 * All of this needs shared_preload_libraries (shmem.c); a library loaded
 * later registers no worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

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
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "lambda_views.h"
#include "operations.h"
#include "shmem.h"

PGDLLEXPORT void lv_launcher_main(Datum main_arg);
PGDLLEXPORT void lv_db_worker_main(Datum main_arg);
PGDLLEXPORT void lv_batch_worker_main(Datum main_arg);

static void keep_freed_memory(void);

#define LV_DROPPING_TIMEOUT_MS 60000
#define LV_BACKLOG_POLL_MS 100	/* backlog checks while rows arrive */
#define LV_TAIL_READ_WINDOW_MS 10000	/* early folds this long after a read */
#define LV_SETTLE_POLL_MS 50	/* a second look at rows not yet settled */

/* per-view schedule inside a database worker */
typedef struct ViewSchedule
{
	int32		view_id;
	TimestampTz next_fold;
	long		fold_ms;		/* how long its last fold took */
	BackgroundWorkerHandle *batch;
	bool		seen;
	int64		settled;		/* append keys known settled (capture.c) */
	bool		busy;			/* another worker of the pool folds it */
	List	   *checkpoints;	/* capture's pending checkpoints */
	bool		settle_poll;	/* next_fold is a second look at them */
	TimestampTz after_poll;		/* when the fold after that look is due */
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

/*
 * lv_register_launcher registers the launcher; called from _PG_init when
 * preloaded, and a no-op at any other time.
 */
void
lv_register_launcher(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

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

	/* a first look; the worker itself claims its place */
	if (lv_worker_places_full())
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
	/*
	 * committing leaves TopMemoryContext current: switch back, or what the
	 * launcher's round allocates next (its list of wanted databases) would
	 * outlive the round, a little more every naptime
	 */
	MemoryContextSwitchTo(cxt);
	return dbids;
}

/*
 * lv_launcher_main starts a folding worker for every database not ruled
 * out, every naptime and whenever a worker exits or CREATE EXTENSION runs.
 */
void
lv_launcher_main(Datum main_arg)
{
	static BackgroundWorkerHandle *handles[LV_MAX_DATABASES][LV_MAX_FOLDERS];
	static TimestampTz started[LV_MAX_DATABASES][LV_MAX_FOLDERS];
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
		List	   *wanted;
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
		wanted = NIL;
		foreach(lc, dbids)
		{
			Oid			dbid = lfirst_oid(lc);
			LvDbSlot   *slot;

			SpinLockAcquire(&lv_shared->mutex);
			slot = lv_db_slot(dbid, true);
			if (slot && slot->status == LV_DB_DROPPING &&
				TimestampDifferenceExceeds(slot->status_since, GetCurrentTimestamp(),
										   LV_DROPPING_TIMEOUT_MS))
				slot->status = LV_DB_UNKNOWN;
			if (slot && slot->status == LV_DB_UNKNOWN)
				wanted = lappend_int(wanted, slot - lv_shared->dbs);
			SpinLockRelease(&lv_shared->mutex);
		}

		/*
		 * each database's pool, first workers first, so that max_workers
		 * leaves no database without one; a worker that failed starts
		 * again after naptime
		 */
		for (int k = 0; k < lv_fold_workers; k++)
		{
			/*
			 * further workers only in the places left when every database
			 * waiting for its first has one (the workers that are not
			 * first of their pool give their places up while none is
			 * free, see lv_db_worker_main)
			 */
			if (k == 1)
			{
				int			missing = 0;
				bool		room;

				/*
				 * from the pools in shared memory, not from this launcher's
				 * handles: a first worker registered but not started may
				 * still find no place, and a restarted launcher has no
				 * handles of the workers that run
				 */
				SpinLockAcquire(&lv_shared->mutex);
				foreach(lc, wanted)
				{
					i = lfirst_int(lc);
					if (lv_shared->dbs[i].pids[0] == 0)
						missing++;
				}
				lv_shared->first_wanted = missing;
				room = lv_shared->workers + missing < lv_max_workers;
				SpinLockRelease(&lv_shared->mutex);
				if (!room)
					break;
			}
			foreach(lc, wanted)
			{
				pid_t		pid;
				MemoryContext old;
				Oid			dbid;

				i = lfirst_int(lc);
				if (handles[i][k] != NULL &&
					GetBackgroundWorkerPid(handles[i][k], &pid) != BGWH_STOPPED)
					continue;
				/*
				 * running, maybe started by the launcher before a restart;
				 * or a further worker of a database whose first is not
				 * running (it waits for a place, or fails at once)
				 */
				SpinLockAcquire(&lv_shared->mutex);
				pid = lv_shared->dbs[i].pids[k];
				if (k > 0 && lv_shared->dbs[i].pids[0] == 0)
					pid = -1;
				SpinLockRelease(&lv_shared->mutex);
				if (pid != 0)
					continue;
				if (!TimestampDifferenceExceeds(started[i][k], GetCurrentTimestamp(),
												lv_naptime_ms))
					continue;
				SpinLockAcquire(&lv_shared->mutex);
				dbid = lv_shared->dbs[i].dbid;
				SpinLockRelease(&lv_shared->mutex);
				old = MemoryContextSwitchTo(TopMemoryContext);
				if (handles[i][k] != NULL)
					pfree(handles[i][k]);
				handles[i][k] = start_worker("lv_db_worker_main", "lambda_views worker",
											 dbid, k);
				MemoryContextSwitchTo(old);
				started[i][k] = GetCurrentTimestamp();
			}
		}
		/* forget databases that no longer exist */
		for (i = 0; i < LV_MAX_DATABASES; i++)
		{
			bool		gone;

			SpinLockAcquire(&lv_shared->mutex);
			gone = OidIsValid(lv_shared->dbs[i].dbid) && lv_workers_enabled &&
				!list_member_oid(dbids, lv_shared->dbs[i].dbid);
			for (int k = 0; gone && k < LV_MAX_FOLDERS; k++)
				gone = lv_shared->dbs[i].pids[k] == 0;
			if (gone)
				lv_shared->dbs[i].dbid = InvalidOid;
			SpinLockRelease(&lv_shared->mutex);
			if (gone)
			{
				for (int k = 0; k < LV_MAX_FOLDERS; k++)
				{
					if (handles[i][k] != NULL)
						pfree(handles[i][k]);
					handles[i][k] = NULL;
					started[i][k] = 0;
				}
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
	/*
	 * a worker lives for months: report its table statistics after each
	 * unit of work (not forced: at most once a second), so that autovacuum
	 * sees the churn of the speed and batch tables
	 */
	pgstat_report_stat(false);
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
run_view_step(int32 view_id, bool recompute, ViewSchedule *sched, bool *more,
			  TimestampTz began)
{
	volatile bool ok = true;

	*more = false;
	PG_TRY();
	{
		LvView	   *view;

		begin_step();
		view = lv_view_by_id(view_id, true);
		/* one folding worker of the pool at a time on a view: the others go on */
		if (view != NULL && !recompute &&
			!lv_try_lock_view(view_id, LV_LOCK_FOLDING, ExclusiveLock))
		{
			sched->busy = true;
			view = NULL;
		}
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
				int64		settled;

				if (replay_keys >= 0)
					lv_lock_serving_first(view);
				/*
				 * as far as rows are settled, never waiting for a writer
				 * (once: Max evaluates its arguments twice)
				 */
				if (replay_keys < 0)
					lv_lag_fold_begins(MyDatabaseId, view->source, view_id,
									   (int32) Min(view->speed_interval_ms, PG_INT32_MAX));
				settled = lv_capture_settled(view, &sched->checkpoints,
											 TopMemoryContext);
				sched->settled = Max(sched->settled, settled);
				/*
				 * a writer that keeps rows from settling longer than a
				 * settle poll is folded around (its keys become holes)
				 */
				(void) lv_fold_view(view, 1, Max(replay_keys, 0), &sched->settled,
									lv_capture_around(sched->checkpoints, LV_SETTLE_POLL_MS),
									more);
				/* writers of the source may wait for this (max_lag) */
				if (replay_keys < 0)
					lv_lag_fold_ends(MyDatabaseId, view_id, began, !*more, false);
				if (replay_keys >= 0)
				{
					/*
					 * a replay folds one (throttled) chunk per round; it
					 * switches in at the head, which means waiting for the
					 * source's writers: only when there are none
					 */
					if (!*more && !lv_capture_writing(view))
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
		if (!recompute)
			lv_lag_fold_ends(MyDatabaseId, view_id, began, false, true);
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
	int64		since_fold_ms;	/* since any worker last folded it; -1: never */
	int64		retry_in_ms;	/* failing: until the next try may start */
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
		lv_spi_exec_kept("SELECT v.view_id, LEAST((extract(epoch FROM v.speed_interval) * 1000)::bigint, 86400000), "
					"v.batch_interval IS NOT NULL AND (s.last_recompute_at IS NULL OR "
					"s.last_recompute_at + v.batch_interval <= now()) "
					/* a version switched in by alter_view gets its first batch */
					"OR (v.role = 'serving' AND v.version > 1 AND s.batch_gen = 0), "
					"CASE WHEN v.role = 'serving' THEN coalesce(pg_catalog.pg_sequence_last_value(v.key_sequence) "
					"- s.speed_watermark, 0) ELSE 0 END, "
					"coalesce((extract(epoch FROM pg_catalog.clock_timestamp() - s.last_fold_at) * 1000)::bigint, -1), "
					/*
					 * a view whose last fold failed is tried again once the
					 * time it has been failing has passed again (at least two
					 * speed_intervals, at most ~17 minutes): exponential
					 * backoff that every worker of the pool reads alike
					 */
					"CASE WHEN s.last_error_at > coalesce(s.last_fold_at, '-infinity') THEN "
					"(extract(epoch FROM LEAST(GREATEST(2 * v.speed_interval, "
					"2 * (s.last_error_at - coalesce(s.last_fold_at, s.last_error_at))), '1024 seconds') "
					"- (pg_catalog.clock_timestamp() - s.last_error_at)) * 1000)::bigint ELSE 0 END "
					"FROM lambda_views.views v JOIN lambda_views.view_state s USING (view_id) "
					"WHERE v.role <> 'retired' ORDER BY v.view_id",
						 0, NULL, NULL, NULL, true, 0);
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
			v->since_fold_ms = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			v->retry_in_ms = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
			*views = lappend(*views, v);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	end_step();
	return has_extension;
}

/*
 * extension_is_current says whether this database's lambda_views objects
 * are the version the library is built for.  A new library installed over
 * an old one meets the old catalog until ALTER EXTENSION lambda_views
 * UPDATE runs in the database: a fold would then fail every round or, where
 * it combines no stored state, store states in the new format in columns
 * the update converts from the old one.  So the worker leaves the database
 * alone (no folds, recomputes or checks) until the versions match, and
 * says so in one LOG line.  True when the extension is missing, which
 * due_views handles.
 */
static bool
extension_is_current(void)
{
	static bool reported = false;
	bool		current = true;

	char	   *version;

	begin_step();
	version = lv_extension_version();
	if (version != NULL)
	{
		current = strcmp(version, LV_EXTENSION_VERSION) == 0;
		if (!current && !reported)
			ereport(LOG,
					(errmsg("lambda_views: not folding database \"%s\": its extension is version %s, the library needs version %s",
							get_database_name(MyDatabaseId), version,
							LV_EXTENSION_VERSION),
					 errhint("Run ALTER EXTENSION lambda_views UPDATE in that database.")));
	}
	end_step();
	reported = !current;
	return current;
}

/*
 * The schedules of a database worker's views, by view id (a hash table, so
 * a round costs the same per view however many views there are), and the
 * sum of their last fold times.
 */
static HTAB *schedules = NULL;
static long total_fold_ms = 0;

/* schedule_for finds or adds a view's schedule entry. */
static ViewSchedule *
schedule_for(int32 view_id)
{
	bool		found;
	ViewSchedule *s;

	if (schedules == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(ViewSchedule);
		ctl.hcxt = TopMemoryContext;
		schedules = hash_create("lambda_views schedules", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	s = hash_search(schedules, &view_id, HASH_ENTER, &found);
	if (!found)
	{
		memset(s, 0, sizeof(ViewSchedule));
		s->view_id = view_id;
		s->settled = -1;
	}
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
	int32		pool;			/* this worker's place in the pool */
	MemoryContext loopcxt;
	TimestampTz next_checks = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	keep_freed_memory();
	memcpy(&pool, MyBgworkerEntry->bgw_extra, sizeof(int32));
	if (!lv_claim_worker_place(pool > 0))
		proc_exit(0);			/* the launcher tries again after naptime */
	if (!lv_join_pool(dbid, pool))
		proc_exit(0);

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
		/* the pool was made smaller */
		if (pool >= lv_fold_workers)
			proc_exit(0);
		/* another database waits for its first worker: make room */
		if (pool > 0 && lv_first_worker_wanted())
			proc_exit(0);
		MemoryContextReset(loopcxt);
		MemoryContextSwitchTo(loopcxt);

		/* an old catalog under a new library: wait for ALTER EXTENSION */
		if (lv_workers_enabled && !extension_is_current())
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 lv_naptime_ms, PG_WAIT_EXTENSION);
			continue;
		}

		if (lv_workers_enabled)
		{
			/*
			 * early folds only while realtime readers read unfolded rows or
			 * writers ask for fresh views (max_lag)
			 */
			bool		early = lv_fold_backlog_rows > 0 && lv_early_folds_wanted(dbid, LV_TAIL_READ_WINDOW_MS);
			uint32		wakes = lv_db_wakes(dbid);	/* before the snapshot */

			if (!due_views(&views))
			{
				lv_set_db_no_extension(dbid, wakes);
				proc_exit(0);
			}
			if (schedules != NULL)
			{
				HASH_SEQ_STATUS seq;
				ViewSchedule *s;

				hash_seq_init(&seq, schedules);
				while ((s = hash_seq_search(&seq)) != NULL)
					s->seen = false;
			}
			foreach(lc, views)
			{
				DueView    *v = lfirst(lc);
				ViewSchedule *s = schedule_for(v->view_id);
				bool		more = true;
				long		period = fold_period(v->speed_ms, total_fold_ms);

				s->seen = true;
				now = GetCurrentTimestamp();

				/*
				 * due when no worker of the pool folded it for a period (the
				 * catalog's last_fold_at is the pool's shared schedule) or,
				 * under heavy ingest, early whatever its schedule says (a
				 * realtime read aggregates less); a failing view when its
				 * backoff is over
				 */
				if (v->retry_in_ms <= 0 &&
					((now >= s->next_fold &&
					  (s->settle_poll || v->since_fold_ms < 0 || v->since_fold_ms >= period)) ||
					 (early && v->backlog >= lv_fold_backlog_rows)))
				{
					bool		ok = true;

					s->busy = false;
					while (more && ok && !s->busy)
					{
						CHECK_FOR_INTERRUPTS();
						ok = run_view_step(s->view_id, false, s, &more, now);
					}
					if (s->busy)
					{
						/* another worker has it: look again in a moment */
						s->next_fold = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																   Min(period, LV_BACKLOG_POLL_MS));
					}
					else
					{
						bool		was_poll = s->settle_poll;

						total_fold_ms -= s->fold_ms;
						s->fold_ms = TimestampDifferenceMilliseconds(now, GetCurrentTimestamp());
						total_fold_ms += s->fold_ms;
						/* after an error the catalog holds the backoff (due_views) */
						s->next_fold = ok ? TimestampTzPlusMilliseconds(now, period) :
							TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 2 * (int64) v->speed_ms);
						s->settle_poll = false;
						if (was_poll && ok)
							s->next_fold = s->after_poll;
						else if (ok && s->checkpoints != NIL)
						{
							/*
							 * rows this fold saw were still being written:
							 * their writers (most insert for a moment) have
							 * likely ended in a moment, so look once more
							 * then instead of a whole period later
							 */
							s->settle_poll = true;
							s->after_poll = s->next_fold;
							s->next_fold = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																	   Min(period, LV_SETTLE_POLL_MS));
						}
					}
				}
				else if (v->retry_in_ms > 0)
					s->next_fold = Max(s->next_fold, TimestampTzPlusMilliseconds(now, v->retry_in_ms));
				else if (!s->settle_poll && v->since_fold_ms >= 0 && v->since_fold_ms < period)
				{
					/* folded by another worker of the pool: due a period after that */
					s->next_fold = Max(s->next_fold,
									   TimestampTzPlusMilliseconds(now, period - v->since_fold_ms));
				}
				/* recomputes are started by the pool's first worker only */
				if (v->batch_due && pool == 0)
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
			if (schedules != NULL)
			{
				HASH_SEQ_STATUS seq;
				ViewSchedule *s;

				hash_seq_init(&seq, schedules);
				while ((s = hash_seq_search(&seq)) != NULL)
				{
					if (s->seen)
						continue;
					total_fold_ms -= s->fold_ms;
					lv_lag_forget(MyDatabaseId, s->view_id);
					if (s->batch)
						pfree(s->batch);
					list_free_deep(s->checkpoints);
					(void) hash_search(schedules, &s->view_id, HASH_REMOVE, NULL);
				}
			}
		}
		/* quality checks keep their own intervals; look every 10 seconds */
		if (lv_workers_enabled && pool == 0 && GetCurrentTimestamp() >= next_checks)
		{
			run_checks_step();
			next_checks = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
	}
}

/*
 * keep_freed_memory makes the C library keep the memory a folding worker
 * frees.  A fold's aggregates may allocate large states per group and free
 * them at once (hll_add_agg: 128 kB each, unpacked twice per group the fold
 * merges into the speed layer); with glibc's defaults each such free gives
 * the memory back to the kernel (brk, and an mmap per allocation at first)
 * and the next group takes it again: measured, half of an hll view's fold
 * was page faults and brk.  The worker takes allocations below 4 MB from
 * its heap and keeps up to 32 MB freed at its top: its memory stays near
 * its peak use (a fold's, at most a chunk of fold_chunk_rows) instead of
 * going back to the kernel between folds.
 */
static void
keep_freed_memory(void)
{
#ifdef __GLIBC__
	(void) mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
#endif
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
	keep_freed_memory();
	if (!lv_claim_worker_place(false))
		proc_exit(0);			/* still due: the next round starts it again */
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pin_worker_search_path();
	pgstat_report_appname("lambda_views batch");
	(void) run_view_step(view_id, true, NULL, &more, 0);
	proc_exit(0);
}
