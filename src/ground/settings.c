/*-------------------------------------------------------------------------
 *
 * src/ground/settings.c  (level: ground)
 *	  Ground: the extension's configuration variables (lambda_views.*).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "lambda_views.h"

bool		lv_realtime = true;
bool		lv_quiet_scan = true;
int			lv_fold_chunk_rows = 1000000;
bool		lv_workers_enabled = true;
int			lv_naptime_ms = 1000;
int			lv_fold_backlog_rows = 2000;
int			lv_max_lag_ms = 0;
int			lv_max_workers = 4;
int			lv_fold_workers = 2;

/*
 * lv_define_settings defines the variables; lambda_views.max_workers only
 * while shared_preload_libraries are loaded.  Called once, from _PG_init.
 */
void
lv_define_settings(void)
{
	DefineCustomBoolVariable("lambda_views.realtime",
							 "Lambda views also aggregate committed rows the speed layer has not folded yet.",
							 "On, a reader sees its own committed inserts at once; off, it reads batch and speed only.",
							 &lv_realtime, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lambda_views.quiet_scan",
							 "A lambda view is planned as a scan of its batch.",
							 "The scan checks at execution what follows the batch: nothing, or groups it reads first and skips in the batch; else it reads the merged view. Off always plans the merged view.",
							 &lv_quiet_scan, true, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda_views.fold_chunk_rows",
							"Append keys folded per chunk.",
							"A fold of a large backlog runs in chunks of this many keys, so memory stays flat.",
							&lv_fold_chunk_rows, 1000000, 1000, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda_views.fold_backlog_rows",
							"Unfolded append keys that make the worker fold a view before its speed_interval is up.",
							"A realtime read aggregates the rows the speed layer has not folded; under heavy ingest this bounds them. 0 folds only every speed_interval.",
							&lv_fold_backlog_rows, 2000, 0, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda_views.max_lag",
							"How far behind its speed_interval a lambda view may fall before writers of its source wait.",
							"An INSERT or COPY into the source of a view whose last caught-up fold began more than speed_interval plus this long ago, or whose fold has run longer than this, waits for the folds first (back-pressure under ingest the workers cannot keep up with). 0 never waits.",
							&lv_max_lag_ms, 0, 0, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("lambda_views.workers_enabled",
							 "Background workers fold and recompute lambda views.",
							 "Off, views stay exact through lambda_views.fold() and recompute() by hand or from pg_cron.",
							 &lv_workers_enabled, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda_views.naptime",
							"How often the launcher looks for databases with lambda views.",
							NULL, &lv_naptime_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/*
	 * Loaded later (CREATE EXTENSION, the first call of one of its functions
	 * or LOAD), the library has no shared memory and no workers: fold() and
	 * recompute() by hand or from pg_cron keep the views exact.  A
	 * PGC_POSTMASTER variable cannot be defined then (guc.c ends the session
	 * with FATAL), and the prefix is not reserved either, so that a
	 * lambda_views.max_workers line left in postgresql.conf stays a harmless
	 * placeholder instead of a warning in every session (as pg_prewarm
	 * does).
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("lambda_views.max_workers",
							"Background workers lambda_views may run at once (per-database folders and batch builders).",
							NULL, &lv_max_workers, 4, 1, 64,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda_views.fold_workers",
							"Folding workers per database.",
							"They share the database's views: a slow view or one whose source has a writer open holds up one of them at most.  They count against lambda_views.max_workers.",
							&lv_fold_workers, 2, 1, 16,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("lambda_views");
}
