/*
 * lambda_views.h
 *	  Shared declarations: GUCs, a view's catalog entry, and the entry
 *	  points of each layer.
 */
#ifndef LAMBDA_VIEWS_H
#define LAMBDA_VIEWS_H

#include "access/transam.h"
#include "nodes/pg_list.h"
#include "storage/lock.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

/*
 * Storage schemas: the views of the catalog's owner keep their storage in
 * LV_DATA_SCHEMA; every other owning role gets a schema of its own
 * (LV_DATA_SCHEMA "_" role name), which grants USAGE to that role alone.
 */
#define LV_DATA_SCHEMA "lambda_views_data"

/*
 * The version of the extension's SQL objects this library is built for:
 * default_version in lambda_views.control, which the Makefile passes.
 */
#ifndef LV_EXTENSION_VERSION
#error "LV_EXTENSION_VERSION is not defined: build with the Makefile, which takes it from lambda_views.control"
#endif

/* ground/settings.c: the configuration variables (ground) */
extern void lv_define_settings(void);
extern bool lv_realtime;
extern bool lv_quiet_scan;
extern int	lv_fold_chunk_rows;
extern bool lv_workers_enabled;
extern int	lv_naptime_ms;
extern int	lv_fold_backlog_rows;
extern int	lv_max_lag_ms;
extern int	lv_max_workers;
extern int	lv_fold_workers;

/* A lambda view as recorded in lambda_views.views (catalog.c). */
typedef struct LvView
{
	int32		view_id;
	char	   *view_schema;
	char	   *view_name;
	Oid			relid;			/* the relation users query */
	Oid			source;
	Oid			owner;
	char	   *append_key;
	Oid			key_sequence;
	List	   *settings;
	char	   *partial_sql;
	char	   *fold_sql;
	char	   *batch_sql;
	int64		speed_interval_ms;
	int64		batch_interval_ms;	/* 0 when none */
	bool		retired;		/* a version kept for rollback_view */
	char	   *data_schema;	/* the schema of its storage */
	Oid			speed_table;
	Oid			batch_table;
	Oid			gen_sequence;
	bool		distributed;	/* the source is a Citus distributed table */
} LvView;

/* the current watermarks of a view (lambda_views.view_state) */
typedef struct LvState
{
	int64		speed_watermark;
	int64		batch_watermark;
	int32		batch_gen;
	int64		speed_gen;
	int64		gen_start_watermark;
	FullTransactionId batch_swap_xid;	/* xid8 of the last batch swap */
	char	   *speed_holes;	/* keys <= speed_watermark not folded yet
								 * (an int8multirange's text) */
} LvState;

/*
 * run.c: how the extension runs SQL (ground).
 *
 * The extension's own locks are advisory lock tags with a fourth field no
 * SQL function uses, so no role can take them and stall a view's work.
 */
#define LV_LOCKTAG_FIELD4	0x4C56	/* "LV" */
#define LV_LOCK_RECOMPUTE	1		/* one recompute of a view at a time */
#define LV_LOCK_FOLD_GEN	2		/* a fold writing the current speed generation */
#define LV_LOCK_FOLDING		3		/* a folding worker at work on the view */
#define LV_LOCK_OWNER_STORAGE 4	/* a role's storage schema (by role oid) */
#define LV_LOCK_FOLD_COMMIT	5		/* Citus: a fold or batch swap committing against readers
									 * of the read mark (speed.c, serving.c) */
extern int	lv_spi_exec(const char *sql, bool read_only, long tcount);
extern int	lv_spi_exec_args(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls, bool read_only,
							 long tcount);
struct _SPI_plan;
extern bool lv_wants_sorted_groups(struct _SPI_plan *plan);
extern void lv_sort_groups(void);
extern int	lv_spi_exec_once(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls, bool read_only,
							 long tcount, Snapshot snapshot);
extern int64 lv_spi_exec_once_sum(const char *sql, int nargs, Oid *argtypes,
								  Datum *values, const char *nulls);
struct _DestReceiver;
extern int	lv_spi_exec_dest(const char *sql, struct _SPI_plan *plan, int nargs,
							 Oid *argtypes, Datum *values, const char *nulls,
							 struct _DestReceiver *dest);
extern struct _SPI_plan *lv_prepare_into(const char *sql, int nargs, Oid *argtypes,
										 Oid relid);
extern int64 lv_spi_exec_into(struct _SPI_plan *plan, const char *sql, int nargs,
							  Oid *argtypes, Datum *values, Oid relid,
							  int sum_att);
extern int	lv_spi_exec_kept(const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls, bool read_only,
							 long tcount);
extern int	lv_spi_exec_kept_snapshot(const char *sql, int nargs, Oid *argtypes,
									  Datum *values, const char *nulls, bool read_only,
									  long tcount, Snapshot snapshot);
extern Oid	lv_catalog_owner(void);
extern int	lv_pin_search_path(void);
extern int	lv_become_catalog_owner(Oid *saved_user, int *saved_sec);
extern int	lv_catalog_sql(const char *sql, int nargs, Oid *argtypes,
						   Datum *values, const char *nulls, bool read_only,
						   long tcount);
extern int	lv_pin_settings(List *settings);
extern void lv_unpin_settings(int nestlevel);
extern void lv_restore_user(Oid saved_user, int saved_sec, int nestlevel);
extern void lv_require_read_committed(const char *what);
extern void lv_view_locktag(LOCKTAG *tag, int32 view_id, int kind);
extern void lv_lock_view(int32 view_id, int kind, LOCKMODE mode);
extern bool lv_try_lock_view(int32 view_id, int kind, LOCKMODE mode);
extern bool lv_lock_relation_briefly(Oid relid, int timeout_ms);

/* ground/citus.c: Citus' metadata, when it is installed (ground) */
extern char *lv_citus_distribution(Oid relid, char *method);
extern bool lv_citus_distributed(Oid relid);
extern bool lv_citus_table(Oid relid);
extern void lv_citus_placements(Oid relid, bool *local, bool *remote);
extern void lv_citus_distribute(const char *table, const char *column, Oid colocate_with);
extern List *lv_citus_on_other_nodes(const char *sql);
extern int32 lv_citus_local_group(void);

/* the append keys of the Citus node of group g: (g << 48, (g + 1) << 48] */
#define LV_ORIGIN_BITS 48

/* ground/catalog.c: the views' catalog entries (ground) */
extern LvView *lv_view_by_name(const char *name, LOCKMODE lockmode);
extern LvView *lv_view_by_id(int32 view_id, bool missing_ok);
extern List *lv_all_view_ids(void);
extern LvState lv_lock_state(LvView *view);
extern char *lv_storage_name(LvView *view, const char *suffix);
extern const char *lv_storage_schema_column(void);
extern char *lv_owner_storage_schema(Oid role);
extern void lv_release_owner_storage(Oid role, const char *schema);
extern void lv_check_owner(LvView *view);
extern void lv_refuse_retired(LvView *view, const char *what);
extern int	lv_become_owner(LvView *view, Oid *saved_user, int *saved_sec);
extern void lv_record_error(int32 view_id, const char *message);
extern char *lv_extension_version(void);
extern void lv_require_current_catalog(const char *what);

/* A range of append keys lo <= key < hi: one part of a view's holes. */
typedef struct LvKeyRange
{
	int64		lo;
	int64		hi;
} LvKeyRange;
extern List *lv_parse_holes(const char *text);

/* layers/capture.c */
extern int64 lv_sequence_last_value(Oid seqrelid);
extern int64 lv_capture_high_water(LvView *view);

/* a high-water mark and the writers that held the source when it was read */
typedef struct LvCheckpoint
{
	int64		high_water;
	TimestampTz taken;			/* when high_water was read */
	int			nwriters;
	VirtualTransactionId writers[FLEXIBLE_ARRAY_MEMBER];
} LvCheckpoint;
extern int64 lv_capture_settled(LvView *view, List **checkpoints, MemoryContext cxt);
extern bool lv_capture_writing(LvView *view);
extern void lv_capture_wait_for_folds(Oid relid);

/* the head of one Citus node's range of append keys (capture.c) */
typedef struct LvOrigin
{
	int32		group;			/* the node's group id */
	int64		head;			/* the last key it handed out */
	bool		settled;		/* every key up to head is settled */
	char	   *writers;		/* its writers when head was read */
} LvOrigin;
extern List *lv_capture_origins(LvView *view, int wait_ms);
extern int64 lv_capture_around(List *checkpoints, int grace_ms);
extern void lv_wait_for_writers(Oid relid, bool with_partitions);
extern void lv_wait_for_lockers(const LOCKTAG *tag, LOCKMODE mode);
extern bool lv_view_high_water(int32 view_id, int64 *high_water);
extern bool lv_view_pending_rows(int32 view_id, int64 *pending);

/* layers/speed.c */
/*
 * The storage parameters of a speed table.  A fold rewrites the row of each
 * group it touches: room on its page for the new version (a HOT update),
 * and no pglz on every rewrite of a row past 2 kB (an hll state compresses
 * little, and compressing it cost 13 % of the folding workers' CPU under a
 * steady ingest).
 */
#define LV_SPEED_TABLE_OPTIONS "fillfactor = 50, toast_tuple_target = 8160"
extern char *lv_fold_sql(void *def, const char *speed_table);
extern void lv_speed_tally(int64 rows);
extern int64 lv_fold_view(LvView *view, int max_chunks, int64 max_keys,
						  const int64 *settled, int64 around, bool *more);
extern void lv_create_speed_table(void *def, const char *speed_table);

/* layers/batch.c */
extern char *lv_batch_sql(void *def, const char *next, Oid batch_table);
extern void lv_create_batch_table(void *def, const char *schema, const char *name);
extern int64 lv_recompute_view(LvView *view);
extern void lv_drop_old_batches(LvView *view, int32 batch_gen,
								FullTransactionId swap_xid, int wait_ms);
extern void lv_drop_retired_batches(LvView *view, int wait_ms);

/* layers/serving.c */
struct Tuplestorestate;
struct TupleDescData;
/* the groups a tail is asked for: key keyno[i] (1-based) equals values[i] */
typedef struct LvTailFilter
{
	int			n;
	int		   *keyno;
	Datum	   *values;
	Oid		   *types;
	bool		any_null;		/* a value is NULL: no group matches */
} LvTailFilter;
extern void lv_serve_tail(int32 view_id, struct Tuplestorestate *store,
						  struct TupleDescData *expected,
						  const LvTailFilter *filter);
extern void lv_serve_mark(int32 view_id, struct Tuplestorestate *store,
						  struct TupleDescData *desc);
extern char *lv_view_sql(void *def, int32 view_id, Oid batch_table,
						 const char *batch_name, const char *speed_name);
extern char *lv_touched_sql(void *def, int32 view_id, Oid batch_table,
							const char *batch_name, const char *speed_name,
							const char *tail_filter);

/* layers/quiet.c */
extern void lv_quiet_register(bool preloaded);
extern void lv_quiet_enter_utility(void);
extern void lv_quiet_leave_utility(void);

/* layers/guard.c */
struct TriggerData;
extern void lv_guard_source(Oid source);
extern void lv_unguard_source(Oid source);
extern void lv_guard_utility(Node *stmt);
extern void lv_guard_allow_purge(Oid source);
extern void lv_forget_view(const char *schema, const char *name);
extern Datum lv_guard_modification(struct TriggerData *trigdata);
extern void lv_guard_forget_dropped(void);
extern bool lv_internal_ddl;

/* worker.c (entry point) */
extern void lv_register_launcher(void);
extern void lv_note_tail_read(void);

#endif							/* LAMBDA_VIEWS_H */
