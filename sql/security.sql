-- Security: a role without privileges cannot escalate, crash the server,
-- read or tamper with another role's data, or stall it through the
-- extension.  Each refusal shows its SQLSTATE and that nothing changed.
SET client_min_messages = warning;
CREATE ROLE lvs_owner;
CREATE ROLE lvs_reader;
CREATE ROLE lvs_attacker;
GRANT CREATE ON SCHEMA public TO lvs_owner, lvs_attacker, lvs_reader;
SET ROLE lvs_owner;
CREATE TABLE s_events (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url  text NOT NULL,
    n    int NOT NULL
);
INSERT INTO s_events (url, n) SELECT '/p' || (i % 4), i FROM generate_series(1, 40) i;
-- an owner's function that tries to leave settings behind whenever it runs
CREATE FUNCTION leaky(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'evil_schema', false);
    PERFORM pg_catalog.set_config('work_mem', '77kB', false);
    RETURN x;
END $$;
SELECT lambda_views.create_view('s_view',
    $$SELECT url, count(*) AS hits, max(url) AS top, sum(leaky(n)) AS total FROM s_events GROUP BY url$$);
GRANT SELECT ON s_view TO lvs_reader;
RESET ROLE;
CREATE FUNCTION pg_temp.diff() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM ((SELECT * FROM s_view EXCEPT ALL
        SELECT url, count(*), max(url), sum(n) FROM s_events GROUP BY url)
      UNION ALL (SELECT url, count(*), max(url), sum(n) FROM s_events GROUP BY url
        EXCEPT ALL SELECT * FROM s_view)) d
$$;
SELECT view_id AS vid FROM lambda_views.views WHERE view_name = 's_view' \gset

-- 1. Owner code changes no setting that outlives it: not in a fold, a
--    recompute, a reader's tail or a reader's status.
INSERT INTO s_events (url, n) VALUES ('/p1', 1000);
SET ROLE lvs_reader;
SET search_path = public;
SET work_mem = '4MB';
SELECT count(*) > 0 AS read FROM s_view;
SELECT count(*) >= 0 AS status_read FROM lambda_views.status;
SELECT current_setting('search_path') AS search_path, current_setting('work_mem') AS work_mem;
RESET ROLE;
SET ROLE lvs_owner;
SET search_path = public;
SELECT lambda_views.fold('s_view') > 0 AS folded;
SELECT lambda_views.recompute('s_view') > 0 AS recomputed;
SELECT current_setting('search_path') AS search_path;
RESET ROLE;
RESET search_path;
RESET work_mem;
SELECT pg_temp.diff() AS differing_rows;

-- 3. Support functions check their arguments and never read foreign bytes.
SET ROLE lvs_attacker;
SELECT lambda_views.partial('pg_catalog.max(text)'::regprocedure, 1::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, 'x'::text);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.partial('pg_catalog.now()'::regprocedure);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.partial('pg_catalog.percentile_cont(double precision, double precision)'::regprocedure, 0.5::float8, 1::float8);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.partial('pg_catalog.array_agg(anynonarray)'::regprocedure, 1);
\echo :LAST_ERROR_SQLSTATE
-- a state is not constructible from SQL
SELECT '\x0100'::lambda_views.state;
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.finalize('pg_catalog.max(text)'::regprocedure, '\x01'::text::lambda_views.state, NULL::text);
\echo :LAST_ERROR_SQLSTATE
-- a real state, of another aggregate: refused before any byte is read
SELECT lambda_views.finalize('pg_catalog.max(text)'::regprocedure,
       (SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, 5::bigint)), NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.finalize('pg_catalog.avg(numeric)'::regprocedure,
       (SELECT lambda_views.partial('pg_catalog.avg(bigint)'::regprocedure, 5::bigint)), NULL::numeric);
\echo :LAST_ERROR_SQLSTATE
-- the witness must be the aggregate's own result type
SELECT lambda_views.finalize('pg_catalog.max(text)'::regprocedure,
       (SELECT lambda_views.partial('pg_catalog.max(text)'::regprocedure, 'abc'::text)), NULL::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.combine_states('pg_catalog.sum(bigint)'::regprocedure,
       (SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, 5::bigint)),
       (SELECT lambda_views.partial('pg_catalog.max(bigint)'::regprocedure, 5::bigint)), NULL::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.merge(NULL, s, NULL::bigint, false)
  FROM (SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, 5::bigint) AS s) x;
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.merge('pg_catalog.sum(bigint)'::regprocedure, s, NULL::text, false)
  FROM (SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, 5::bigint) AS s) x;
\echo :LAST_ERROR_SQLSTATE
-- what the right calls give
SELECT lambda_views.finalize('pg_catalog.sum(bigint)'::regprocedure,
       (SELECT lambda_views.partial('pg_catalog.sum(bigint)'::regprocedure, v) FROM unnest('{5,6}'::bigint[]) v),
       NULL::numeric) AS sum_ok;
RESET ROLE;
-- a reader's tail with a column list that lies about the types
INSERT INTO s_events (url, n) VALUES ('/p2', 5);
SET ROLE lvs_reader;
SELECT * FROM lambda_views.tail(:vid, 's_events'::regclass)
    AS t(k1 bigint, s1 lambda_views.state, s2 lambda_views.state, s3 lambda_views.state, nrows bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS tail_rows FROM lambda_views.tail(:vid, 's_events'::regclass)
    AS t(k1 text, s1 lambda_views.state, s2 lambda_views.state, s3 lambda_views.state, nrows bigint);
RESET ROLE;

-- 4. and 5. The catalog: only the extension writes it; others see only
--    the views they may read; no row data in errors shown to others.
SET ROLE lvs_attacker;
SELECT count(*) AS views_seen FROM lambda_views.views;
SELECT count(*) AS status_seen FROM lambda_views.status;
SELECT lambda_views.high_water_mark(:vid) AS hwm_seen;
SELECT lambda_views.pending_rows(:vid) AS pending_seen;
INSERT INTO lambda_views.views (view_schema, view_name, source, append_key, key_sequence, definition,
    settings, speed_interval, partial_sql, fold_sql, batch_sql)
VALUES ('public', 'fake', 's_events', 'id', 's_events_id_seq', 'x', '{}', '1s', '', '', '');
\echo :LAST_ERROR_SQLSTATE
UPDATE lambda_views.view_state SET speed_watermark = 0;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM lambda_views.views;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lambda_views.products (view_id, description) VALUES (:vid, 'hijacked');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO lambda_views.check_results VALUES (:vid, 'forged', true, 'ok', now());
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.store_product(:vid, NULL, 'hijacked', NULL, NULL, NULL, NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.record_check(:vid, 'forged', true, 'ok');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.fold('s_view');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.recompute('s_view');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS products_rows FROM lambda_views.products WHERE description = 'hijacked';
SELECT count(*) AS forged_results FROM lambda_views.check_results WHERE check_name = 'forged';
-- the reader sees the view's row but not its last error
SET ROLE NONE;
UPDATE lambda_views.view_state SET last_error = 'invalid input syntax for type integer: "secret"',
       last_error_at = now() WHERE view_id = :vid;
SET ROLE lvs_reader;
SELECT view, last_error FROM lambda_views.status;
SELECT last_error FROM lambda_views.view_state;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE lvs_owner;
SELECT view, last_error FROM lambda_views.status;
RESET ROLE;

-- 6. Storage schemas grant nothing to PUBLIC: nobody can take the names
--    the extension creates next, or hold the storage's locks.  Each owning
--    role but the extension's has a schema of its own, which grants USAGE to
--    that role alone: no other owner of lambda views can name it either.
SELECT storage_schema AS owner_schema, format('%I.v%s_speed', storage_schema, view_id) AS owner_speed
  FROM lambda_views.views WHERE view_id = :vid \gset
SELECT :'owner_schema' AS owner_schema,
       (SELECT pg_get_userbyid(nspowner) = current_user FROM pg_namespace WHERE nspname = :'owner_schema') AS owned_by_extension_owner;
SET ROLE lvs_attacker;
CREATE TABLE lambda_views_data.v999_batch_next (x int);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE lambda_views_data_lvs_owner.v999_batch_next (x int);
\echo :LAST_ERROR_SQLSTATE
BEGIN;
PREPARE hold AS INSERT INTO :owner_speed (gen, nrows) VALUES (1, 1);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
SELECT has_schema_privilege('lambda_views_data', 'USAGE') AS usage, has_schema_privilege('lambda_views_data', 'CREATE') AS create,
       has_schema_privilege(:'owner_schema', 'USAGE') AS usage_owner_schema;
RESET ROLE;
-- the owner reaches its own storage, nobody else's, and creates nothing there
SET ROLE lvs_owner;
SELECT has_schema_privilege(:'owner_schema', 'USAGE') AS owner_usage, has_schema_privilege(:'owner_schema', 'CREATE') AS owner_create,
       has_schema_privilege('lambda_views_data', 'USAGE') AS owner_usage_shared;
RESET ROLE;
-- the attacker owns a lambda view too: its storage lives in its own
-- schema, and it still cannot name the other owner's storage: no prepared
-- statement holds that lock, no table takes that row type
CREATE SCHEMA s_att AUTHORIZATION lvs_attacker;
SET ROLE lvs_attacker;
CREATE TABLE s_att.clicks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, url text);
SELECT lambda_views.create_view('s_att.hits', 'SELECT url, count(*) FROM s_att.clicks GROUP BY url') IS NOT NULL AS created;
SELECT view_name, storage_schema FROM lambda_views.views WHERE view_schema = 's_att';
SELECT has_schema_privilege(:'owner_schema', 'USAGE') AS usage_owner_schema;
BEGIN;
PREPARE hold AS INSERT INTO :owner_speed (gen, nrows) VALUES (1, 1);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE s_att.holder (x :owner_speed);
\echo :LAST_ERROR_SQLSTATE
-- its last view gone, its schema goes too (and DROP ROLE needs nothing)
SELECT lambda_views.drop_view('s_att.hits');
SELECT count(*) AS attacker_schemas FROM pg_namespace WHERE nspname = 'lambda_views_data_lvs_attacker';
DROP TABLE s_att.clicks;
RESET ROLE;
DROP SCHEMA s_att;

-- 7. Intervals the worker can schedule; no silent work on retired versions.
SET ROLE lvs_owner;
SELECT lambda_views.create_view('s_bad', 'SELECT url, count(*) FROM s_events GROUP BY url', speed_interval => '25 days');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('s_bad', 'SELECT url, count(*) FROM s_events GROUP BY url', speed_interval => '0.1 ms');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('s_bad', 'SELECT url, count(*) FROM s_events GROUP BY url', batch_interval => '1000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('s_bad') IS NULL AS nothing_created;
RESET ROLE;
-- (6.) A view another role defines over the lambda view blocks no switch:
-- a new version that keeps the columns takes over the relation itself, so
-- the reader's view reads it; one that would change them is refused at
-- alter_view (2BP01), before anything is built.
SET ROLE lvs_reader;
CREATE VIEW reader_hits AS SELECT url, hits FROM s_view;
RESET ROLE;
SET ROLE lvs_owner;
SELECT lambda_views.alter_view('s_view', $$SELECT url, count(*) AS hits FROM s_events GROUP BY url$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS versions FROM lambda_views.views WHERE family = :vid;
SELECT lambda_views.alter_view('s_view',
    $$SELECT url, count(*) AS hits, max(url) AS top, sum(n) AS total FROM s_events GROUP BY url$$);
INSERT INTO s_events (url, n) VALUES ('/p9', 9);
SELECT lambda_views.fold('s_view') >= 0 AS switched;
SELECT version, role FROM lambda_views.status WHERE family = :vid ORDER BY version;
RESET ROLE;
SELECT count(*) AS differing_rows_reader_hits FROM (
  (SELECT * FROM reader_hits EXCEPT ALL SELECT url, count(*) FROM s_events GROUP BY url)
  UNION ALL (SELECT url, count(*) FROM s_events GROUP BY url EXCEPT ALL SELECT * FROM reader_hits)) d;
SET ROLE lvs_owner;
SELECT view_name AS retired FROM lambda_views.views WHERE role = 'retired' AND family = :vid \gset
SELECT lambda_views.fold(format('%I.%I', :'owner_schema', :'retired'));
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.recompute(format('%I.%I', :'owner_schema', :'retired'));
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_temp.diff() AS differing_rows;

SET ROLE lvs_reader;
DROP VIEW reader_hits;
RESET ROLE;
SET ROLE lvs_owner;
SELECT lambda_views.drop_view('s_view');
DROP TABLE s_events;
DROP FUNCTION leaky(int);
RESET ROLE;
SELECT count(*) AS owner_schemas_left FROM pg_namespace WHERE nspname ^@ 'lambda_views_data_';
REVOKE CREATE ON SCHEMA public FROM lvs_owner, lvs_attacker, lvs_reader;
DROP ROLE lvs_owner, lvs_reader, lvs_attacker;
