----------------------------------------------------------------------------
-- status: one row per view.
----------------------------------------------------------------------------
CREATE VIEW lambda_views.status AS
SELECT v.view_id,
       pg_catalog.format('%I.%I', v.view_schema, v.view_name) AS view,
       v.source,
       v.owner,
       v.version,
       v.role,
       v.family,
       h.high_water_mark,
       s.speed_watermark,
       s.batch_watermark,
       s.batch_gen,
       GREATEST(h.high_water_mark - s.speed_watermark, 0) AS pending_keys,
       p.pending_rows,
       -- every unfolded row committed after the last fold began, so this
       -- bounds the age of the oldest one from above
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
       s.last_error,
       s.last_error_at,
       -- replay progress of a version that alter_view builds
       CASE WHEN v.role = 'replaying' THEN s.speed_watermark END AS replay_keys_done,
       CASE WHEN v.role = 'replaying' THEN GREATEST(v.replay_total, s.speed_watermark) END AS replay_keys_total,
       CASE WHEN v.role = 'replaying' AND pg_catalog.clock_timestamp() > v.replay_started_at
            THEN s.rows_folded / extract(epoch FROM pg_catalog.clock_timestamp() - v.replay_started_at) END AS replay_rows_per_second,
       CASE WHEN v.role = 'replaying' AND s.speed_watermark > 0
            THEN (pg_catalog.clock_timestamp() - v.replay_started_at)
                 * (GREATEST(h.high_water_mark - s.speed_watermark, 0)::float8 / s.speed_watermark) END AS replay_eta,
       v.retired_at + v.keep_old AS kept_until
  FROM lambda_views.views v
  JOIN lambda_views.view_state s USING (view_id)
  CROSS JOIN LATERAL (SELECT lambda_views.high_water_mark(v.view_id) AS high_water_mark) h
  CROSS JOIN LATERAL (SELECT lambda_views.pending_rows(v.view_id) AS pending_rows) p
  CROSS JOIN LATERAL (SELECT lambda_views.worker_pid(v.view_id) AS worker_pid) w;
GRANT SELECT ON lambda_views.status TO PUBLIC;
COMMENT ON VIEW lambda_views.status IS
  'one row per lambda view: watermarks, backlog, last fold and recompute, worker, last error';

