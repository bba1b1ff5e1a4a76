-- lambda_views 1.0 (released; never edited: changes ship as upgrade scripts): the Lambda Architecture inside PostgreSQL.
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
    -- versions (alter_view): every version of one view shares its family;
    -- one serves under the view's name, at most one replays the source
    -- from the first row, older ones are retired and kept for rollback.
    family          int,
    version         int NOT NULL DEFAULT 1,
    role            text NOT NULL DEFAULT 'serving'
                    CHECK (role IN ('serving', 'replaying', 'retired')),
    replay_rows_per_second int CHECK (replay_rows_per_second > 0),
    replay_total    bigint,
    replay_started_at timestamptz,
    keep_old        interval NOT NULL DEFAULT '1 day',
    retired_at      timestamptz,
    UNIQUE (view_schema, view_name)
);
CREATE INDEX ON lambda_views.views (family);
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
-- SSPACE is the size of the wrapper's own state: without it the planner
-- assumes 8 kB per group for an internal state, and a hash aggregate spills
-- to disk after about a thousand groups at the default work_mem.
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
    SSPACE = 64, PARALLEL = SAFE);
CREATE AGGREGATE lambda_views.partial(regprocedure) (
    SFUNC = lambda_views.partial_trans, STYPE = internal,
    FINALFUNC = lambda_views.state_final,
    COMBINEFUNC = lambda_views.state_combine,
    SERIALFUNC = lambda_views.state_serialize,
    DESERIALFUNC = lambda_views.state_deserialize,
    SSPACE = 64, PARALLEL = SAFE);
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
    SSPACE = 128, PARALLEL = SAFE);
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

----------------------------------------------------------------------------
-- Data products: owner, description, SLAs and tags of each view; quality
-- checks; the catalog; governance policies; the governed purge.
----------------------------------------------------------------------------
CREATE TABLE lambda_views.products (
    view_id          int PRIMARY KEY REFERENCES lambda_views.views ON DELETE CASCADE,
    owner_role       regrole,
    description      text,
    freshness_sla    interval,
    completeness_sla numeric,
    tags             text[] NOT NULL DEFAULT '{}',
    -- {"column": "comment"}: kept in sync with COMMENT ON COLUMN of the relation
    column_comments  jsonb NOT NULL DEFAULT '{}',
    -- how often run_due_checks() checks this product; NULL: only by hand
    check_interval   interval
);
COMMENT ON TABLE lambda_views.products IS
  'data products: accountable owner role, description, freshness and completeness SLAs, tags, column comments and check schedule of each lambda view';
SELECT pg_catalog.pg_extension_config_dump('lambda_views.products', '');
GRANT SELECT, INSERT, UPDATE, DELETE ON lambda_views.products TO PUBLIC;
ALTER TABLE lambda_views.products ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON lambda_views.products FOR SELECT USING (true);
-- the view's owner writes; so does a member of the product's owner role
CREATE POLICY owner_writes ON lambda_views.products FOR ALL
    USING (EXISTS (SELECT 1 FROM lambda_views.views v
                    WHERE v.view_id = products.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER'))
           OR (owner_role IS NOT NULL AND pg_catalog.pg_has_role(owner_role, 'MEMBER')))
    WITH CHECK (EXISTS (SELECT 1 FROM lambda_views.views v
                         WHERE v.view_id = products.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER'))
                OR (owner_role IS NOT NULL AND pg_catalog.pg_has_role(owner_role, 'MEMBER')));

-- User-defined quality checks: a query that returns no rows when all is well.
CREATE TABLE lambda_views.checks (
    view_id     int NOT NULL REFERENCES lambda_views.products ON UPDATE CASCADE ON DELETE CASCADE,
    check_name  text NOT NULL,
    sql         text NOT NULL,
    -- the search_path add_check was called under: the query runs under it
    search_path text NOT NULL DEFAULT '',
    created_by  regrole NOT NULL DEFAULT current_user::regrole,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (view_id, check_name)
);
COMMENT ON TABLE lambda_views.checks IS
  'user-defined quality checks of data products: a query run as the view''s owner that must return no rows';

-- The last result of every check of every product (built-in checks are
-- named completeness and freshness).
CREATE TABLE lambda_views.check_results (
    view_id     int NOT NULL REFERENCES lambda_views.products ON UPDATE CASCADE ON DELETE CASCADE,
    check_name  text NOT NULL,
    passed      bool NOT NULL,
    detail      text,
    checked_at  timestamptz NOT NULL,
    PRIMARY KEY (view_id, check_name)
);
COMMENT ON TABLE lambda_views.check_results IS
  'the last result of each quality check of each data product';

SELECT pg_catalog.pg_extension_config_dump('lambda_views.checks', '');
SELECT pg_catalog.pg_extension_config_dump('lambda_views.check_results', '');
GRANT SELECT, INSERT, UPDATE, DELETE ON lambda_views.checks, lambda_views.check_results TO PUBLIC;
ALTER TABLE lambda_views.checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lambda_views.check_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON lambda_views.checks FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.checks FOR ALL
    USING (EXISTS (SELECT 1 FROM lambda_views.views v
                    WHERE v.view_id = checks.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')))
    WITH CHECK (EXISTS (SELECT 1 FROM lambda_views.views v
                         WHERE v.view_id = checks.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')));
CREATE POLICY read_all ON lambda_views.check_results FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.check_results FOR ALL
    USING (EXISTS (SELECT 1 FROM lambda_views.views v
                    WHERE v.view_id = check_results.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')))
    WITH CHECK (EXISTS (SELECT 1 FROM lambda_views.views v
                         WHERE v.view_id = check_results.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')));

-- Governance policies, enforced by create_view and set_product.  Only the
-- table's owner (the extension's owner) and superusers write it.
CREATE TABLE lambda_views.policies (
    policy_name           text PRIMARY KEY,
    applies_to_schema     name,             -- NULL: every schema
    require_owner         bool NOT NULL DEFAULT false,
    require_description   bool NOT NULL DEFAULT false,
    require_freshness_sla bool NOT NULL DEFAULT false,
    max_freshness_sla     interval
);
COMMENT ON TABLE lambda_views.policies IS
  'governance policies every data product must satisfy (per schema, or everywhere when applies_to_schema is NULL); written only by the extension''s owner';
SELECT pg_catalog.pg_extension_config_dump('lambda_views.policies', '');
GRANT SELECT ON lambda_views.policies TO PUBLIC;

----------------------------------------------------------------------------
-- Internal helpers, in C (src/products.c): what must act as the view's or
-- the source's owner.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.product_view_id(name text)
RETURNS int AS 'MODULE_PATHNAME', 'lv_product_view_id' LANGUAGE C STABLE;
COMMENT ON FUNCTION lambda_views.product_view_id(text) IS
  'internal: the id of the lambda view of that name (an error if there is none)';

CREATE FUNCTION lambda_views.run_check_sql(view_id int, sql text, search_path text, execute bool,
                                           OUT failing_rows bigint, OUT first_row text)
AS 'MODULE_PATHNAME', 'lv_run_check_sql' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.run_check_sql(int, text, text, bool) IS
  'internal: runs (or with execute false only plans) a check query as the view''s owner under the given search_path; the number of rows it returns and the first one as JSON';

CREATE FUNCTION lambda_views.completeness(view_id int, OUT speed_watermark bigint,
                                          OUT source_rows bigint, OUT covered_rows bigint)
AS 'MODULE_PATHNAME', 'lv_completeness' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.completeness(int) IS
  'internal: in one snapshot, the source rows up to the speed watermark (that pass the view''s filter) and the rows the batch and speed tables cover';

CREATE FUNCTION lambda_views.sync_comments(view_id int)
RETURNS void AS 'MODULE_PATHNAME', 'lv_sync_comments' LANGUAGE C STRICT;
COMMENT ON FUNCTION lambda_views.sync_comments(int) IS
  'internal: sets COMMENT ON VIEW and COMMENT ON COLUMN of a lambda view from its product metadata, as the view''s owner';

----------------------------------------------------------------------------
-- Governance.
----------------------------------------------------------------------------
-- enforce_policies refuses product metadata that breaks a policy for the
-- view's schema; via names the function the caller should pass it to.
CREATE FUNCTION lambda_views.enforce_policies(view_id int, owner_role regrole, description text,
                                              freshness_sla interval, via text)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v record;
    p record;
    target text;
    scope text;
BEGIN
    SELECT view_schema, view_name INTO v FROM lambda_views.views WHERE views.view_id = enforce_policies.view_id;
    target := format('%I.%I', v.view_schema, v.view_name);
    FOR p IN SELECT * FROM lambda_views.policies pol
              WHERE pol.applies_to_schema IS NULL OR pol.applies_to_schema = v.view_schema
              ORDER BY pol.policy_name
    LOOP
        scope := CASE WHEN p.applies_to_schema IS NULL THEN ''
                      ELSE format(' in schema %I', p.applies_to_schema) END;
        IF p.require_owner AND owner_role IS NULL THEN
            RAISE EXCEPTION 'lambda view % has no owner_role', target
                USING ERRCODE = 'check_violation',
                      DETAIL = format('Governance policy "%s" requires every data product%s to name the role accountable for it.',
                                      p.policy_name, scope),
                      HINT = format('Pass owner_role => ''some_role'' to %s.', via);
        END IF;
        IF p.require_description AND coalesce(btrim(description), '') = '' THEN
            RAISE EXCEPTION 'lambda view % has no description', target
                USING ERRCODE = 'check_violation',
                      DETAIL = format('Governance policy "%s" requires every data product%s to be described.',
                                      p.policy_name, scope),
                      HINT = format('Pass description => ''what the view holds'' to %s.', via);
        END IF;
        IF p.require_freshness_sla AND freshness_sla IS NULL THEN
            RAISE EXCEPTION 'lambda view % has no freshness_sla', target
                USING ERRCODE = 'check_violation',
                      DETAIL = format('Governance policy "%s" requires every data product%s to promise a freshness.',
                                      p.policy_name, scope),
                      HINT = format('Pass freshness_sla => ''5 minutes'' (at most %s) to %s.',
                                    coalesce(p.max_freshness_sla::text, 'any interval'), via);
        END IF;
        IF p.max_freshness_sla IS NOT NULL AND freshness_sla > p.max_freshness_sla THEN
            RAISE EXCEPTION 'freshness_sla % of lambda view % exceeds the maximum of %', freshness_sla, target, p.max_freshness_sla
                USING ERRCODE = 'check_violation',
                      DETAIL = format('Governance policy "%s" allows a freshness SLA of at most %s.',
                                      p.policy_name, p.max_freshness_sla),
                      HINT = format('Pass a freshness_sla of at most %s to %s.', p.max_freshness_sla, via);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION lambda_views.enforce_policies(int, regrole, text, interval, text) IS
  'internal: refuses product metadata that breaks a governance policy of lambda_views.policies';

-- validate_product checks the values of product metadata.
CREATE FUNCTION lambda_views.validate_product(freshness_sla interval, completeness_sla numeric,
                                              check_interval interval, column_comments jsonb, view_id int)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col text;
    rel regclass;
BEGIN
    IF freshness_sla IS NOT NULL AND freshness_sla <= interval '0' THEN
        RAISE EXCEPTION 'freshness_sla must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how old the newest data in the view may be at most, e.g. ''5 minutes''.';
    END IF;
    IF completeness_sla IS NOT NULL AND NOT (completeness_sla > 0 AND completeness_sla <= 1) THEN
        RAISE EXCEPTION 'completeness_sla must be greater than 0 and at most 1'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the fraction of source rows the view must cover, e.g. 1 or 0.999.';
    END IF;
    IF check_interval IS NOT NULL AND check_interval <= interval '0' THEN
        RAISE EXCEPTION 'check_interval must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass how often the background worker runs the checks, e.g. ''10 minutes'', or NULL to run them by hand.';
    END IF;
    IF column_comments IS NOT NULL THEN
        IF jsonb_typeof(column_comments) <> 'object' THEN
            RAISE EXCEPTION 'column_comments must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass {"column": "comment", ...}; null as a comment removes it.';
        END IF;
        SELECT c.oid INTO rel FROM lambda_views.views v
          JOIN pg_namespace n ON n.nspname = v.view_schema
          JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = v.view_name
         WHERE v.view_id = validate_product.view_id;
        FOR col IN SELECT k FROM jsonb_object_keys(column_comments) k ORDER BY k LOOP
            IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND a.attname = col
                              AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'column "%" of lambda view % does not exist', col, rel
                    USING ERRCODE = 'undefined_column',
                          HINT = 'column_comments takes the names of the view''s columns.';
            END IF;
            IF jsonb_typeof(column_comments -> col) NOT IN ('string', 'null') THEN
                RAISE EXCEPTION 'comment of column "%" must be a string or null', col
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;
END $$;
COMMENT ON FUNCTION lambda_views.validate_product(interval, numeric, interval, jsonb, int) IS
  'internal: refuses invalid product metadata';

-- product_on_create records a new view's product metadata; create_view
-- calls it inside its own transaction, so a refusal here undoes the view.
CREATE FUNCTION lambda_views.product_on_create(view regclass, owner_role regrole, description text,
                                               freshness_sla interval, completeness_sla numeric, tags text[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int;
BEGIN
    SELECT v.view_id INTO id
      FROM lambda_views.views v
      JOIN pg_catalog.pg_class c ON c.relname = v.view_name
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = v.view_schema
     WHERE c.oid = view;
    PERFORM lambda_views.validate_product(freshness_sla, completeness_sla, NULL, NULL, id);
    PERFORM lambda_views.enforce_policies(id, owner_role, description, freshness_sla,
                                          'lambda_views.create_view');
    INSERT INTO lambda_views.products (view_id, owner_role, description, freshness_sla, completeness_sla, tags)
    VALUES (id, product_on_create.owner_role, product_on_create.description,
            product_on_create.freshness_sla, product_on_create.completeness_sla,
            COALESCE(product_on_create.tags, '{}'));
    IF description IS NOT NULL THEN
        PERFORM lambda_views.sync_comments(id);
    END IF;
END $$;
COMMENT ON FUNCTION lambda_views.product_on_create(regclass, regrole, text, interval, numeric, text[]) IS
  'internal: records the data-product metadata given to create_view and applies governance policies';

----------------------------------------------------------------------------
-- set_product: change a view's product metadata.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.set_product_by_id(vid int, name text,
                                               owner_role regrole, description text,
                                               freshness_sla interval, completeness_sla numeric,
                                               tags text[], column_comments jsonb,
                                               check_interval interval)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int := vid;
    v record;
    p lambda_views.products%ROWTYPE;
BEGIN
    SELECT * INTO v FROM lambda_views.views WHERE view_id = id;
    SELECT * INTO p FROM lambda_views.products WHERE view_id = id;
    IF NOT FOUND THEN
        -- a view made before products existed: start an empty product
        p.view_id := id;
        p.tags := '{}';
        p.column_comments := '{}';
    END IF;
    IF NOT pg_has_role(v.owner, 'MEMBER')
       AND NOT (p.owner_role IS NOT NULL AND pg_has_role(p.owner_role, 'MEMBER')) THEN
        RAISE EXCEPTION 'must be owner of lambda view % to change its product metadata', name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the view''s owner or a member of the owning role or of the product''s owner_role can do this.';
    END IF;
    IF owner_role IS NOT NULL AND owner_role IS DISTINCT FROM p.owner_role
       AND NOT pg_has_role(v.owner, 'MEMBER') AND NOT pg_has_role(owner_role, 'MEMBER') THEN
        RAISE EXCEPTION 'cannot hand lambda view % to role %', name, owner_role
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the view''s owner can name an owner role it is not a member of.';
    END IF;
    PERFORM lambda_views.validate_product(freshness_sla, completeness_sla, check_interval, column_comments, id);
    p.owner_role := COALESCE(owner_role, p.owner_role);
    p.description := COALESCE(description, p.description);
    p.freshness_sla := COALESCE(freshness_sla, p.freshness_sla);
    p.completeness_sla := COALESCE(completeness_sla, p.completeness_sla);
    p.tags := COALESCE(tags, p.tags);
    p.check_interval := COALESCE(check_interval, p.check_interval);
    p.column_comments := jsonb_strip_nulls(p.column_comments || COALESCE(column_comments, '{}'));
    PERFORM lambda_views.enforce_policies(id, p.owner_role, p.description, p.freshness_sla,
                                          'lambda_views.set_product');
    INSERT INTO lambda_views.products AS t
    VALUES (p.*)
    ON CONFLICT (view_id) DO UPDATE
       SET owner_role = EXCLUDED.owner_role, description = EXCLUDED.description,
           freshness_sla = EXCLUDED.freshness_sla, completeness_sla = EXCLUDED.completeness_sla,
           tags = EXCLUDED.tags, column_comments = EXCLUDED.column_comments,
           check_interval = EXCLUDED.check_interval;
    PERFORM lambda_views.sync_comments(id);
END $$;
COMMENT ON FUNCTION lambda_views.set_product_by_id(int, text, regrole, text, interval, numeric, text[], jsonb, interval) IS
  'internal: set_product for a view id';

-- The public entry points resolve the name under the caller's search_path,
-- then hand the id to the function that runs under a pinned one.
CREATE FUNCTION lambda_views.set_product(name text,
                                         owner_role regrole DEFAULT NULL,
                                         description text DEFAULT NULL,
                                         freshness_sla interval DEFAULT NULL,
                                         completeness_sla numeric DEFAULT NULL,
                                         tags text[] DEFAULT NULL,
                                         column_comments jsonb DEFAULT NULL,
                                         check_interval interval DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT lambda_views.set_product_by_id(lambda_views.product_view_id(name), name, owner_role,
                                          description, freshness_sla, completeness_sla, tags,
                                          column_comments, check_interval)
$$;
COMMENT ON FUNCTION lambda_views.set_product(text, regrole, text, interval, numeric, text[], jsonb, interval) IS
  'sets a lambda view''s data-product metadata (NULL arguments keep the current value; in column_comments a null comment removes one) and keeps COMMENT ON VIEW / COLUMN in sync';

----------------------------------------------------------------------------
-- Quality checks.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.add_check_by_id(vid int, name text, check_name text, sql text, path text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int := vid;
    owner regrole;
    query text;
BEGIN
    SELECT v.owner INTO owner FROM lambda_views.views v WHERE v.view_id = id;
    IF NOT pg_has_role(owner, 'MEMBER') THEN
        RAISE EXCEPTION 'must be owner of lambda view % to add checks to it', name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the view''s owner or a member of the owning role can do this; checks run as the view''s owner.';
    END IF;
    IF check_name IS NULL OR btrim(check_name) = '' OR check_name IN ('completeness', 'freshness') THEN
        RAISE EXCEPTION 'invalid check name %', coalesce(quote_literal(check_name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'completeness and freshness are the names of the built-in checks.',
                  HINT = 'Name the check after what it verifies, e.g. ''no_negative_totals''.';
    END IF;
    query := regexp_replace(coalesce(sql, ''), '[\s;]+$', '');
    IF btrim(query) = '' THEN
        RAISE EXCEPTION 'check query must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a SELECT that returns the rows that break the check, and none when all is well.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lambda_views.products WHERE view_id = id) THEN
        INSERT INTO lambda_views.products (view_id) VALUES (id);
    END IF;
    -- plan it now, as the view's owner: a typo is refused here, not at 3 a.m.
    PERFORM lambda_views.run_check_sql(id, query, path, false);
    INSERT INTO lambda_views.checks (view_id, check_name, sql, search_path)
    VALUES (id, add_check_by_id.check_name, query, path)
    ON CONFLICT ON CONSTRAINT checks_pkey DO UPDATE
       SET sql = EXCLUDED.sql, search_path = EXCLUDED.search_path, created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at;
    DELETE FROM lambda_views.check_results r WHERE r.view_id = id AND r.check_name = add_check_by_id.check_name;
END $$;
COMMENT ON FUNCTION lambda_views.add_check_by_id(int, text, text, text, text) IS
  'internal: add_check for a view id';
CREATE FUNCTION lambda_views.add_check(name text, check_name text, sql text)
RETURNS void LANGUAGE sql AS $$
    SELECT lambda_views.add_check_by_id(lambda_views.product_view_id(name), name, check_name, sql,
                                        pg_catalog.current_setting('search_path'))
$$;
COMMENT ON FUNCTION lambda_views.add_check(text, text, text) IS
  'adds (or replaces) a quality check of a lambda view: a query, run as the view''s owner, that returns no rows when the check passes';

CREATE FUNCTION lambda_views.remove_check_by_id(vid int, name text, check_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int := vid;
    owner regrole;
BEGIN
    SELECT v.owner INTO owner FROM lambda_views.views v WHERE v.view_id = id;
    IF NOT pg_has_role(owner, 'MEMBER') THEN
        RAISE EXCEPTION 'must be owner of lambda view % to remove its checks', name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the view''s owner or a member of the owning role can do this.';
    END IF;
    DELETE FROM lambda_views.checks c WHERE c.view_id = id AND c.check_name = remove_check_by_id.check_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'check "%" of lambda view % does not exist', check_name, name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT check_name FROM lambda_views.checks lists the checks.';
    END IF;
    DELETE FROM lambda_views.check_results r WHERE r.view_id = id AND r.check_name = remove_check_by_id.check_name;
END $$;
COMMENT ON FUNCTION lambda_views.remove_check_by_id(int, text, text) IS
  'internal: remove_check for a view id';
CREATE FUNCTION lambda_views.remove_check(name text, check_name text)
RETURNS void LANGUAGE sql AS $$
    SELECT lambda_views.remove_check_by_id(lambda_views.product_view_id(name), name, check_name)
$$;
COMMENT ON FUNCTION lambda_views.remove_check(text, text) IS
  'removes a user-defined quality check of a lambda view, with its last result';

-- record_check stores one result, and raises the alarm on a breach.
CREATE FUNCTION lambda_views.record_check(view_id int, check_name text, passed bool, detail text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target text;
    at timestamptz := clock_timestamp();
BEGIN
    INSERT INTO lambda_views.check_results AS r (view_id, check_name, passed, detail, checked_at)
    VALUES (record_check.view_id, record_check.check_name, record_check.passed, record_check.detail, at)
    ON CONFLICT ON CONSTRAINT check_results_pkey DO UPDATE
       SET passed = EXCLUDED.passed, detail = EXCLUDED.detail, checked_at = EXCLUDED.checked_at;
    IF NOT passed THEN
        SELECT format('%I.%I', v.view_schema, v.view_name) INTO target
          FROM lambda_views.views v WHERE v.view_id = record_check.view_id;
        RAISE WARNING 'lambda view %: check "%" failed', target, check_name
            USING DETAIL = detail;
        PERFORM pg_notify('lambda_views_alerts',
                          json_build_object('view', target, 'check', check_name,
                                            'detail', detail, 'at', at)::text);
    END IF;
END $$;
COMMENT ON FUNCTION lambda_views.record_check(int, text, bool, text) IS
  'internal: records the result of a check; a failure is logged as a WARNING and sent with NOTIFY on channel lambda_views_alerts';

CREATE FUNCTION lambda_views.check_by_id(vid int, name text)
RETURNS TABLE (check_name text, passed bool, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int := vid;
    v record;
    p record;
    c record;
    r record;
    fresh interval;
    ok bool;
    msg text;
BEGIN
    SELECT * INTO v FROM lambda_views.views WHERE view_id = id;
    IF NOT pg_has_role(v.owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of lambda view % to check it', name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the view''s owner or a member of the owning role can do this; the catalog shows the last results to every reader.';
    END IF;
    SELECT * INTO p FROM lambda_views.products WHERE view_id = id;
    IF NOT FOUND THEN
        INSERT INTO lambda_views.products (view_id) VALUES (id);
        SELECT * INTO p FROM lambda_views.products WHERE view_id = id;
    END IF;

    -- completeness: every source row up to the speed watermark is covered
    -- once by batch + speed (one snapshot for both counts)
    SELECT * INTO r FROM lambda_views.completeness(id);
    ok := r.covered_rows = r.source_rows
          OR (p.completeness_sla IS NOT NULL AND r.covered_rows < r.source_rows
              AND r.covered_rows >= p.completeness_sla * r.source_rows);
    msg := format('batch and speed cover %s rows, the source has %s up to append key %s',
                  r.covered_rows, r.source_rows, r.speed_watermark);
    PERFORM lambda_views.record_check(id, 'completeness', ok, msg);
    check_name := 'completeness'; passed := ok; detail := msg;
    RETURN NEXT;

    -- freshness, against the SLA
    IF p.freshness_sla IS NOT NULL THEN
        SELECT s.freshness INTO fresh FROM lambda_views.status s WHERE s.view_id = id;
        ok := fresh IS NOT NULL AND fresh <= p.freshness_sla;
        msg := format('freshness %s, SLA %s', coalesce(date_trunc('second', fresh)::text, 'unknown'), p.freshness_sla);
        PERFORM lambda_views.record_check(id, 'freshness', ok, msg);
        check_name := 'freshness'; passed := ok; detail := msg;
        RETURN NEXT;
    END IF;

    -- user-defined checks, each as the view's owner; an error fails the check
    FOR c IN SELECT * FROM lambda_views.checks ch WHERE ch.view_id = id ORDER BY ch.check_name LOOP
        BEGIN
            SELECT * INTO r FROM lambda_views.run_check_sql(id, c.sql, c.search_path, true);
            ok := r.failing_rows = 0;
            msg := CASE WHEN ok THEN 'no rows'
                        ELSE format('%s rows, the first: %s', r.failing_rows, r.first_row) END;
        EXCEPTION WHEN OTHERS THEN
            ok := false;
            msg := 'error: ' || SQLERRM;
        END;
        PERFORM lambda_views.record_check(id, c.check_name, ok, msg);
        check_name := c.check_name; passed := ok; detail := msg;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION lambda_views.check_by_id(int, text) IS
  'internal: check for a view id';
CREATE FUNCTION lambda_views.check(name text)
RETURNS TABLE (check_name text, passed bool, detail text)
LANGUAGE sql AS $$
    SELECT * FROM lambda_views.check_by_id(lambda_views.product_view_id(name), name)
$$;
COMMENT ON FUNCTION lambda_views.check(text) IS
  'runs the quality checks of a lambda view (completeness, freshness against the SLA, user-defined checks as the view''s owner), records the results; a failure is logged as a WARNING and sent with NOTIFY on channel lambda_views_alerts';

CREATE FUNCTION lambda_views.run_due_checks()
RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
    n int := 0;
BEGIN
    FOR d IN
        SELECT v.view_id, format('%I.%I', v.view_schema, v.view_name) AS name
          FROM lambda_views.products p
          JOIN lambda_views.views v USING (view_id)
          LEFT JOIN lambda_views.check_results r
                 ON r.view_id = p.view_id AND r.check_name = 'completeness'
         WHERE p.check_interval IS NOT NULL AND v.role = 'serving'
           AND pg_has_role(v.owner, 'USAGE')
           AND (r.checked_at IS NULL OR r.checked_at + p.check_interval <= now())
         ORDER BY r.checked_at NULLS FIRST, v.view_id
    LOOP
        BEGIN
            PERFORM lambda_views.check_by_id(d.view_id, d.name);
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'lambda view %: checks could not run: %', d.name, SQLERRM;
        END;
    END LOOP;
    RETURN n;
END $$;
COMMENT ON FUNCTION lambda_views.run_due_checks() IS
  'runs the checks of every data product whose check_interval has passed since its last check; returns the number of views checked (the background worker calls it)';

----------------------------------------------------------------------------
-- The catalog.
----------------------------------------------------------------------------
CREATE VIEW lambda_views.catalog AS
SELECT format('%I.%I', v.view_schema, v.view_name) AS name,
       p.owner_role,
       p.description,
       v.source,
       sch.columns AS schema,
       p.freshness_sla,
       p.completeness_sla,
       COALESCE(p.tags, '{}') AS tags,
       p.check_interval,
       st.freshness,
       chk.checks,
       chk.last_checked_at,
       CASE WHEN chk.any_failed
              OR st.last_error_at > COALESCE(st.last_fold_at, '-infinity')
            THEN 'failing'
            WHEN st.freshness > p.freshness_sla THEN 'late'
            ELSE 'ok' END AS health,
       st.last_error,
       v.owner,
       v.view_id
  FROM lambda_views.views v
  JOIN pg_catalog.pg_namespace n ON n.nspname = v.view_schema
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = v.view_name
  LEFT JOIN lambda_views.products p ON p.view_id = v.view_id
  LEFT JOIN lambda_views.status st ON st.view_id = v.view_id
  CROSS JOIN LATERAL (
      SELECT jsonb_agg(jsonb_build_object('name', a.attname,
                                          'type', pg_catalog.format_type(a.atttypid, a.atttypmod))
                       ORDER BY a.attnum) AS columns
        FROM pg_catalog.pg_attribute a
       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) sch
  CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(r.check_name,
                              jsonb_build_object('passed', r.passed, 'detail', r.detail, 'at', r.checked_at)) AS checks,
             max(r.checked_at) AS last_checked_at,
             COALESCE(bool_or(NOT r.passed), false) AS any_failed
        FROM lambda_views.check_results r
       WHERE r.view_id = v.view_id) chk
 WHERE v.role = 'serving'
   AND pg_catalog.has_table_privilege(c.oid, 'SELECT');
GRANT SELECT ON lambda_views.catalog TO PUBLIC;
COMMENT ON VIEW lambda_views.catalog IS
  'data products: one row per lambda view the caller may read, with owner, description, source, schema, SLAs, tags, freshness, last check results and health (ok, late or failing)';

CREATE FUNCTION lambda_views.search_catalog(pattern text)
RETURNS SETOF lambda_views.catalog
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM lambda_views.catalog c
     WHERE pattern = ANY (c.tags)
        OR strpos(lower(c.name), lower(pattern)) > 0
        OR strpos(lower(COALESCE(c.description, '')), lower(pattern)) > 0
     ORDER BY c.name
$$;
COMMENT ON FUNCTION lambda_views.search_catalog(text) IS
  'the data products the caller may read that carry this tag or whose name or description contains the text (case-insensitive)';

----------------------------------------------------------------------------
-- Retention: the governed purge.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.purge(source regclass, before timestamptz, ts_column name)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_purge' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.purge(regclass, timestamptz, name) IS
  'retention: deletes the source rows whose ts_column is older than before, as the source''s owner, then folds and recomputes every lambda view on it in the same transaction; the only way to delete from a source; returns the rows deleted';
-- Start folding this database now (a no-op without shared_preload_libraries).
SELECT lambda_views.wake_launcher();
