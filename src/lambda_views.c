/*-------------------------------------------------------------------------
 *
 * src/lambda_views.c  (level: entry point)
 *	  Module entry: GUCs and, when preloaded, the shared state, the utility
 *	  hook and the background workers.  Without shared_preload_libraries
 *	  everything but the workers works.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "lambda_views.h"
#include "shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_process_utility_hook = NULL;
static ExecutorStart_hook_type prev_executor_start_hook = NULL;

/*
 * lv_executor_start lets an INSERT into the source of a view that has
 * fallen behind wait for the folds first (lambda_views.max_lag, capture.c):
 * an INSERT, a MERGE, or a statement with a data-modifying WITH, whose
 * result relations are all listed in the plan.  Installed only when
 * preloaded: the workers' progress is in shared memory.
 */
static void
lv_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (lv_max_lag_ms > 0 &&
		(queryDesc->operation == CMD_INSERT || queryDesc->operation == CMD_MERGE ||
		 queryDesc->plannedstmt->hasModifyingCTE) &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		ListCell   *lc;

		foreach(lc, queryDesc->plannedstmt->resultRelations)
			lv_capture_wait_for_folds(rt_fetch(lfirst_int(lc),
											   queryDesc->plannedstmt->rtable)->relid);
	}
	if (prev_executor_start_hook)
		prev_executor_start_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
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
			lv_set_db_status(dbid, LV_DB_DROPPING);
			lv_signal_db_workers(dbid, SIGTERM);
			for (waited = 0; waited < 10000 && lv_db_worker_pid(dbid) != 0; waited += 10)
			{
				CHECK_FOR_INTERRUPTS();
				pg_usleep(10000L);
			}
		}
	}
	lv_guard_utility(pstmt->utilityStmt);
	/* COPY into a source waits as an INSERT does (lambda_views.max_lag) */
	if (lv_max_lag_ms > 0 && IsA(pstmt->utilityStmt, CopyStmt) &&
		((CopyStmt *) pstmt->utilityStmt)->is_from &&
		((CopyStmt *) pstmt->utilityStmt)->relation != NULL)
		lv_capture_wait_for_folds(RangeVarGetRelid(((CopyStmt *) pstmt->utilityStmt)->relation,
												   NoLock, true));
	/* queries analyzed inside a command keep their lambda views (quiet.c) */
	lv_quiet_enter_utility();
	PG_TRY();
	{
		if (prev_process_utility_hook)
			prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
									  params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		lv_quiet_leave_utility();
	}
	PG_END_TRY();
}


/*
 * _PG_init defines the GUCs; when preloaded (shared_preload_libraries) it
 * also defines lambda_views.max_workers and registers the launcher and the
 * shared-memory and utility hooks.
 */
void
_PG_init(void)
{
	lv_define_settings();
	lv_quiet_register(process_shared_preload_libraries_in_progress);
	if (!process_shared_preload_libraries_in_progress)
		return;

	lv_shmem_register();
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = lv_process_utility;
	prev_executor_start_hook = ExecutorStart_hook;
	ExecutorStart_hook = lv_executor_start;
	lv_register_launcher();
}
