-- lambda_views 1.1 -> 1.2: storage per owning role.
--
-- In 1.1 the owners of lambda views shared USAGE on lambda_views_data, so
-- one owner could name another owner's storage: hold its lock with a
-- prepared statement in an open transaction, or make a table with a column
-- of its row type, and delay that owner's drop_view or recompute.  From
-- 1.2 the views of the extension's owner keep their storage in
-- lambda_views_data, which grants nothing to anyone else; every other
-- owning role gets a schema of its own (lambda_views_data_<role>, created
-- and dropped by the extension), owned by the extension's owner, that
-- grants USAGE to that role alone.

\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.2'" to load this file. \quit

ALTER TABLE lambda_views.views
    ADD COLUMN storage_schema name NOT NULL DEFAULT 'lambda_views_data';
COMMENT ON COLUMN lambda_views.views.storage_schema IS
  'the schema of the view''s storage (speed table, batch table and partitions, generation sequence): lambda_views_data for the views of the extension''s owner, else a schema of the owning role''s own that grants USAGE to that role alone';

----------------------------------------------------------------------------
-- Folds around open writers: the keys up to the speed watermark that a
-- fold could not see yet (rows of transactions still open when it ran) are
-- its holes; they are folded once their rows are visible (src/layers/
-- speed.c), and the batch leaves out the holes of the generations it
-- covers.
----------------------------------------------------------------------------
ALTER TABLE lambda_views.view_state
    ADD COLUMN speed_holes int8multirange NOT NULL DEFAULT '{}',
    ADD COLUMN gen_start_holes int8multirange NOT NULL DEFAULT '{}';
COMMENT ON COLUMN lambda_views.view_state.speed_holes IS
  'append keys up to speed_watermark not folded yet: they were drawn by transactions still open when a fold ran past them; folded once their rows are visible, forgotten once their writers have ended';
COMMENT ON COLUMN lambda_views.view_state.gen_start_holes IS
  'speed_holes when the current speed generation started (with gen_start_watermark: what a recompute closing it leaves out)';
-- like the watermarks, no secret
GRANT SELECT (speed_holes, gen_start_holes) ON lambda_views.view_state TO PUBLIC;

-- status: speed_watermark is how far every row is folded (below the first
-- hole); holes lists the keys beyond it not folded yet.  Replaced in place
-- (the same columns, one more at the end), so views built on it stay.
CREATE OR REPLACE VIEW lambda_views.status WITH (security_barrier) AS
SELECT v.view_id,
       pg_catalog.format('%I.%I', v.view_schema, v.view_name) AS view,
       v.source,
       v.owner,
       v.version,
       v.role,
       v.family,
       h.high_water_mark,
       CASE WHEN pg_catalog.isempty(s.speed_holes) THEN s.speed_watermark
            ELSE pg_catalog.lower(s.speed_holes) - 1 END AS speed_watermark,
       s.batch_watermark,
       s.batch_gen,
       GREATEST(h.high_water_mark - CASE WHEN pg_catalog.isempty(s.speed_holes) THEN s.speed_watermark
                                         ELSE pg_catalog.lower(s.speed_holes) - 1 END, 0) AS pending_keys,
       p.pending_rows,
       CASE WHEN p.pending_rows = 0 THEN interval '0'
            ELSE pg_catalog.clock_timestamp() - COALESCE(s.last_fold_at, v.created_at)
       END AS freshness,
       v.speed_interval,
       v.batch_interval,
       s.last_fold_at,
       s.last_fold_ms,
       s.rows_folded,
       s.last_recompute_at,
       s.last_recompute_ms,
       s.rows_recomputed,
       w.worker_pid,
       CASE WHEN w.worker_pid IS NULL THEN 'no worker running'
            WHEN s.last_error_at > COALESCE(GREATEST(s.last_fold_at, s.last_recompute_at), '-infinity')
            THEN 'retrying after error'
            ELSE 'running' END AS worker_state,
       CASE WHEN pg_catalog.pg_has_role(v.owner, 'USAGE') THEN s.last_error
            WHEN s.last_error IS NOT NULL THEN 'error (shown to the view''s owner only)' END AS last_error,
       s.last_error_at,
       CASE WHEN v.role = 'replaying' THEN s.speed_watermark END AS replay_keys_done,
       CASE WHEN v.role = 'replaying' THEN GREATEST(v.replay_total, s.speed_watermark) END AS replay_keys_total,
       CASE WHEN v.role = 'replaying' AND pg_catalog.clock_timestamp() > v.replay_started_at
            THEN s.rows_folded / extract(epoch FROM pg_catalog.clock_timestamp() - v.replay_started_at) END AS replay_rows_per_second,
       CASE WHEN v.role = 'replaying' AND s.speed_watermark > 0
            THEN (pg_catalog.clock_timestamp() - v.replay_started_at)
                 * (GREATEST(h.high_water_mark - s.speed_watermark, 0)::float8 / s.speed_watermark) END AS replay_eta,
       v.retired_at + v.keep_old AS kept_until,
       s.speed_holes AS holes
  FROM lambda_views.views v
  JOIN lambda_views.view_state s USING (view_id)
  CROSS JOIN LATERAL (SELECT lambda_views.high_water_mark(v.view_id) AS high_water_mark) h
  CROSS JOIN LATERAL (SELECT lambda_views.pending_rows(v.view_id) AS pending_rows) p
  CROSS JOIN LATERAL (SELECT lambda_views.worker_pid(v.view_id) AS worker_pid) w
 WHERE lambda_views.may_read(v.view_schema, v.view_name)
    OR pg_catalog.pg_has_role(v.owner, 'USAGE');

----------------------------------------------------------------------------
-- Existing views: move the storage of every owner but the extension's into
-- the owner's schema, regenerate the SQL that names it and take back the
-- owner's USAGE on lambda_views_data.  The schemas, tables and grants are
-- the users' objects, not the extension's: the C function makes them
-- outside this script (src/operations/upgrade.c), so that they are no
-- members of the extension and pg_dump keeps them.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.upgrade_1_2_move(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_2_move' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_2_move(int) FROM PUBLIC;

SELECT lambda_views.upgrade_1_2_move(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_2_move(int);
ALTER TABLE lambda_views.views ALTER COLUMN storage_schema DROP DEFAULT;

COMMENT ON SCHEMA lambda_views_data IS
  'storage of the lambda views of the extension''s owner; other roles'' views keep theirs in a schema of their own (lambda_views.views.storage_schema)';
