-- lambda_views 1.0 -> 1.1: security.
--   * partial states are a type of their own (lambda_views.state) that
--     carries its aggregate's identity and that SQL cannot construct;
--   * the catalog tables are written only by the extension's functions and
--     read only by roles that may read the view;
--   * the storage schema grants nothing to PUBLIC;
--   * quality checks keep no row data in their results or alerts.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.1'" to load this file. \quit

----------------------------------------------------------------------------
-- The state type.  Its input functions refuse everyone but superusers
-- (who restore dumps of a view's storage): only lambda_views.partial()
-- makes states.
----------------------------------------------------------------------------
CREATE TYPE lambda_views.state;
CREATE FUNCTION lambda_views.state_in(cstring) RETURNS lambda_views.state
AS 'MODULE_PATHNAME', 'lv_state_in' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_out(lambda_views.state) RETURNS cstring
AS 'MODULE_PATHNAME', 'lv_state_out' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_recv(internal) RETURNS lambda_views.state
AS 'MODULE_PATHNAME', 'lv_state_recv' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.state_send(lambda_views.state) RETURNS bytea
AS 'MODULE_PATHNAME', 'lv_state_send' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
CREATE TYPE lambda_views.state (
    INPUT = lambda_views.state_in, OUTPUT = lambda_views.state_out,
    RECEIVE = lambda_views.state_recv, SEND = lambda_views.state_send,
    INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = extended);
COMMENT ON TYPE lambda_views.state IS
  'a stored partial aggregate state: the identity of its aggregate and the aggregate''s own serialization; made only by lambda_views.partial()';
COMMENT ON FUNCTION lambda_views.state_in(cstring) IS
  'input of lambda_views.state (superusers only: restoring a dump)';
COMMENT ON FUNCTION lambda_views.state_out(lambda_views.state) IS
  'output of lambda_views.state, in bytea''s hex form';
COMMENT ON FUNCTION lambda_views.state_recv(internal) IS
  'binary input of lambda_views.state (superusers only: restoring a dump)';
COMMENT ON FUNCTION lambda_views.state_send(lambda_views.state) IS
  'binary output of lambda_views.state';

----------------------------------------------------------------------------
-- Storage schema: nothing for PUBLIC.  A view's owner may name the schema's
-- tables (its own storage; other roles' tables stay closed by privileges);
-- only the extension creates there.  Revoked before the views are attached
-- again, and upgrade_1_1_attach grants USAGE to each view's owner outside
-- this script: privileges set within it are the extension's initial ones,
-- which pg_dump leaves to CREATE EXTENSION, so a restore would lose them.
----------------------------------------------------------------------------
REVOKE ALL ON SCHEMA lambda_views_data FROM PUBLIC;

----------------------------------------------------------------------------
-- Existing views: detach each relation from its storage, replace the
-- support functions, convert the storage, attach again.  The relations and
-- the grants are the users' objects: the C functions change them outside
-- this script (src/upgrade.c).
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.upgrade_1_1_detach(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_1_detach' LANGUAGE C STRICT;
CREATE FUNCTION lambda_views.upgrade_1_1_attach(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_1_attach' LANGUAGE C STRICT;
CREATE FUNCTION lambda_views.upgrade_1_1_state(bytea, regprocedure) RETURNS lambda_views.state
AS 'MODULE_PATHNAME', 'lv_upgrade_1_1_state' LANGUAGE C IMMUTABLE;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_1_detach(int), lambda_views.upgrade_1_1_attach(int),
    lambda_views.upgrade_1_1_state(bytea, regprocedure) FROM PUBLIC;

SELECT lambda_views.upgrade_1_1_detach(view_id) FROM lambda_views.views ORDER BY view_id;

DROP AGGREGATE lambda_views.merge(regprocedure, bytea, anyelement, bool);
DROP FUNCTION lambda_views.merge_trans(internal, regprocedure, bytea, anyelement, bool);
DROP FUNCTION lambda_views.merge_final(internal, regprocedure, bytea, anyelement, bool);
DROP FUNCTION lambda_views.finalize(regprocedure, bytea, anyelement);
DROP FUNCTION lambda_views.combine_states(regprocedure, bytea, bytea, "any");
DROP AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any");
DROP AGGREGATE lambda_views.partial(regprocedure);
DROP FUNCTION lambda_views.state_final(internal);

CREATE FUNCTION lambda_views.state_final(internal)
RETURNS lambda_views.state AS 'MODULE_PATHNAME', 'lv_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.state_final(internal) IS
  'internal: final function of lambda_views.partial (the stored form of the state)';
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
  'partial aggregation: the stored transition state of the named aggregate over its arguments (which must be of the aggregate''s declared types)';
COMMENT ON AGGREGATE lambda_views.partial(regprocedure) IS
  'partial aggregation of a zero-argument aggregate such as count(*)';

CREATE FUNCTION lambda_views.merge_trans(internal, regprocedure, lambda_views.state, anyelement, bool)
RETURNS internal AS 'MODULE_PATHNAME', 'lv_merge_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION lambda_views.merge_final(internal, regprocedure, lambda_views.state, anyelement, bool)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_merge_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE lambda_views.merge(regprocedure, lambda_views.state, anyelement, bool) (
    SFUNC = lambda_views.merge_trans, STYPE = internal,
    FINALFUNC = lambda_views.merge_final, FINALFUNC_EXTRA,
    SSPACE = 128, PARALLEL = SAFE);
COMMENT ON FUNCTION lambda_views.merge_trans(internal, regprocedure, lambda_views.state, anyelement, bool) IS
  'internal: transition function of lambda_views.merge';
COMMENT ON FUNCTION lambda_views.merge_final(internal, regprocedure, lambda_views.state, anyelement, bool) IS
  'internal: final function of lambda_views.merge';
COMMENT ON AGGREGATE lambda_views.merge(regprocedure, lambda_views.state, anyelement, bool) IS
  'serving layer: combine stored partial states of the named aggregate and return its final value';

CREATE FUNCTION lambda_views.finalize(regprocedure, lambda_views.state, anyelement)
RETURNS anyelement AS 'MODULE_PATHNAME', 'lv_finalize' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.finalize(regprocedure, lambda_views.state, anyelement) IS
  'the final value of one stored partial state; the third argument gives the result type (the aggregate''s own) and collation';
CREATE FUNCTION lambda_views.combine_states(regprocedure, lambda_views.state, lambda_views.state, "any")
RETURNS lambda_views.state AS 'MODULE_PATHNAME', 'lv_combine_states' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION lambda_views.combine_states(regprocedure, lambda_views.state, lambda_views.state, "any") IS
  'combine two stored partial states of the named aggregate; the last argument carries the collation';

SELECT lambda_views.upgrade_1_1_attach(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_1_detach(int);
DROP FUNCTION lambda_views.upgrade_1_1_attach(int);
DROP FUNCTION lambda_views.upgrade_1_1_state(bytea, regprocedure);

----------------------------------------------------------------------------
-- The catalog: written only by the extension's functions (as the tables'
-- owner, after checking the caller), read only by roles that may read the
-- view.
----------------------------------------------------------------------------
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON lambda_views.views, lambda_views.view_state,
    lambda_views.products, lambda_views.checks, lambda_views.check_results FROM PUBLIC;
REVOKE ALL ON SEQUENCE lambda_views.views_view_id_seq FROM PUBLIC;
DROP POLICY owner_writes ON lambda_views.views;
DROP POLICY owner_writes ON lambda_views.view_state;
DROP POLICY owner_writes ON lambda_views.products;
DROP POLICY owner_writes ON lambda_views.checks;
DROP POLICY owner_writes ON lambda_views.check_results;

-- may_read: the caller may read the relation of this view (by name, so a
-- version replaying in the data schema needs no USAGE on it to be judged).
CREATE FUNCTION lambda_views.may_read(view_schema name, view_name name)
RETURNS bool LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = view_schema AND c.relname = view_name
                      AND pg_catalog.has_table_privilege(c.oid, 'SELECT'))
$$;
COMMENT ON FUNCTION lambda_views.may_read(name, name) IS
  'internal: whether the caller may read the relation of a lambda view (row security of the catalog tables)';

DROP POLICY read_all ON lambda_views.views;
CREATE POLICY readers ON lambda_views.views FOR SELECT
    USING (lambda_views.may_read(view_schema, view_name));
-- watermarks are no secret (every reader's plan reads them); the last
-- error may quote source values, so only the view's owner sees it
REVOKE SELECT ON lambda_views.view_state FROM PUBLIC;
GRANT SELECT (view_id, owner, speed_watermark, batch_watermark, batch_gen, batch_swap_xid,
              speed_gen, gen_start_watermark, last_fold_at, last_fold_ms, rows_folded,
              last_recompute_at, last_recompute_ms, rows_recomputed, last_error_at)
    ON lambda_views.view_state TO PUBLIC;
DROP POLICY read_all ON lambda_views.products;
CREATE POLICY readers ON lambda_views.products FOR SELECT
    USING (EXISTS (SELECT 1 FROM lambda_views.views v WHERE v.view_id = products.view_id));
DROP POLICY read_all ON lambda_views.checks;
CREATE POLICY readers ON lambda_views.checks FOR SELECT
    USING (EXISTS (SELECT 1 FROM lambda_views.views v WHERE v.view_id = checks.view_id));
DROP POLICY read_all ON lambda_views.check_results;
CREATE POLICY readers ON lambda_views.check_results FOR SELECT
    USING (EXISTS (SELECT 1 FROM lambda_views.views v WHERE v.view_id = check_results.view_id));

----------------------------------------------------------------------------
-- Data products: writes go through the extension's C functions, which check
-- the caller and the governance policies.
----------------------------------------------------------------------------
-- the validators read the view's catalog row and columns whoever calls
-- them (a member of the product's owner role may not read the view); they
-- only ever raise errors
ALTER FUNCTION lambda_views.validate_product(interval, numeric, interval, jsonb, int) SECURITY DEFINER;
ALTER FUNCTION lambda_views.enforce_policies(int, regrole, text, interval, text) SECURITY DEFINER;

CREATE FUNCTION lambda_views.store_product(view_id int, owner_role regrole, description text,
                                           freshness_sla interval, completeness_sla numeric,
                                           tags text[], column_comments jsonb,
                                           check_interval interval, via text)
RETURNS void AS 'MODULE_PATHNAME', 'lv_store_product' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.store_product(int, regrole, text, interval, numeric, text[], jsonb, interval, text) IS
  'internal: replaces a view''s product metadata, for its owner or a member of the product''s owner role, after checking the values and the governance policies';
CREATE FUNCTION lambda_views.store_check(view_id int, check_name text, sql text, search_path text)
RETURNS void AS 'MODULE_PATHNAME', 'lv_store_check' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.store_check(int, text, text, text) IS
  'internal: adds or replaces a quality check, for the view''s owner, once it plans as one SELECT';
CREATE FUNCTION lambda_views.delete_check(view_id int, check_name text)
RETURNS bool AS 'MODULE_PATHNAME', 'lv_delete_check' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.delete_check(int, text) IS
  'internal: removes a quality check and its last result, for the view''s owner; false if there was none';
CREATE OR REPLACE FUNCTION lambda_views.record_check(view_id int, check_name text, passed bool, detail text)
RETURNS void AS 'MODULE_PATHNAME', 'lv_record_check' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.record_check(int, text, bool, text) IS
  'internal: records the result of a check, for the view''s owner; a failure is logged as a WARNING and sent with NOTIFY on channel lambda_views_alerts (view, check and time only)';

CREATE OR REPLACE FUNCTION lambda_views.product_on_create(view regclass, owner_role regrole, description text,
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
    PERFORM lambda_views.store_product(id, owner_role, description, freshness_sla, completeness_sla,
                                       tags, NULL, NULL, 'lambda_views.create_view');
    IF description IS NOT NULL THEN
        PERFORM lambda_views.sync_comments(id);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION lambda_views.set_product_by_id(vid int, name text,
                                               owner_role regrole, description text,
                                               freshness_sla interval, completeness_sla numeric,
                                               tags text[], column_comments jsonb,
                                               check_interval interval)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM lambda_views.store_product(vid, owner_role, description, freshness_sla, completeness_sla,
                                       tags, column_comments, check_interval, 'lambda_views.set_product');
    PERFORM lambda_views.sync_comments(vid);
END $$;

CREATE OR REPLACE FUNCTION lambda_views.add_check_by_id(vid int, name text, check_name text, sql text, path text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    query text;
BEGIN
    query := regexp_replace(coalesce(sql, ''), '[\s;]+$', '');
    IF btrim(query) = '' THEN
        RAISE EXCEPTION 'check query must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a SELECT that returns the rows that break the check, and none when all is well.';
    END IF;
    PERFORM lambda_views.store_check(vid, check_name, query, path);
END $$;

CREATE OR REPLACE FUNCTION lambda_views.remove_check_by_id(vid int, name text, check_name text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT lambda_views.delete_check(vid, check_name) THEN
        RAISE EXCEPTION 'check "%" of lambda view % does not exist', check_name, name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT check_name FROM lambda_views.checks lists the checks.';
    END IF;
END $$;

-- check results keep counts and SQLSTATEs, never row data: readers of the
-- view (and NOTIFY listeners) may not be allowed to read the source
CREATE OR REPLACE FUNCTION lambda_views.check_by_id(vid int, name text)
RETURNS TABLE (check_name text, passed bool, detail text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id int := vid;
    v record;
    sla numeric;
    fresh_sla interval;
    c record;
    r record;
    fresh interval;
    ok bool;
    msg text;
BEGIN
    SELECT * INTO v FROM lambda_views.views WHERE view_id = id;
    IF NOT FOUND OR NOT pg_has_role(v.owner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of lambda view % to check it', name
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the view''s owner or a member of the owning role can do this; the catalog shows the last results to every reader.';
    END IF;
    SELECT pr.completeness_sla, pr.freshness_sla INTO sla, fresh_sla
      FROM lambda_views.products pr WHERE pr.view_id = id;

    SELECT * INTO r FROM lambda_views.completeness(id);
    ok := r.covered_rows = r.source_rows
          OR (sla IS NOT NULL AND r.covered_rows < r.source_rows
              AND r.covered_rows >= sla * r.source_rows);
    msg := format('batch and speed cover %s rows, the source has %s up to append key %s',
                  r.covered_rows, r.source_rows, r.speed_watermark);
    PERFORM lambda_views.record_check(id, 'completeness', ok, msg);
    check_name := 'completeness'; passed := ok; detail := msg;
    RETURN NEXT;

    IF fresh_sla IS NOT NULL THEN
        SELECT s.freshness INTO fresh FROM lambda_views.status s WHERE s.view_id = id;
        ok := fresh IS NOT NULL AND fresh <= fresh_sla;
        msg := format('freshness %s, SLA %s', coalesce(date_trunc('second', fresh)::text, 'unknown'), fresh_sla);
        PERFORM lambda_views.record_check(id, 'freshness', ok, msg);
        check_name := 'freshness'; passed := ok; detail := msg;
        RETURN NEXT;
    END IF;

    FOR c IN SELECT * FROM lambda_views.checks ch WHERE ch.view_id = id ORDER BY ch.check_name LOOP
        BEGIN
            SELECT * INTO r FROM lambda_views.run_check_sql(id, c.sql, c.search_path, true);
            ok := r.failing_rows = 0;
            msg := CASE WHEN ok THEN 'no rows' ELSE format('%s rows', r.failing_rows) END;
        EXCEPTION WHEN OTHERS THEN
            ok := false;
            msg := format('error: SQLSTATE %s', SQLSTATE);
        END;
        PERFORM lambda_views.record_check(id, c.check_name, ok, msg);
        check_name := c.check_name; passed := ok; detail := msg;
        RETURN NEXT;
    END LOOP;
END $$;

----------------------------------------------------------------------------
-- status and catalog: security barriers that show a view only to roles that
-- may read it, and its last error only to its owner.  Replaced in place
-- (same columns), so that views users built on them stay.
----------------------------------------------------------------------------
CREATE OR REPLACE VIEW lambda_views.status WITH (security_barrier) AS
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
       v.retired_at + v.keep_old AS kept_until
  FROM lambda_views.views v
  JOIN lambda_views.view_state s USING (view_id)
  CROSS JOIN LATERAL (SELECT lambda_views.high_water_mark(v.view_id) AS high_water_mark) h
  CROSS JOIN LATERAL (SELECT lambda_views.pending_rows(v.view_id) AS pending_rows) p
  CROSS JOIN LATERAL (SELECT lambda_views.worker_pid(v.view_id) AS worker_pid) w
 WHERE lambda_views.may_read(v.view_schema, v.view_name)
    OR pg_catalog.pg_has_role(v.owner, 'USAGE');
COMMENT ON VIEW lambda_views.status IS
  'one row per lambda view the caller may read: watermarks, backlog, last fold and recompute, worker, last error (to the owner only)';

CREATE OR REPLACE VIEW lambda_views.catalog WITH (security_barrier) AS
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
COMMENT ON VIEW lambda_views.catalog IS
  'data products: one row per lambda view the caller may read, with owner, description, source, schema, SLAs, tags, freshness, last check results and health (ok, late or failing)';

----------------------------------------------------------------------------
-- Comments the support functions lacked in 1.0.
----------------------------------------------------------------------------
COMMENT ON FUNCTION lambda_views.partial_trans(internal, regprocedure, VARIADIC "any") IS
  'internal: transition function of lambda_views.partial';
COMMENT ON FUNCTION lambda_views.partial_trans(internal, regprocedure) IS
  'internal: transition function of lambda_views.partial for zero-argument aggregates';
COMMENT ON FUNCTION lambda_views.state_combine(internal, internal) IS
  'internal: combine function of lambda_views.partial (parallel query)';
COMMENT ON FUNCTION lambda_views.state_serialize(internal) IS
  'internal: serialize function of lambda_views.partial (parallel query)';
COMMENT ON FUNCTION lambda_views.state_deserialize(bytea, internal) IS
  'internal: deserialize function of lambda_views.partial (parallel query)';

----------------------------------------------------------------------------
-- Comments on every object of the extension: what each function is for and
-- who may call it (sql/create.sql fails on an object without one).
----------------------------------------------------------------------------
COMMENT ON SCHEMA lambda_views_data IS
  'storage of the lambda views (batch and speed tables, generation sequences); only the extension creates in it, each view''s owner owns its own';
COMMENT ON SEQUENCE lambda_views.views_view_id_seq IS
  'internal: numbers the lambda views and their versions (lambda_views.views.view_id)';
COMMENT ON EVENT TRIGGER lambda_views_sql_drop IS
  'forgets a lambda view whose relation is dropped (DROP VIEW, or DROP TABLE of its source with CASCADE) and drops its storage';
DO $$
BEGIN
    -- the extension's schema is the creator's, not a member: keep a comment it already has
    IF pg_catalog.obj_description('lambda_views'::pg_catalog.regnamespace, 'pg_namespace') IS NULL THEN
        COMMENT ON SCHEMA lambda_views IS
          'interface of the lambda_views extension: its functions, catalog tables and the status and catalog views';
    END IF;
END $$;

-- the interface
COMMENT ON FUNCTION lambda_views.create_view(text, text, name, interval, interval, bool, regrole, text, interval, numeric, text[]) IS
  'creates a lambda view: a relation that merges a batch table, a speed table and the real-time tail, all derived from one GROUP BY query over an append-only table whose append key is by default its identity or serial column; for roles with SELECT on the source, ownership of it or TRIGGER on it, and CREATE on the view''s schema';
COMMENT ON FUNCTION lambda_views.fold(text) IS
  'speed layer: folds every committed source row beyond the speed watermark into the speed table and returns the number of source rows folded; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.recompute(text) IS
  'batch layer: rebuilds the batch table from all source rows up to the speed watermark, swaps it in and returns the number of source rows read; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.alter_view(text, text, int, interval) IS
  'Kappa reprocessing: builds a new version of the view from the first source row (throttled to rows_per_second if given) while the current one serves, then switches when it has caught up, keeping the old version for keep_old (default 1 day) for rollback_view; returns the relation of the new version while it replays; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.rollback_view(text) IS
  'serves the most recently retired version of the view again (folded up to the head) and returns the version number that was serving; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.drop_view(text) IS
  'drops a lambda view with its versions and its batch and speed storage; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.tail(int, regclass) IS
  'serving layer, internal: partial states of the committed source rows beyond the speed watermark, aggregated as the view''s owner in the caller''s snapshot (empty when lambda_views.realtime is off); the view''s relation calls it, for roles with SELECT on the view';
COMMENT ON FUNCTION lambda_views.worker_pid(int) IS
  'the pid of the background worker that folds this view''s database, or NULL when none runs; anyone may call it (lambda_views.status does)';
COMMENT ON FUNCTION lambda_views.wake_launcher() IS
  'internal: asks the launcher to start a background worker for this database once the transaction commits (CREATE EXTENSION calls it); false when the library is not preloaded; anyone may call it';
COMMENT ON FUNCTION lambda_views.pending_rows(int) IS
  'the committed source rows beyond the speed watermark, counted as the view''s owner; for roles with SELECT on the view, NULL for others (lambda_views.status calls it)';
COMMENT ON FUNCTION lambda_views.high_water_mark(int) IS
  'the last append key the source''s sequence handed out; for roles with SELECT on the view, NULL for others (lambda_views.status calls it)';
COMMENT ON FUNCTION lambda_views.refuse_modification() IS
  'trigger: refuses UPDATE, DELETE and TRUNCATE on the source of a lambda view; create_view installs it on the source, nobody calls it directly';
COMMENT ON FUNCTION lambda_views.on_sql_drop() IS
  'event trigger: forgets a lambda view whose relation was dropped and drops its storage; fired by the event trigger lambda_views_sql_drop, nobody calls it directly';
COMMENT ON FUNCTION lambda_views.purge(regclass, timestamptz, name) IS
  'retention: deletes the source rows whose ts_column is older than before, then folds and recomputes every lambda view on the source in the same transaction, and returns the rows deleted; the only way to delete from a source; for roles with the privileges of the source''s owner';
COMMENT ON FUNCTION lambda_views.search_catalog(text) IS
  'the data products the caller may read that carry this tag or whose name or description contains the text (case-insensitive); anyone may call it';

-- partial states: the storage and the relation of every view call these,
-- which check the aggregate and the states whoever calls them
COMMENT ON AGGREGATE lambda_views.partial(regprocedure, VARIADIC "any") IS
  'partial aggregation: the stored transition state of the named aggregate over its arguments (which must be of the aggregate''s declared types); folds and recomputes call it, anyone may';
COMMENT ON AGGREGATE lambda_views.partial(regprocedure) IS
  'partial aggregation of a zero-argument aggregate such as count(*); folds and recomputes call it, anyone may';
COMMENT ON AGGREGATE lambda_views.merge(regprocedure, lambda_views.state, anyelement, bool) IS
  'serving layer: combines stored partial states of the named aggregate and returns its final value; the relation of a lambda view calls it, anyone may';
COMMENT ON FUNCTION lambda_views.finalize(regprocedure, lambda_views.state, anyelement) IS
  'the final value of one stored partial state, the third argument giving the result type (the aggregate''s own) and collation; the storage and relation of a lambda view call it, anyone may';
COMMENT ON FUNCTION lambda_views.combine_states(regprocedure, lambda_views.state, lambda_views.state, "any") IS
  'combines two stored partial states of the named aggregate, the last argument carrying the collation; folds call it to add to the speed table, anyone may';
COMMENT ON FUNCTION lambda_views.partial_trans(internal, regprocedure, VARIADIC "any") IS
  'internal: transition function of the aggregate lambda_views.partial, called only by it';
COMMENT ON FUNCTION lambda_views.partial_trans(internal, regprocedure) IS
  'internal: transition function of the aggregate lambda_views.partial for zero-argument aggregates, called only by it';
COMMENT ON FUNCTION lambda_views.state_final(internal) IS
  'internal: final function of the aggregate lambda_views.partial (the stored form of the state), called only by it';
COMMENT ON FUNCTION lambda_views.state_combine(internal, internal) IS
  'internal: combine function of the aggregate lambda_views.partial (parallel query), called only by it';
COMMENT ON FUNCTION lambda_views.state_serialize(internal) IS
  'internal: serialize function of the aggregate lambda_views.partial (parallel query), called only by it';
COMMENT ON FUNCTION lambda_views.state_deserialize(bytea, internal) IS
  'internal: deserialize function of the aggregate lambda_views.partial (parallel query), called only by it';
COMMENT ON FUNCTION lambda_views.merge_trans(internal, regprocedure, lambda_views.state, anyelement, bool) IS
  'internal: transition function of the aggregate lambda_views.merge, called only by it';
COMMENT ON FUNCTION lambda_views.merge_final(internal, regprocedure, lambda_views.state, anyelement, bool) IS
  'internal: final function of the aggregate lambda_views.merge, called only by it';
COMMENT ON FUNCTION lambda_views.state_in(cstring) IS
  'input function of the type lambda_views.state; superusers only (restoring a dump)';
COMMENT ON FUNCTION lambda_views.state_recv(internal) IS
  'binary input function of the type lambda_views.state; superusers only (restoring a dump)';
COMMENT ON FUNCTION lambda_views.state_out(lambda_views.state) IS
  'output function of the type lambda_views.state, in bytea''s hex form; anyone may call it';
COMMENT ON FUNCTION lambda_views.state_send(lambda_views.state) IS
  'binary output function of the type lambda_views.state; anyone may call it';

-- data products
COMMENT ON FUNCTION lambda_views.set_product(text, regrole, text, interval, numeric, text[], jsonb, interval) IS
  'sets a lambda view''s data-product metadata (NULL arguments keep the current value; in column_comments a null comment removes one) and keeps COMMENT ON VIEW / COLUMN in sync; for roles with the privileges of the view''s owner and members of the product''s owner role';
COMMENT ON FUNCTION lambda_views.set_product_by_id(int, text, regrole, text, interval, numeric, text[], jsonb, interval) IS
  'internal: set_product for a view id; set_product calls it, for the same roles';
COMMENT ON FUNCTION lambda_views.add_check(text, text, text) IS
  'adds (or replaces) a quality check of a lambda view: a query, run as the view''s owner, that returns no rows when the check passes; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.add_check_by_id(int, text, text, text, text) IS
  'internal: add_check for a view id; add_check calls it, for the same roles';
COMMENT ON FUNCTION lambda_views.remove_check(text, text) IS
  'removes a user-defined quality check of a lambda view, with its last result; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.remove_check_by_id(int, text, text) IS
  'internal: remove_check for a view id; remove_check calls it, for the same roles';
COMMENT ON FUNCTION lambda_views."check"(text) IS
  'runs the quality checks of a lambda view (completeness, freshness against the SLA, user-defined checks as the view''s owner) and records the results; a failure is logged as a WARNING and sent with NOTIFY on channel lambda_views_alerts; for roles with the privileges of the view''s owner (lambda_views.catalog shows the last results to every reader)';
COMMENT ON FUNCTION lambda_views.check_by_id(int, text) IS
  'internal: check for a view id; check and run_due_checks call it, for the same roles';
COMMENT ON FUNCTION lambda_views.run_due_checks() IS
  'runs the checks of every data product whose check_interval has passed since its last check, among the views whose owner''s privileges the caller has, and returns the number of views checked; the background worker calls it';
COMMENT ON FUNCTION lambda_views.product_view_id(text) IS
  'internal: the id of the serving lambda view of that name (an error if there is none); the data-product functions call it, anyone may';
COMMENT ON FUNCTION lambda_views.run_check_sql(int, text, text, bool) IS
  'internal: runs (or with execute false only plans) a check query as the view''s owner under the given search_path and returns the number of rows it returns and the first as JSON; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.completeness(int) IS
  'internal: in one snapshot, the source rows up to the speed watermark (that pass the view''s filter) and the rows the batch and speed tables cover, counted as the view''s owner; for roles with the privileges of the view''s owner (check calls it)';
COMMENT ON FUNCTION lambda_views.sync_comments(int) IS
  'internal: sets COMMENT ON VIEW and COMMENT ON COLUMN of a lambda view from its product metadata, as the view''s owner; for roles with the privileges of the view''s owner and members of the product''s owner role';
COMMENT ON FUNCTION lambda_views.enforce_policies(int, regrole, text, interval, text) IS
  'internal: refuses product metadata that breaks a governance policy of lambda_views.policies; runs as the extension''s owner and only raises errors, anyone may call it';
COMMENT ON FUNCTION lambda_views.validate_product(interval, numeric, interval, jsonb, int) IS
  'internal: refuses invalid product metadata; runs as the extension''s owner and only raises errors, anyone may call it';
COMMENT ON FUNCTION lambda_views.product_on_create(regclass, regrole, text, interval, numeric, text[]) IS
  'internal: records the data-product metadata given to create_view and applies the governance policies; create_view calls it for the view''s new owner';
COMMENT ON FUNCTION lambda_views.store_product(int, regrole, text, interval, numeric, text[], jsonb, interval, text) IS
  'internal: replaces a view''s product metadata after checking the values and the governance policies; for roles with the privileges of the view''s owner and members of the product''s owner role';
COMMENT ON FUNCTION lambda_views.store_check(int, text, text, text) IS
  'internal: adds or replaces a quality check once it plans as one SELECT; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.delete_check(int, text) IS
  'internal: removes a quality check and its last result, false if there was none; for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.record_check(int, text, bool, text) IS
  'internal: records the result of a check (a failure is logged as a WARNING and sent with NOTIFY on channel lambda_views_alerts, with view, check and time only); for roles with the privileges of the view''s owner';
COMMENT ON FUNCTION lambda_views.may_read(name, name) IS
  'internal: whether the caller may read the relation of a lambda view; the row security policies of the catalog tables call it, anyone may';
