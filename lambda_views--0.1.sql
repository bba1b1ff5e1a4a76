-- lambda_views 0.1: the Lambda Architecture inside PostgreSQL.
\echo Use "CREATE EXTENSION lambda_views" to load this file. \quit

-- Per-view storage (batch partitions, speed tables, generation sequences)
-- lives in lambda_views_data, owned by each view's owner.
CREATE SCHEMA lambda_views_data;
GRANT USAGE, CREATE ON SCHEMA lambda_views_data TO PUBLIC;
GRANT USAGE ON SCHEMA lambda_views TO PUBLIC;

-- One row per lambda view: its definition as SQL text (schema-qualified, so
-- pg_dump and pg_upgrade keep it) and the SQL derived from it.
CREATE TABLE lambda_views.views (
    view_id         serial PRIMARY KEY,
    view_schema     name NOT NULL,
    view_name       name NOT NULL,
    source          regclass NOT NULL,
    append_key      name NOT NULL,
    key_sequence    regclass NOT NULL,
    definition      text NOT NULL,
    settings        text[] NOT NULL,
    speed_interval  interval NOT NULL,
    batch_interval  interval,
    owner           regrole NOT NULL DEFAULT current_user::regrole,
    partial_sql     text NOT NULL,
    fold_sql        text NOT NULL,
    batch_sql       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (view_schema, view_name)
);
CREATE INDEX ON lambda_views.views (source);
COMMENT ON TABLE lambda_views.views IS
  'lambda views: definition (schema-qualified SQL), pinned settings and the SQL derived from it';

-- Watermarks and generations; updated by every fold and recompute.
CREATE TABLE lambda_views.view_state (
    view_id          int PRIMARY KEY REFERENCES lambda_views.views ON DELETE CASCADE,
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    speed_watermark  bigint NOT NULL,
    batch_watermark  bigint NOT NULL,
    batch_gen        int NOT NULL,
    batch_swap_xid   xid8,
    speed_gen        bigint NOT NULL,
    gen_start_watermark bigint NOT NULL,
    last_fold_at     timestamptz,
    last_fold_ms     float8,
    rows_folded      bigint NOT NULL DEFAULT 0,
    last_recompute_at timestamptz,
    last_recompute_ms float8,
    rows_recomputed  bigint NOT NULL DEFAULT 0,
    last_error       text,
    last_error_at    timestamptz
);
COMMENT ON TABLE lambda_views.view_state IS
  'lambda views: speed and batch watermarks, batch generation, last fold and recompute';

SELECT pg_catalog.pg_extension_config_dump('lambda_views.views', '');
SELECT pg_catalog.pg_extension_config_dump('lambda_views.views_view_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lambda_views.view_state', '');

-- Everyone may read the metadata (views read their watermarks from it);
-- only a view's owner (or a member of the owning role) may change its rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON lambda_views.views, lambda_views.view_state TO PUBLIC;
GRANT USAGE ON SEQUENCE lambda_views.views_view_id_seq TO PUBLIC;
ALTER TABLE lambda_views.views ENABLE ROW LEVEL SECURITY;
ALTER TABLE lambda_views.view_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON lambda_views.views FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.views FOR ALL
    USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY read_all ON lambda_views.view_state FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.view_state FOR ALL
    USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));

----------------------------------------------------------------------------
-- Partial aggregation: any aggregate with a combine function, driven through
-- its own transition / combine / serialize / deserialize / final functions.
-- States are stored as bytea; the aggregate is named by a regprocedure
-- constant so stored SQL survives pg_dump and pg_upgrade.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.partial_trans(internal, regprocedure, VARIADIC "any")
RETURNS internal AS 'MODULE_PATHNAME', 'lv_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.partial_trans(internal, regprocedure)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_partial_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_final(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_state_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_state_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_state_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any") (
    SFUNC = lambda_views.partial_trans, STYPE = internal,
    FINALFUNC = lambda_views.state_final,
    COMBINEFUNC = lambda_views.state_combine,
    SERIALFUNC = lambda_views.state_serialize,
    DESERIALFUNC = lambda_views.state_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE lambda_views.partial(regprocedure) (
    SFUNC = lambda_views.partial_trans, STYPE = internal,
    FINALFUNC = lambda_views.state_final,
    COMBINEFUNC = lambda_views.state_combine,
    SERIALFUNC = lambda_views.state_serialize,
    DESERIALFUNC = lambda_views.state_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any") IS
  'partial aggregation: the serialized transition state of the named aggregate over its arguments';
COMMENT ON AGGREGATE lambda_views.partial(regprocedure) IS
  'partial aggregation of a zero-argument aggregate such as count(*)';

-- merge(agg, state, final, from_batch, witness): combine stored states and
-- finalize.  A lone batch row returns its stored final value untouched.
CREATE FUNCTION lambda_views.merge_trans(internal, regprocedure, bytea, anyelement, bool)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_merge_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.merge_final(internal, regprocedure, bytea, anyelement, bool)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_merge_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE lambda_views.merge(regprocedure, bytea, anyelement, bool) (
    SFUNC = lambda_views.merge_trans, STYPE = internal,
    FINALFUNC = lambda_views.merge_final, FINALFUNC_EXTRA,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE lambda_views.merge(regprocedure, bytea, anyelement, bool) IS
  'serving layer: combine stored partial states of the named aggregate and return its final value';

-- finalize(agg, state, witness): the final value of one stored state.
CREATE FUNCTION lambda_views.finalize(regprocedure, bytea, anyelement)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_finalize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.finalize(regprocedure, bytea, anyelement) IS
  'the final value of one stored partial state; the third argument gives the result type and collation';

-- combine_states(agg, a, b, witness): one state from two (the speed upsert).
CREATE FUNCTION lambda_views.combine_states(regprocedure, bytea, bytea, "any")
RETURNS bytea AS 'MODULE_PATHNAME', 'lv_combine_states' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.combine_states(regprocedure, bytea, bytea, "any") IS
  'combine two stored partial states of the named aggregate; the last argument carries the collation';

----------------------------------------------------------------------------
-- The SQL interface.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.create_view(
    name text,
    query text,
    append_key name DEFAULT NULL,
    speed_interval interval DEFAULT '1 second',
    batch_interval interval DEFAULT NULL,
    initial_batch bool DEFAULT true)
RETURNS regclass AS 'MODULE_PATHNAME', 'lv_create_view' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.create_view(text, text, name, interval, interval, bool) IS
  'create a lambda view: a relation that merges a batch table, a speed table and the real-time tail, all derived from one GROUP BY query';

CREATE FUNCTION lambda_views.fold(name text)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_fold' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.fold(text) IS
  'speed layer: fold every committed source row beyond the speed watermark into the speed table; returns the number of source rows folded';

CREATE FUNCTION lambda_views.recompute(name text)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_recompute' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.recompute(text) IS
  'batch layer: rebuild the batch table from all source rows up to the speed watermark and swap it in; returns the number of source rows read';

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

----------------------------------------------------------------------------
-- Immutable source and drop handling.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.refuse_modification()
RETURNS trigger AS 'MODULE_PATHNAME', 'lv_refuse_modification' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.refuse_modification() IS
  'trigger: refuses UPDATE, DELETE and TRUNCATE on the source of a lambda view';

CREATE FUNCTION lambda_views.on_sql_drop()
RETURNS event_trigger AS 'MODULE_PATHNAME', 'lv_on_sql_drop' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.on_sql_drop() IS
  'event trigger: forgets a lambda view whose relation was dropped and drops its storage';
CREATE EVENT TRIGGER lambda_views_sql_drop ON sql_drop
    EXECUTE FUNCTION lambda_views.on_sql_drop();

----------------------------------------------------------------------------
-- status: one row per view.
----------------------------------------------------------------------------
CREATE VIEW lambda_views.status AS
SELECT v.view_id,
       pg_catalog.format('%I.%I', v.view_schema, v.view_name) AS view,
       v.source,
       v.owner,
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
       s.last_error_at
  FROM lambda_views.views v
  JOIN lambda_views.view_state s USING (view_id)
  CROSS JOIN LATERAL (SELECT lambda_views.high_water_mark(v.view_id) AS high_water_mark) h
  CROSS JOIN LATERAL (SELECT lambda_views.pending_rows(v.view_id) AS pending_rows) p
  CROSS JOIN LATERAL (SELECT lambda_views.worker_pid(v.view_id) AS worker_pid) w;
GRANT SELECT ON lambda_views.status TO PUBLIC;
COMMENT ON VIEW lambda_views.status IS
  'one row per lambda view: watermarks, backlog, last fold and recompute, worker, last error';

-- Start folding this database now (a no-op without shared_preload_libraries).
SELECT lambda_views.wake_launcher();
