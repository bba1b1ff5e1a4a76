/*-------------------------------------------------------------------------
 *
 * src/ground/shmem.c  (level: ground)
 *	  Ground: the state the launcher, the workers and the backends share
 *	  (one slot per database: its status, its folding worker, when a
 *	  realtime read last met unfolded rows; and how many workers run).
 *
 * It exists only when the library is preloaded: lv_shmem_register, called
 * from _PG_init then, asks for it.  Loaded later the library has no shared
 * state (lv_shared stays NULL) and every function here quietly does
 * nothing or answers "none".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include <signal.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "lambda_views.h"
#include "shmem.h"

LvShared   *lv_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

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
		SpinLockInit(&lv_shared->lag_mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* lv_db_slot returns the slot of a database, creating it; call under mutex. */
LvDbSlot *
lv_db_slot(Oid dbid, bool create)
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
 * note_early_folds_wanted records, at most once a second per backend and
 * kind, that a backend of this database wants the workers to fold early:
 * see lv_note_tail_read and lv_note_paced_write.  Without the shared state
 * (library not preloaded) there are no workers to tell.
 */
static void
note_early_folds_wanted(TimestampTz *noted)
{
	TimestampTz now;
	LvDbSlot   *slot;

	if (lv_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(*noted, now, 1000))
		return;
	*noted = now;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(MyDatabaseId, false);
	if (slot != NULL)
		slot->early_wanted_at = now;
	SpinLockRelease(&lv_shared->mutex);
}

/*
 * lv_note_tail_read records that a backend of this database read unfolded
 * rows with lambda_views.realtime on: early folds keep what such reads
 * aggregate short, and only pay off while they happen.
 */
void
lv_note_tail_read(void)
{
	static TimestampTz noted = 0;

	note_early_folds_wanted(&noted);
}

/*
 * lv_note_paced_write records that a writer of this database inserted with
 * lambda_views.max_lag set: early folds keep the rows each fold takes few,
 * and so the time from a commit to the fold that takes it short.
 */
void
lv_note_paced_write(void)
{
	static TimestampTz noted = 0;

	note_early_folds_wanted(&noted);
}

/*
 * lv_early_folds_wanted says whether a realtime read or a paced write noted
 * itself in the database within window_ms.
 */
bool
lv_early_folds_wanted(Oid dbid, long window_ms)
{
	LvDbSlot   *slot;
	TimestampTz at = 0;

	if (lv_shared == NULL)
		return false;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, false);
	if (slot != NULL)
		at = slot->early_wanted_at;
	SpinLockRelease(&lv_shared->mutex);
	return !TimestampDifferenceExceeds(at, GetCurrentTimestamp(), window_ms);
}

/*
 * A worker that has not begun a fold of a view for this long is not working
 * on it (stopped, or stuck): writers do not wait for it.
 */
#define LV_LAG_STALE_MS 30000

/* lag_slot returns the slot of a view, taking a free one if asked; under lag_mutex */
static LvLagSlot *
lag_slot(Oid dbid, int32 view_id, bool create, TimestampTz now)
{
	LvLagSlot  *free_slot = NULL;
	int			i;

	for (i = 0; i < LV_MAX_LAG_SLOTS; i++)
	{
		LvLagSlot  *slot = &lv_shared->lags[i];

		if (slot->dbid == dbid && slot->view_id == view_id)
			return slot;
		/* a free slot, or one no worker has touched for a long time */
		if (create && free_slot == NULL &&
			(slot->dbid == InvalidOid ||
			 TimestampDifferenceExceeds(slot->heartbeat, now, 10 * LV_LAG_STALE_MS)))
			free_slot = slot;
	}
	if (free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(LvLagSlot));
	free_slot->dbid = dbid;
	free_slot->view_id = view_id;
	return free_slot;
}

/*
 * lv_lag_fold_begins notes that a worker begins a fold of a view (its
 * source, its speed_interval): the heartbeat writers look for.  Without a
 * slot left the view takes no part in lambda_views.max_lag.
 */
void
lv_lag_fold_begins(Oid dbid, Oid source, int32 view_id, int32 period_ms)
{
	LvLagSlot  *slot;
	TimestampTz now = GetCurrentTimestamp();

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->lag_mutex);
	slot = lag_slot(dbid, view_id, true, now);
	if (slot != NULL)
	{
		if (slot->source != source)
		{
			slot->source = source;
			slot->caught_up_at = 0;
		}
		slot->period_ms = period_ms;
		slot->heartbeat = now;
		slot->running_since = now;
	}
	SpinLockRelease(&lv_shared->lag_mutex);
}

/*
 * lv_lag_fold_ends notes how a fold of a view that began at began ended:
 * caught up (no settled row left behind), or failed.
 */
void
lv_lag_fold_ends(Oid dbid, int32 view_id, TimestampTz began, bool caught_up, bool failed)
{
	LvLagSlot  *slot;

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->lag_mutex);
	slot = lag_slot(dbid, view_id, false, 0);
	if (slot != NULL)
	{
		slot->failing = failed;
		slot->running_since = 0;
		if (caught_up && !failed && began > slot->caught_up_at)
			slot->caught_up_at = began;
	}
	SpinLockRelease(&lv_shared->lag_mutex);
}

/* lv_lag_forget frees the slot of a view that is gone. */
void
lv_lag_forget(Oid dbid, int32 view_id)
{
	LvLagSlot  *slot;

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->lag_mutex);
	slot = lag_slot(dbid, view_id, false, 0);
	if (slot != NULL)
		slot->dbid = InvalidOid;
	SpinLockRelease(&lv_shared->lag_mutex);
}

/*
 * lv_lag_behind_ms returns by how much the views of a source that workers
 * are folding are behind more than max_lag_ms past their speed_interval
 * (the most of them), 0 when none is.  A view is behind by the time since
 * its last fold that caught up began, and by how long a fold of it has run
 * now past max_lag_ms; a view that has never caught up, or
 * whose last fold failed, or that no worker has begun to fold for
 * LV_LAG_STALE_MS, does not count.  *folded says whether any view counted.
 */
long
lv_lag_behind_ms(Oid dbid, Oid source, int max_lag_ms, bool *folded)
{
	TimestampTz now;
	long		worst = 0;
	int			i;

	*folded = false;
	if (lv_shared == NULL)
		return 0;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&lv_shared->lag_mutex);
	for (i = 0; i < LV_MAX_LAG_SLOTS; i++)
	{
		LvLagSlot  *slot = &lv_shared->lags[i];
		long		behind;

		if (slot->dbid != dbid || slot->source != source || slot->failing ||
			slot->caught_up_at == 0 ||
			TimestampDifferenceExceeds(slot->heartbeat, now, LV_LAG_STALE_MS))
			continue;
		*folded = true;
		behind = (long) ((now - slot->caught_up_at) / 1000) - slot->period_ms - max_lag_ms;
		worst = Max(worst, behind);
		/*
		 * A fold that has run longer than max_lag leaves behind every row
		 * committed while it runs, and the longer the writers share the
		 * cores with it, the longer it and the next one take: they wait
		 * for it to end.
		 */
		if (slot->running_since != 0)
		{
			behind = (long) ((now - slot->running_since) / 1000) - max_lag_ms;
			worst = Max(worst, behind);
		}
	}
	SpinLockRelease(&lv_shared->lag_mutex);
	return worst;
}

/*
 * set_status records a database's status, if its wakes are *wakes when
 * wakes is not NULL, and wakes the launcher.
 */
static void
set_status(Oid dbid, LvDbStatus status, const uint32 *wakes)
{
	LvDbSlot   *slot;

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, true);
	if (slot && (wakes == NULL || slot->wakes == *wakes))
	{
		slot->status = status;
		slot->status_since = GetCurrentTimestamp();
		if (status == LV_DB_UNKNOWN)
			slot->wakes++;
	}
	SpinLockRelease(&lv_shared->mutex);
	if (lv_shared->launcher_latch)
		SetLatch(lv_shared->launcher_latch);
}

/* lv_set_db_status records a database's status and wakes the launcher. */
void
lv_set_db_status(Oid dbid, LvDbStatus status)
{
	set_status(dbid, status, NULL);
}

/*
 * lv_db_wakes returns how many times a database was put back in play (set
 * to LV_DB_UNKNOWN); 0 when the library is not preloaded.
 */
uint32
lv_db_wakes(Oid dbid)
{
	LvDbSlot   *slot;
	uint32		wakes = 0;

	if (lv_shared == NULL)
		return 0;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, true);
	if (slot)
		wakes = slot->wakes;
	SpinLockRelease(&lv_shared->mutex);
	return wakes;
}

/*
 * lv_set_db_no_extension marks a database "no extension" for a worker that
 * found none, unless it was put back in play since the worker read wakes
 * (lv_db_wakes) before looking: a CREATE EXTENSION that committed after the
 * worker's snapshot must not be forgotten.
 */
void
lv_set_db_no_extension(Oid dbid, uint32 wakes)
{
	set_status(dbid, LV_DB_NO_EXTENSION, &wakes);
}

/*
 * lv_db_worker_pid returns a folding worker of a database (the first of its
 * pool), or 0 when none runs (always when the library is not preloaded).
 */
pid_t
lv_db_worker_pid(Oid dbid)
{
	LvDbSlot   *slot;
	pid_t		pid = 0;
	int			i;

	if (lv_shared == NULL)
		return 0;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, false);
	for (i = 0; slot != NULL && i < LV_MAX_FOLDERS && pid == 0; i++)
		pid = slot->pids[i];
	SpinLockRelease(&lv_shared->mutex);
	return pid;
}

/* lv_signal_db_workers sends signo to every folding worker of a database. */
void
lv_signal_db_workers(Oid dbid, int signo)
{
	LvDbSlot   *slot;
	pid_t		pids[LV_MAX_FOLDERS] = {0};
	int			i;

	if (lv_shared == NULL)
		return;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, false);
	if (slot != NULL)
		memcpy(pids, slot->pids, sizeof(pids));
	SpinLockRelease(&lv_shared->mutex);
	for (i = 0; i < LV_MAX_FOLDERS; i++)
		if (pids[i] != 0)
			kill(pids[i], signo);
}

/*
 * lv_shmem_register installs the hooks that create the shared state; from
 * _PG_init while shared_preload_libraries are loaded.
 */
void
lv_shmem_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lv_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lv_shmem_startup;
}

/*
 * lv_first_worker_wanted says whether a database waits for its first
 * folding worker while every place is taken: a worker that is not the
 * first of its pool should then exit.
 */
bool
lv_first_worker_wanted(void)
{
	int			wanted;

	if (lv_shared == NULL)
		return false;
	SpinLockAcquire(&lv_shared->mutex);
	wanted = lv_shared->first_wanted;
	SpinLockRelease(&lv_shared->mutex);
	return wanted > 0 && lv_worker_places_full();
}

/*
 * lv_worker_places_full says whether max_workers workers run already: a
 * first look before starting one (the worker itself claims its place).
 */
bool
lv_worker_places_full(void)
{
	bool		full;

	SpinLockAcquire(&lv_shared->mutex);
	full = lv_shared->workers >= lv_max_workers;
	SpinLockRelease(&lv_shared->mutex);
	return full;
}

/* the database pool and place a folding worker joined (lv_join_pool) */
static Oid	pool_db = InvalidOid;
static int	pool_index = 0;

/*
 * worker_exited gives back a worker's place, and a folding worker's slot in
 * its database's pool; before_shmem_exit callback.
 */
static void
worker_exited(int code, Datum arg)
{
	SpinLockAcquire(&lv_shared->mutex);
	lv_shared->workers--;
	if (OidIsValid(pool_db))
	{
		LvDbSlot   *slot = lv_db_slot(pool_db, false);

		if (slot != NULL && slot->pids[pool_index] == MyProcPid)
			slot->pids[pool_index] = 0;
	}
	SpinLockRelease(&lv_shared->mutex);
	if (lv_shared->launcher_latch)
		SetLatch(lv_shared->launcher_latch);
}

/*
 * lv_claim_worker_place counts the calling worker among the running ones, within
 * max_workers, and has worker_exited give the place back when it exits.
 * Only running workers count, each once: a worker that never started, or
 * a launcher that restarts while workers run, cannot skew the count.  A
 * further worker of a database's pool (not its first) leaves a place free
 * for each database that waits for its first one: the places go to first
 * workers first, whatever order the workers happen to start in, and a
 * database whose first worker cannot run (it fails at once) holds back
 * one place, not every database's further workers.
 */
bool
lv_claim_worker_place(bool further)
{
	SpinLockAcquire(&lv_shared->mutex);
	if (lv_shared->workers >= lv_max_workers ||
		(further && lv_shared->workers + 1 + lv_shared->first_wanted > lv_max_workers))
	{
		SpinLockRelease(&lv_shared->mutex);
		return false;
	}
	lv_shared->workers++;
	SpinLockRelease(&lv_shared->mutex);
	before_shmem_exit(worker_exited, (Datum) 0);
	return true;
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
		lv_set_db_status(MyDatabaseId, LV_DB_UNKNOWN);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_pending = false;
}

/*
 * lv_wake_launcher_at_commit has the launcher start a worker for this
 * database when the current transaction commits.  False, and nothing else,
 * when the library is not preloaded: there is no launcher.
 */
bool
lv_wake_launcher_at_commit(void)
{
	static bool registered = false;

	if (lv_shared == NULL)
		return false;
	if (!registered)
	{
		RegisterXactCallback(wake_at_commit, NULL);
		registered = true;
	}
	wake_pending = true;
	return true;
}

/*
 * lv_join_pool makes the calling worker folding worker `index` of a
 * database's pool; false if the database is not to be folded now or that
 * place is taken.  Call after lv_claim_worker_place.
 */
bool
lv_join_pool(Oid dbid, int index)
{
	LvDbSlot   *slot;
	bool		joined = false;

	if (index < 0 || index >= LV_MAX_FOLDERS)
		return false;
	SpinLockAcquire(&lv_shared->mutex);
	slot = lv_db_slot(dbid, true);
	if (slot != NULL && slot->status == LV_DB_UNKNOWN && slot->pids[index] == 0)
	{
		/* one database fewer waits for its first worker */
		if (index == 0 && lv_shared->first_wanted > 0)
			lv_shared->first_wanted--;
		slot->pids[index] = MyProcPid;
		pool_db = dbid;
		pool_index = index;
		joined = true;
	}
	SpinLockRelease(&lv_shared->mutex);
	return joined;
}
