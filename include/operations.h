/*
 * operations.h
 *	  Operations: what the SQL entry points (api.c) and the worker run,
 *	  built on the layers.  create.c creates and drops views, version.c
 *	  keeps their versions (alter_view, replays, rollback), products.c their
 *	  data-product metadata, checks and purges.
 */
#ifndef LV_OPERATIONS_H
#define LV_OPERATIONS_H

#include "datatype/timestamp.h"
#include "definition.h"
#include "lambda_views.h"

/* operations/create.c */
extern int32 lv_create_version(LvDefinition *def, Oid nspid, const char *relname,
							   Datum speed_interval, Datum batch_interval,
							   bool no_batch_interval, bool initial_batch);
extern Oid	lv_create_view_op(const char *name, const char *query,
							  const char *append_key, Interval *speed_interval,
							  Interval *batch_interval, bool initial_batch,
							  const Datum *product, const bool *product_null);

/* operations/products.c */
extern void lv_run_check(int32 view_id, const char *sql, const char *path,
						 bool execute, int64 *failing_rows, char **first_row);
extern void lv_completeness_of(int32 view_id, int64 *counts);
extern void lv_sync_product_comments(int32 view_id);
extern int64 lv_purge_source(Oid source, Datum before, const char *column);
extern void lv_store_product_op(const Datum *args, const bool *argnulls);
extern void lv_store_check_op(int32 view_id, text *check_name, text *sql,
							  text *search_path);
extern bool lv_delete_check_op(int32 view_id, text *check_name);
extern void lv_record_check_op(int32 view_id, text *check_name,
							   const bool *result, text *detail);

/* operations/upgrade.c */
extern void lv_upgrade_1_1_detach_view(int32 view_id);
extern void lv_upgrade_1_1_attach_view(int32 view_id);
extern struct varlena *lv_upgrade_1_1_wrap_state(bytea *old, Oid aggfnoid);
extern void lv_upgrade_1_2_move_view(int32 view_id);
extern void lv_upgrade_1_4_route_view(int32 view_id);
extern void lv_upgrade_1_6_relation_view(int32 view_id);
extern void lv_upgrade_1_7_speed_view(int32 view_id);

/* operations/version.c */
extern Oid	lv_alter_view_op(const char *name, const char *query,
							 const int32 *rows_per_second, const Interval *keep_old);
extern int32 lv_rollback_view_op(const char *name);
extern void lv_advance_versions(LvView *view);
extern int64 lv_replay_keys(LvView *view);
extern void lv_lock_serving_first(LvView *view);
extern bool lv_finish_replay(LvView *replay);
extern void lv_drop_expired_versions(void);
extern void lv_drop_view_op(LvView *view);


#endif							/* LV_OPERATIONS_H */
