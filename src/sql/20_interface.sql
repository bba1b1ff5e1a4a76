----------------------------------------------------------------------------
-- The SQL interface.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.create_view(
    name text,
    query text,
    append_key name DEFAULT NULL,
    speed_interval interval DEFAULT '1 second',
    batch_interval interval DEFAULT NULL,
    initial_batch bool DEFAULT true,
    owner_role regrole DEFAULT NULL,
    description text DEFAULT NULL,
    freshness_sla interval DEFAULT NULL,
    completeness_sla numeric DEFAULT NULL,
    tags text[] DEFAULT NULL)
RETURNS regclass AS 'MODULE_PATHNAME', 'lv_create_view' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.create_view(text, text, name, interval, interval, bool, regrole, text, interval, numeric, text[]) IS
  'create a lambda view: a relation that merges a batch table, a speed table and the real-time tail, all derived from one GROUP BY query';

CREATE FUNCTION lambda_views.fold(name text)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_fold' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.fold(text) IS
  'speed layer: fold every committed source row beyond the speed watermark into the speed table; returns the number of source rows folded';

CREATE FUNCTION lambda_views.recompute(name text)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_recompute' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.recompute(text) IS
  'batch layer: rebuild the batch table from all source rows up to the speed watermark and swap it in; returns the number of source rows read';

CREATE FUNCTION lambda_views.alter_view(
    name text,
    query text,
    rows_per_second int DEFAULT NULL,
    keep_old interval DEFAULT NULL)
RETURNS regclass AS 'MODULE_PATHNAME', 'lv_alter_view' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.alter_view(text, text, int, interval) IS
  'Kappa reprocessing: build a new version of the view from the first source row (throttled to rows_per_second if given) while the current one serves, then switch when it has caught up; the old version is kept for keep_old (default 1 day) for rollback_view. Returns the relation of the new version while it replays';

CREATE FUNCTION lambda_views.rollback_view(name text)
RETURNS int AS 'MODULE_PATHNAME', 'lv_rollback_view' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.rollback_view(text) IS
  'serve the most recently retired version of the view again (folded up to the head); returns the version number that was serving';

CREATE FUNCTION lambda_views.drop_view(name text)
RETURNS void AS 'MODULE_PATHNAME', 'lv_drop_view' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.drop_view(text) IS
  'drop a lambda view with its batch and speed storage';

CREATE FUNCTION lambda_views.tail(view_id int, source regclass)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'lv_tail' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION lambda_views.tail(int, regclass) IS
  'serving layer: partial states of the committed source rows beyond the speed watermark, in the caller''s snapshot (empty when lambda_views.realtime is off)';

CREATE FUNCTION lambda_views.worker_pid(view_id int)
RETURNS int AS 'MODULE_PATHNAME', 'lv_worker_pid' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.worker_pid(int) IS
  'pid of the background worker that folds this view''s database, or NULL when none runs';

CREATE FUNCTION lambda_views.wake_launcher()
RETURNS bool AS 'MODULE_PATHNAME', 'lv_wake_launcher' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.wake_launcher() IS
  'asks the launcher to start a background worker for this database; false when the library is not preloaded';

CREATE FUNCTION lambda_views.pending_rows(view_id int)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_pending_rows' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION lambda_views.pending_rows(int) IS
  'committed source rows beyond the speed watermark, counted as the view''s owner (NULL if the caller may not read the view)';

CREATE FUNCTION lambda_views.high_water_mark(view_id int)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_high_water_mark' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.high_water_mark(int) IS
  'the last append key handed out by the source''s sequence';

