-- Every query create_view refuses: its message, SQLSTATE and hint, and
-- that a refusal changes nothing.
SET client_min_messages = warning;
CREATE TABLE ev (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind  text,
    n     int,
    ts    timestamptz
);
CREATE TABLE other (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text);
CREATE TABLE views_before AS SELECT count(*) AS n FROM lambda_views.views;
CREATE TABLE rels_before AS
  SELECT c.oid FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
   WHERE s.nspname IN ('lambda_views_data', 'public');

-- not one SELECT
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind; SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'INSERT INTO other (kind) VALUES (1)');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind UNION ALL SELECT kind, count(*) FROM other GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', '');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(* FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- joins, subqueries, CTEs
SELECT lambda_views.create_view('r', 'SELECT e.kind, count(*) FROM ev e JOIN other o ON o.kind = e.kind GROUP BY e.kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT e.kind, count(*) FROM ev e, other o GROUP BY e.kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM (SELECT * FROM ev) s GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev WHERE kind IN (SELECT kind FROM other) GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'WITH s AS (SELECT * FROM ev) SELECT kind, count(*) FROM s GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM generate_series(1, 3) g(kind) GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- window functions, set-returning functions, grouping sets, DISTINCT, ORDER BY, LIMIT, FOR UPDATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*), rank() OVER (ORDER BY kind) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*), generate_series(1, 2) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, n, count(*) FROM ev GROUP BY ROLLUP (kind, n)');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT DISTINCT kind, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind ORDER BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind LIMIT 3');
\echo :LAST_ERROR_SQLSTATE
-- no aggregation, no table
SELECT lambda_views.create_view('r', 'SELECT kind FROM ev');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT count(*)');
\echo :LAST_ERROR_SQLSTATE
-- a non-aggregated column
SELECT lambda_views.create_view('r', 'SELECT kind, n, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- aggregates that cannot be split into partial states
SELECT lambda_views.create_view('r', 'SELECT kind, count(DISTINCT n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, string_agg(kind, '','' ORDER BY n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, json_agg(n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, array_agg(n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE AGGREGATE my_sum (int) (SFUNC = int4pl, STYPE = int);
SELECT lambda_views.create_view('r', 'SELECT kind, my_sum(n) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- volatile functions, the clock, the session, stable user functions, parameters
SELECT lambda_views.create_view('r', 'SELECT kind, sum(n * random()) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev WHERE ts > now() - interval ''1 day'' GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev WHERE ts::date > current_date GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT current_setting(''work_mem'') AS s, count(*) FROM ev GROUP BY 1');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION lookup(text) RETURNS text STABLE LANGUAGE sql AS 'SELECT max(kind) FROM other WHERE kind = $1';
SELECT lambda_views.create_view('r', 'SELECT lookup(kind) AS k, count(*) FROM ev GROUP BY 1');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev WHERE n > $1 GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- a group key without a btree operator class
SELECT lambda_views.create_view('r', 'SELECT point(n, n) AS p, count(*) FROM ev GROUP BY 1');
\echo :LAST_ERROR_SQLSTATE
-- sources that are not plain or partitioned tables
CREATE VIEW ev_view AS SELECT * FROM ev;
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev_view GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW ev_mat AS SELECT * FROM ev;
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev_mat GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE ev_temp (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev_temp GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- sources without a usable append key
CREATE TABLE no_key (kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM no_key GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', append_key => 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', append_key => 'kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', append_key => 'n');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cached (id bigint GENERATED ALWAYS AS IDENTITY (CACHE 20) PRIMARY KEY, kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM cached GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cycling (id bigint GENERATED ALWAYS AS IDENTITY (CYCLE) PRIMARY KEY, kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM cycling GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE descending (id bigint GENERATED ALWAYS AS IDENTITY (INCREMENT -1) PRIMARY KEY, kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM descending GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE unindexed (id bigint GENERATED ALWAYS AS IDENTITY, kind text);
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM unindexed GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- bad arguments
SELECT lambda_views.create_view(NULL, 'SELECT kind, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', speed_interval => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', speed_interval => '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind', batch_interval => '-1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('no_such_schema.r', 'SELECT kind, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
-- names that already exist
SELECT lambda_views.create_view('other', 'SELECT kind, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind');
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.drop_view('r');
-- functions on names that are not lambda views
SELECT lambda_views.fold('no_such_view');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.recompute('other');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.drop_view('ev_view');
\echo :LAST_ERROR_SQLSTATE
-- fold and recompute need READ COMMITTED
SELECT lambda_views.create_view('r', 'SELECT kind, count(*) FROM ev GROUP BY kind');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT lambda_views.fold('r');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT lambda_views.drop_view('r');

-- Nothing was left behind by the refusals.
SELECT (SELECT count(*) FROM lambda_views.views) - n AS new_views FROM views_before;
SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
 WHERE s.nspname IN ('lambda_views_data', 'public')
   AND c.oid NOT IN (SELECT oid FROM rels_before)
   AND c.relname NOT IN ('ev_view', 'ev_mat', 'no_key', 'cached', 'cached_id_seq', 'cached_pkey',
                         'cycling', 'cycling_id_seq', 'cycling_pkey', 'descending', 'descending_id_seq',
                         'descending_pkey', 'unindexed', 'unindexed_id_seq', 'views_before', 'rels_before')
 ORDER BY 1;
DROP TABLE ev, other, no_key, cached, cycling, descending, unindexed, views_before, rels_before CASCADE;
DROP AGGREGATE my_sum(int);
DROP FUNCTION lookup(text);
