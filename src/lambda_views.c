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

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "lambda_views.h"
#include "shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_process_utility_hook = NULL;

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
	lv_register_launcher();
}
