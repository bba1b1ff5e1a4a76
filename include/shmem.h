/*
 * shmem.h
 *	  Ground: the shared state of the workers (shmem.c).  Exists only when
 *	  the library is preloaded; lv_shared is NULL otherwise.
 */
#ifndef LV_SHMEM_H
#define LV_SHMEM_H

#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#define LV_MAX_DATABASES 64
#define LV_MAX_FOLDERS 16		/* folding workers per database, at most */

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
	pid_t		pids[LV_MAX_FOLDERS];	/* folding workers, 0 where none */
	TimestampTz status_since;
	TimestampTz early_wanted_at;	/* last realtime read of unfolded rows
									 * or insert with max_lag set */
	uint32		wakes;			/* times set back to LV_DB_UNKNOWN */
} LvDbSlot;

/*
 * How far the folds of a view have caught up, for the writers of its source
 * (lambda_views.max_lag): the start of its last fold that left no settled
 * row behind, and when a worker last worked on it.
 */
#define LV_MAX_LAG_SLOTS 1024

typedef struct LvLagSlot
{
	Oid			dbid;			/* InvalidOid: free */
	Oid			source;
	int32		view_id;
	int32		period_ms;		/* its speed_interval */
	bool		failing;		/* its last fold failed */
	TimestampTz caught_up_at;	/* start of the last fold that caught up */
	TimestampTz heartbeat;		/* a worker last began a fold of it */
	TimestampTz running_since;	/* start of the fold running now, or 0 */
} LvLagSlot;

typedef struct LvShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	int			workers;		/* running lambda_views workers of all kinds */
	int			first_wanted;	/* databases waiting for their first
								 * folding worker (the launcher counts
								 * them) */
	LvDbSlot	dbs[LV_MAX_DATABASES];
	slock_t		lag_mutex;		/* protects lags */
	LvLagSlot	lags[LV_MAX_LAG_SLOTS];
} LvShared;

/* NULL unless the library was preloaded */
extern LvShared *lv_shared;

extern void lv_shmem_register(void);
extern LvDbSlot *lv_db_slot(Oid dbid, bool create);
extern void lv_set_db_status(Oid dbid, LvDbStatus status);
extern uint32 lv_db_wakes(Oid dbid);
extern void lv_set_db_no_extension(Oid dbid, uint32 wakes);
extern pid_t lv_db_worker_pid(Oid dbid);
extern void lv_signal_db_workers(Oid dbid, int signo);
extern bool lv_early_folds_wanted(Oid dbid, long window_ms);
extern void lv_note_paced_write(void);
extern void lv_lag_fold_begins(Oid dbid, Oid source, int32 view_id, int32 period_ms);
extern void lv_lag_fold_ends(Oid dbid, int32 view_id, TimestampTz began, bool caught_up,
							 bool failed);
extern void lv_lag_forget(Oid dbid, int32 view_id);
extern long lv_lag_behind_ms(Oid dbid, Oid source, int max_lag_ms, bool *folded);
extern bool lv_claim_worker_place(bool further);
extern bool lv_join_pool(Oid dbid, int index);
extern bool lv_worker_places_full(void);
extern bool lv_first_worker_wanted(void);
extern bool lv_wake_launcher_at_commit(void);

#endif							/* LV_SHMEM_H */
