-- The read of a quiet view: when nothing follows the batch at planning, the
-- view is planned as a scan of the batch's partition (LambdaViewScan), which
-- checks in the executor's snapshot that nothing follows it still and reads
-- the merged view otherwise.  Every answer is checked against the query.
SET client_min_messages = warning;
SET timezone = 'UTC';
SET plan_cache_mode = force_generic_plan;
CREATE TABLE clicks (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url   text NOT NULL,
    ts    timestamptz NOT NULL
);
INSERT INTO clicks (url, ts)
SELECT '/c/' || (i % 200), timestamptz '2026-05-01 00:00+00' + (i % 5) * interval '1 day'
  FROM generate_series(1, 5000) i;
ANALYZE clicks;
SELECT lambda_views.create_view('clicks_daily',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS n, count(*) * 2 AS n2
      FROM clicks GROUP BY url, date_trunc('day', ts) HAVING count(*) > 4$$,
  initial_batch => true);
-- a fold with nothing to fold drops the empty first batch
SELECT lambda_views.fold('clicks_daily');
\set q 'SELECT url, date_trunc(''day'', ts) AS day, count(*) AS n, count(*) * 2 AS n2 FROM clicks GROUP BY url, date_trunc(''day'', ts) HAVING count(*) > 4'

-- how a statement read the view: quiet, merged (checked and fell back) or
-- plan (the merged view was planned)
CREATE FUNCTION read_kind(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    kind text := 'plan';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'Lambda View Read: ' THEN
            kind := substring(line from 'Lambda View Read: (\w+)');
        END IF;
    END LOOP;
    RETURN kind;
END $$;

-- quiet: point lookups, a range, a full read, HAVING and output expressions
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
SELECT * FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00';
SELECT read_kind($$SELECT count(*) FROM clicks_daily$$);
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
SELECT count(*), sum(n) FROM clicks_daily WHERE day >= '2026-05-03 00:00+00';
-- a join and a correlated subquery read the quiet scan too
SELECT d.url, d.day, d.n FROM (VALUES ('/c/7'), ('/c/8')) v(url) JOIN clicks_daily d USING (url) ORDER BY 1;
SELECT v.url, (SELECT max(n) FROM clicks_daily d WHERE d.url = v.url) FROM (VALUES ('/c/9'), ('/none')) v(url) ORDER BY 1;

-- a prepared statement planned while quiet (a generic plan, kept)
PREPARE lookup(text, timestamptz) AS SELECT n FROM clicks_daily WHERE url = $1 AND day = $2;
EXECUTE lookup('/c/7', '2026-05-03 00:00+00');
SELECT read_kind($$EXECUTE lookup('/c/7', '2026-05-03 00:00+00')$$);

-- statements analyzed to run (not inside a command) have the view
-- substituted at parse analysis: a function's cached plan
CREATE FUNCTION clicks_n(u text, d timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT n FROM clicks_daily WHERE url = u AND day = d); END $$;
SELECT clicks_n('/c/7', '2026-05-03 00:00+00');
-- a view defined over it keeps the lambda view, not its batch
CREATE VIEW clicks_7 AS SELECT * FROM clicks_daily WHERE url = '/c/7';
SELECT pg_get_viewdef('clicks_7') ~ 'batch' AS names_storage;
SELECT * FROM clicks_7;

-- the reader's own uncommitted rows: the plan was quiet, the read is busy
-- (the partition but the groups read after the batch, which the merged
-- query gives: the view's query in the reader's snapshot)
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00'), ('/new', '2026-05-02 11:00+00');
SELECT clicks_n('/c/7', '2026-05-03 00:00+00');
SELECT clicks_n('/c/7', '2026-05-03 00:00+00');
SELECT * FROM clicks_7;
SELECT read_kind($$EXECUTE lookup('/c/7', '2026-05-03 00:00+00')$$);
EXECUTE lookup('/c/7', '2026-05-03 00:00+00');
-- the plan is kept: the next execution reads busy again
SELECT read_kind($$EXECUTE lookup('/c/7', '2026-05-03 00:00+00')$$);
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
ROLLBACK;

-- committed rows beyond the watermark: with realtime on the view is read
-- busy; off, it is quiet until a fold takes them
INSERT INTO clicks (url, ts) SELECT '/c/7', '2026-05-02 12:00+00' FROM generate_series(1, 5);
SELECT read_kind($$SELECT n FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00'$$);
SELECT n FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00';
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
SET lambda_views.realtime = off;
SELECT read_kind($$SELECT n FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00'$$);
SELECT n FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00';
-- a fold after the batch: a statement planned quiet reads busy
PREPARE lookup_off(text) AS SELECT day, n FROM clicks_daily WHERE url = $1 ORDER BY day;
SELECT read_kind($$EXECUTE lookup_off('/c/7')$$);
SELECT lambda_views.fold('clicks_daily') > 0 AS folded;
SELECT read_kind($$EXECUTE lookup_off('/c/7')$$);
EXECUTE lookup_off('/c/7');
SELECT read_kind($$EXECUTE lookup_off('/c/7')$$);
RESET lambda_views.realtime;
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;

-- a recompute makes it quiet again; a statement planned before the swap
-- reads merged (its batch is no longer the view's)
PREPARE lookup_all AS SELECT count(*), sum(n) FROM clicks_daily;
SELECT read_kind('EXECUTE lookup_all');
SELECT lambda_views.recompute('clicks_daily') > 0 AS recomputed;
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
SELECT read_kind('EXECUTE lookup_all');
EXECUTE lookup_all;
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;

-- the batch partition is read with the view owner's rights: a reader with
-- SELECT on the view alone reads it quiet, and busy after its own insert
CREATE ROLE quiet_reader;
GRANT SELECT ON clicks_daily TO quiet_reader;
GRANT SELECT, INSERT ON clicks TO quiet_reader;
SET ROLE quiet_reader;
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
SELECT count(*) FROM clicks_daily;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-02 13:00+00');
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
SELECT n FROM clicks_daily WHERE url = '/c/7' AND day = '2026-05-03 00:00+00';
RESET ROLE;
-- a view made security_invoker reads its storage with the reader's rights:
-- left to the rewriter
SET lambda_views.realtime = off;
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
ALTER VIEW clicks_daily SET (security_invoker = true);
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
ALTER VIEW clicks_daily RESET (security_invoker);
RESET lambda_views.realtime;

-- other shapes, each compared with the same query over the view's query on
-- the source, in one statement whose plan a function keeps: planned quiet,
-- then run again in a transaction with its own rows, where every scan of
-- the batch finds out and reads busy
CREATE FUNCTION shapes_differ() RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
  RETURN (WITH t AS MATERIALIZED (SELECT url, date_trunc('day', ts) AS day, count(*) AS n,
                                         count(*) * 2 AS n2
                                    FROM clicks GROUP BY 1, 2 HAVING count(*) > 4)
  SELECT
    (SELECT count(*) FROM (((SELECT url, sum(n) FROM clicks_daily x GROUP BY url ORDER BY 2 DESC, 1 LIMIT 3) EXCEPT ALL (SELECT url, sum(n) FROM t x GROUP BY url ORDER BY 2 DESC, 1 LIMIT 3))
                           UNION ALL ((SELECT url, sum(n) FROM t x GROUP BY url ORDER BY 2 DESC, 1 LIMIT 3) EXCEPT ALL (SELECT url, sum(n) FROM clicks_daily x GROUP BY url ORDER BY 2 DESC, 1 LIMIT 3))) d)
  +     (SELECT count(*) FROM (((SELECT day, count(*), max(n2) FROM clicks_daily x WHERE url IN ('/c/7', '/c/8', '/none') GROUP BY day) EXCEPT ALL (SELECT day, count(*), max(n2) FROM t x WHERE url IN ('/c/7', '/c/8', '/none') GROUP BY day))
                           UNION ALL ((SELECT day, count(*), max(n2) FROM t x WHERE url IN ('/c/7', '/c/8', '/none') GROUP BY day) EXCEPT ALL (SELECT day, count(*), max(n2) FROM clicks_daily x WHERE url IN ('/c/7', '/c/8', '/none') GROUP BY day))) d)
  +     (SELECT count(*) FROM (((SELECT url, day, n FROM clicks_daily x WHERE url LIKE '/c/1%' AND n > 20 ORDER BY url, day LIMIT 5) EXCEPT ALL (SELECT url, day, n FROM t x WHERE url LIKE '/c/1%' AND n > 20 ORDER BY url, day LIMIT 5))
                           UNION ALL ((SELECT url, day, n FROM t x WHERE url LIKE '/c/1%' AND n > 20 ORDER BY url, day LIMIT 5) EXCEPT ALL (SELECT url, day, n FROM clicks_daily x WHERE url LIKE '/c/1%' AND n > 20 ORDER BY url, day LIMIT 5))) d)
  +     (SELECT count(*) FROM (((SELECT x.url, x.n FROM clicks_daily x JOIN (SELECT '/c/' || g AS url FROM generate_series(1, 3) g) v USING (url) WHERE x.day >= '2026-05-02') EXCEPT ALL (SELECT x.url, x.n FROM t x JOIN (SELECT '/c/' || g AS url FROM generate_series(1, 3) g) v USING (url) WHERE x.day >= '2026-05-02'))
                           UNION ALL ((SELECT x.url, x.n FROM t x JOIN (SELECT '/c/' || g AS url FROM generate_series(1, 3) g) v USING (url) WHERE x.day >= '2026-05-02') EXCEPT ALL (SELECT x.url, x.n FROM clicks_daily x JOIN (SELECT '/c/' || g AS url FROM generate_series(1, 3) g) v USING (url) WHERE x.day >= '2026-05-02'))) d)
  +     (SELECT count(*) FROM (((SELECT count(*) FROM clicks_daily x WHERE day = (SELECT max(day) FROM clicks_daily y)) EXCEPT ALL (SELECT count(*) FROM t x WHERE day = (SELECT max(day) FROM t y)))
                           UNION ALL ((SELECT count(*) FROM t x WHERE day = (SELECT max(day) FROM t y)) EXCEPT ALL (SELECT count(*) FROM clicks_daily x WHERE day = (SELECT max(day) FROM clicks_daily y)))) d)
  +     (SELECT count(*) FROM (((SELECT n FROM clicks_daily x WHERE url = '/c/7' AND day = '2026-05-03 00:00+00') EXCEPT ALL (SELECT n FROM t x WHERE url = '/c/7' AND day = '2026-05-03 00:00+00'))
                           UNION ALL ((SELECT n FROM t x WHERE url = '/c/7' AND day = '2026-05-03 00:00+00') EXCEPT ALL (SELECT n FROM clicks_daily x WHERE url = '/c/7' AND day = '2026-05-03 00:00+00'))) d)
  +     (SELECT count(*) FROM (((SELECT url, day, n FROM clicks_daily x WHERE day >= '2026-05-02' AND day < '2026-05-04' AND url > '/c/19') EXCEPT ALL (SELECT url, day, n FROM t x WHERE day >= '2026-05-02' AND day < '2026-05-04' AND url > '/c/19'))
                           UNION ALL ((SELECT url, day, n FROM t x WHERE day >= '2026-05-02' AND day < '2026-05-04' AND url > '/c/19') EXCEPT ALL (SELECT url, day, n FROM clicks_daily x WHERE day >= '2026-05-02' AND day < '2026-05-04' AND url > '/c/19'))) d)
  +     (SELECT count(*) FROM (((SELECT url, n FROM clicks_daily x WHERE url = ANY ('{/c/7,/c/8,/nope}') AND day <> ALL ('{2026-05-01 00:00+00}')) EXCEPT ALL (SELECT url, n FROM t x WHERE url = ANY ('{/c/7,/c/8,/nope}') AND day <> ALL ('{2026-05-01 00:00+00}')))
                           UNION ALL ((SELECT url, n FROM t x WHERE url = ANY ('{/c/7,/c/8,/nope}') AND day <> ALL ('{2026-05-01 00:00+00}')) EXCEPT ALL (SELECT url, n FROM clicks_daily x WHERE url = ANY ('{/c/7,/c/8,/nope}') AND day <> ALL ('{2026-05-01 00:00+00}')))) d)
  +     (SELECT count(*) FROM (((SELECT count(*) FROM clicks_daily x WHERE url = (SELECT NULL::text) OR url < '/c/11' COLLATE "C") EXCEPT ALL (SELECT count(*) FROM t x WHERE url = (SELECT NULL::text) OR url < '/c/11' COLLATE "C"))
                           UNION ALL ((SELECT count(*) FROM t x WHERE url = (SELECT NULL::text) OR url < '/c/11' COLLATE "C") EXCEPT ALL (SELECT count(*) FROM clicks_daily x WHERE url = (SELECT NULL::text) OR url < '/c/11' COLLATE "C"))) d));
END $f$;
SELECT lambda_views.fold('clicks_daily') >= 0 AS folded, lambda_views.recompute('clicks_daily') > 0 AS recomputed;
SELECT read_kind('SELECT count(*) FROM clicks_daily');
SELECT shapes_differ() AS differing_rows;
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00'), ('/c/12', '2026-05-02 11:00+00'), ('/c/8', '2026-05-09 11:00+00');
SELECT shapes_differ() AS differing_rows;
SELECT shapes_differ() AS differing_rows;
ROLLBACK;

-- a parallel read: each participant scans its share of the partition, the
-- leader alone checks the view; when it is not quiet, the leader hands its
-- merged rows to the first participant that asks for them, the others
-- return none
SELECT lambda_views.fold('clicks_daily') >= 0 AS folded, lambda_views.recompute('clicks_daily') > 0 AS recomputed;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- the plan, without the names of the storage (the view's number differs
-- with the schedule)
CREATE FUNCTION plan_shape(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        RETURN NEXT regexp_replace(regexp_replace(line, 'v\d+_batch_\d+', 'batch', 'g'),
                                   'Lambda View Batch: \d+', 'Lambda View Batch: N');
    END LOOP;
END $$;
PREPARE par_sum AS SELECT count(*) AS c, sum(n) AS s, sum(n2) AS s2 FROM clicks_daily;
SELECT plan_shape('EXECUTE par_sum');
SELECT read_kind('EXECUTE par_sum');
EXECUTE par_sum \gset par_
SELECT (:par_c, :par_s, :par_s2) = (SELECT count(*), sum(n), sum(n2) FROM (:q) t) AS same_as_query;
-- planned quiet, read merged: the reader's own rows, with and without the
-- leader taking part (then a worker returns the leader's rows).  Each case
-- starts quiet (a fold takes the keys the last one drew, a recompute
-- catches up) and plans the statement again (the last merged read made it
-- plan again)
\set requiet 'SELECT lambda_views.fold(''clicks_daily'') >= 0 AS folded, lambda_views.recompute(''clicks_daily'') > 0 AS recomputed'
\set own_rows 'INSERT INTO clicks (url, ts) VALUES (''/c/7'', ''2026-05-03 10:00+00''), (''/par'', ''2026-05-02 11:00+00'')'
:requiet;
SELECT read_kind('EXECUTE par_sum');
BEGIN;
:own_rows;
EXECUTE par_sum \gset par_
SELECT (:par_c, :par_s, :par_s2) = (SELECT count(*), sum(n), sum(n2) FROM (:q) t) AS same_as_query;
ROLLBACK;
:requiet;
SELECT read_kind('EXECUTE par_sum');
BEGIN;
:own_rows;
SET LOCAL parallel_leader_participation = off;
EXECUTE par_sum \gset par_
SELECT (:par_c, :par_s, :par_s2) = (SELECT count(*), sum(n), sum(n2) FROM (:q) t) AS same_as_query;
ROLLBACK;
-- what those reads were: planned quiet and parallel, read merged
:requiet;
SELECT read_kind('EXECUTE par_sum');
BEGIN;
:own_rows;
SET LOCAL parallel_leader_participation = off;
SELECT plan_shape('EXECUTE par_sum');
SELECT read_kind('EXECUTE par_sum');
ROLLBACK;
:requiet;
-- the whole view, read in parallel and compared row by row
SELECT read_kind('SELECT * FROM clicks_daily');
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
-- an expression of the view's side of an outer join, read in parallel: it
-- is computed at the scan, so unmatched rows keep NULL
SELECT count(*) AS differing_rows FROM (
  (SELECT t.url, s.f FROM (SELECT '/c/' || g AS url FROM generate_series(1, 300) g) t
     LEFT JOIN (SELECT url, coalesce(n, 0) AS f FROM clicks_daily) s USING (url)
   EXCEPT ALL
   SELECT t.url, s.f FROM (SELECT '/c/' || g AS url FROM generate_series(1, 300) g) t
     LEFT JOIN (SELECT url, coalesce(n, 0) AS f FROM (:q) q) s USING (url))
  UNION ALL
  (SELECT t.url, s.f FROM (SELECT '/c/' || g AS url FROM generate_series(1, 300) g) t
     LEFT JOIN (SELECT url, coalesce(n, 0) AS f FROM (:q) q) s USING (url)
   EXCEPT ALL
   SELECT t.url, s.f FROM (SELECT '/c/' || g AS url FROM generate_series(1, 300) g) t
     LEFT JOIN (SELECT url, coalesce(n, 0) AS f FROM clicks_daily) s USING (url))) x;
-- a view without HAVING: its partition's parallel scan has no qual, so
-- each participant runs its share of the parallel table scan itself; with
-- and without the leader, every batch row comes up once
SELECT lambda_views.create_view('clicks_by_url',
  $$SELECT url, count(*) AS n FROM clicks GROUP BY url$$, initial_batch => true) > 0 AS created;
\set qu 'SELECT url, count(*) AS n FROM clicks GROUP BY url'
SELECT lambda_views.fold('clicks_by_url') >= 0 AS folded, lambda_views.recompute('clicks_by_url') > 0 AS recomputed;
SELECT plan_shape('SELECT count(*), sum(n) FROM clicks_by_url');
SELECT read_kind('SELECT count(*), sum(n) FROM clicks_by_url');
SELECT (SELECT (count(*), sum(n)) FROM clicks_by_url) = (SELECT (count(*), sum(n)) FROM (:qu) q) AS same_as_query;
BEGIN;
SET LOCAL parallel_leader_participation = off;
SELECT (SELECT (count(*), sum(n)) FROM clicks_by_url) = (SELECT (count(*), sum(n)) FROM (:qu) q) AS same_as_query;
ROLLBACK;
SELECT lv_diff('clicks_by_url', :'qu') AS differing_rows;
-- rescans of a parallel read (a subquery run once per outer row; its first
-- run stops early): each starts from the first row again, read quiet, read
-- merged through the shared tuplestore, and read merged by the leader alone
-- (a cursor's plan runs without parallel mode)
\set rescans 'SELECT g, (SELECT count(*) FROM (SELECT url FROM clicks_by_url LIMIT CASE WHEN g = 1 THEN 5 ELSE 1000000 END) s) AS n FROM generate_series(1, 3) g'
PREPARE rescans AS :rescans;
SELECT plan_shape('EXECUTE rescans');
SELECT count(*) AS groups FROM (:qu) q;
EXECUTE rescans;
BEGIN;
:own_rows;
SELECT count(*) AS groups FROM (:qu) q;
EXECUTE rescans;
ROLLBACK;
SELECT lambda_views.fold('clicks_by_url') >= 0 AS folded, lambda_views.recompute('clicks_by_url') > 0 AS recomputed;
CREATE FUNCTION rescans_by_cursor() RETURNS TABLE (g int, n bigint) LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT x.g, (SELECT count(*) FROM (SELECT url FROM clicks_by_url
                          LIMIT CASE WHEN x.g = 1 THEN 5 ELSE 1000000 END) s) AS n
               FROM generate_series(1, 3) x(g) LOOP
        g := r.g;
        n := r.n;
        RETURN NEXT;
    END LOOP;
END $$;
SELECT * FROM rescans_by_cursor();
BEGIN;
:own_rows;
SELECT * FROM rescans_by_cursor();
ROLLBACK;
-- a SQL function's statements are planned before the first runs: its
-- SELECT, planned quiet and parallel, runs one row a call without parallel
-- mode, after its INSERT made the view not quiet
SELECT lambda_views.fold('clicks_by_url') >= 0 AS folded, lambda_views.recompute('clicks_by_url') > 0 AS recomputed;
CREATE FUNCTION rescans_lazy() RETURNS SETOF bigint LANGUAGE sql AS $$
  INSERT INTO clicks (url, ts) VALUES ('/par', '2026-05-02 11:00+00');
  SELECT (SELECT count(*) FROM (SELECT url FROM clicks_by_url
           LIMIT CASE WHEN g = 1 THEN 5 ELSE 1000000 END) s)
    FROM generate_series(1, 3) g
$$;
BEGIN;
SELECT rescans_lazy() AS n;
ROLLBACK;
DEALLOCATE rescans;
DROP FUNCTION rescans_by_cursor, rescans_lazy;
:requiet;
SELECT lambda_views.drop_view('clicks_by_url');

-- a read planned quiet that finds the view not quiet sends the merged rows
-- through a tuplestore (one process) or a shared one (parallel), which keep
-- at most work_mem in memory: reading 40000 groups of 200-byte keys (about
-- 10 MB of rows) grows the backend's memory by less than 4 MB
CREATE TABLE wide (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k text NOT NULL);
INSERT INTO wide (k) SELECT repeat(md5(i::text), 6) || i FROM generate_series(1, 40000) i;
SELECT lambda_views.create_view('wide_keys', $$SELECT k, count(*) AS n FROM wide GROUP BY k$$,
  initial_batch => true) > 0 AS created;
SELECT lambda_views.fold('wide_keys') >= 0 AS folded, lambda_views.recompute('wide_keys') > 0 AS recomputed;
SET work_mem = '1MB';
CREATE FUNCTION backend_bytes() RETURNS bigint LANGUAGE sql PARALLEL RESTRICTED
  AS $$SELECT sum(used_bytes)::bigint FROM pg_backend_memory_contexts$$;
-- the backend's memory, measured on some rows as they come up from the scan
-- (above the Gather of a parallel read)
PREPARE wide_read AS
  SELECT count(*) AS groups, max(m) AS peak FROM (
    SELECT CASE WHEN right(v.k, 3) = '000' THEN (SELECT backend_bytes() WHERE v.k IS NOT NULL) END AS m
      FROM wide_keys v) x;
\set requiet_wide 'SELECT lambda_views.fold(''wide_keys'') >= 0 AS folded, lambda_views.recompute(''wide_keys'') > 0 AS recomputed'
-- one process: planned quiet, read busy (one group read after the batch)
SET max_parallel_workers_per_gather = 0;
:requiet_wide;
SELECT plan_shape('EXECUTE wide_read');
BEGIN;
INSERT INTO wide (k) VALUES ('own row');
SELECT backend_bytes() AS base \gset
EXECUTE wide_read \gset wide_
SELECT :wide_groups AS groups, :wide_peak - :base < 4 * 1024 * 1024 AS bounded;
SELECT read_kind('EXECUTE wide_read');
ROLLBACK;
-- every group read after the batch: the batch rows a busy read would skip
-- do not fit in hash_mem (work_mem 64kB: 128kB, 21845 rows), so the read
-- is merged, through a tuplestore
:requiet_wide;
SELECT count(*) > 0 AS planned FROM plan_shape('EXECUTE wide_read');
BEGIN;
INSERT INTO wide (k) SELECT k FROM wide;
SET LOCAL work_mem = '64kB';
SELECT backend_bytes() AS base \gset
EXECUTE wide_read \gset wide_
SELECT :wide_groups AS groups, :wide_peak - :base < 4 * 1024 * 1024 AS bounded;
SELECT read_kind('EXECUTE wide_read');
SELECT lv_diff('wide_keys', 'SELECT k, count(*) AS n FROM wide GROUP BY k') AS differing_rows;
ROLLBACK;
-- parallel: the same
SET max_parallel_workers_per_gather = 2;
:requiet_wide;
SELECT plan_shape('EXECUTE wide_read');
BEGIN;
INSERT INTO wide (k) VALUES ('own row');
SELECT backend_bytes() AS base \gset
EXECUTE wide_read \gset wide_
SELECT :wide_groups AS groups, :wide_peak - :base < 4 * 1024 * 1024 AS bounded;
ROLLBACK;
:requiet_wide;
SELECT count(*) > 0 AS planned FROM plan_shape('EXECUTE wide_read');
BEGIN;
INSERT INTO wide (k) VALUES ('own row');
SELECT read_kind('EXECUTE wide_read');
ROLLBACK;
DEALLOCATE wide_read;
RESET work_mem;
DROP FUNCTION backend_bytes;
SELECT lambda_views.drop_view('wide_keys');
DROP TABLE wide;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP FUNCTION plan_shape;

-- a full scan rescanned (the inner side of a nested loop, not
-- materialized): each rescan reads the partition again, the marker skipped
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
\set nl_read 'SELECT v.url, d.day, d.n FROM (VALUES (''/c/7''), (''/c/8''), (''/none'')) v(url) JOIN clicks_daily d ON d.url = v.url'
\set nl_query 'SELECT v.url, d.day, d.n FROM (VALUES (''/c/7''), (''/c/8''), (''/none'')) v(url) JOIN (' :q ') d ON d.url = v.url'
\set nl_differ 'SELECT count(*) AS differing_rows FROM ((' :nl_read ' EXCEPT ALL ' :nl_query ') UNION ALL (' :nl_query ' EXCEPT ALL ' :nl_read ')) x'
SELECT read_kind(:'nl_read');
:nl_differ;
-- the same read busy (the reader's own rows): each rescan returns the
-- groups read after the batch again, then the partition but their rows;
-- and a correlated subquery, whose pushed key changes on each rescan
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00'), ('/none', '2026-05-02 11:00+00');
SELECT read_kind(:'nl_read');
:nl_differ;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT read_kind($$SELECT v.url, (SELECT sum(n) FROM clicks_daily d WHERE d.url = v.url) FROM (VALUES ('/c/7'), ('/c/8'), ('/none')) v(url)$$);
SELECT count(*) AS differing_rows FROM (
  (SELECT v.url, (SELECT sum(n) FROM clicks_daily d WHERE d.url = v.url) FROM (VALUES ('/c/7'), ('/c/8'), ('/none'), (NULL)) v(url)
   EXCEPT ALL
   SELECT v.url, (SELECT sum(n) FROM (:q) d WHERE d.url = v.url) FROM (VALUES ('/c/7'), ('/c/8'), ('/none'), (NULL)) v(url))
  UNION ALL
  (SELECT v.url, (SELECT sum(n) FROM (:q) d WHERE d.url = v.url) FROM (VALUES ('/c/7'), ('/c/8'), ('/none'), (NULL)) v(url)
   EXCEPT ALL
   SELECT v.url, (SELECT sum(n) FROM clicks_daily d WHERE d.url = v.url) FROM (VALUES ('/c/7'), ('/c/8'), ('/none'), (NULL)) v(url))) x;
-- a cursor read in part, then to the end
DECLARE busy_cur CURSOR FOR SELECT url, day, n FROM clicks_daily;
FETCH 3 FROM busy_cur;
MOVE FORWARD ALL IN busy_cur;
CLOSE busy_cur;
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
ROLLBACK;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
RESET enable_indexscan;
RESET enable_bitmapscan;

-- a quiet read skips the batch's marker row (NULL keys, NULL nrows), also
-- where a key IS NULL: a view with a NULL group
CREATE TABLE taps (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, board text, v int);
INSERT INTO taps (board, v) SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE 'b' || (i % 3) END, i
  FROM generate_series(1, 200) i;
SELECT lambda_views.create_view('taps_by_board',
  $$SELECT board, count(*) AS n, sum(v) AS total FROM taps GROUP BY board$$, initial_batch => true);
SELECT read_kind($$SELECT * FROM taps_by_board WHERE board IS NULL$$);
SELECT (SELECT array_agg((board, n, total)) FROM taps_by_board WHERE board IS NULL) =
       (SELECT array_agg((board, count, sum)) FROM (SELECT board, count(*), sum(v) FROM taps WHERE board IS NULL GROUP BY board) t)
  AS null_group_same;
SELECT read_kind($$SELECT count(*) FROM taps_by_board$$);
SELECT lv_diff('taps_by_board', $$SELECT board, count(*) AS n, sum(v) AS total FROM taps GROUP BY board$$) AS differing_rows;
-- read busy: the NULL group and another, folded, then also in the tail
INSERT INTO taps (board, v) VALUES (NULL, 1000), ('b1', 1000), ('new', 1);
SELECT lambda_views.fold('taps_by_board') > 0 AS folded;
INSERT INTO taps (board, v) VALUES (NULL, 2000), ('b2', 2000);
SELECT read_kind($$SELECT count(*) FROM taps_by_board$$);
SELECT read_kind($$SELECT * FROM taps_by_board WHERE board IS NULL$$);
SELECT (SELECT array_agg((board, n, total)) FROM taps_by_board WHERE board IS NULL) =
       (SELECT array_agg((board, count, sum)) FROM (SELECT board, count(*), sum(v) FROM taps WHERE board IS NULL GROUP BY board) t)
  AS null_group_same;
SELECT lv_diff('taps_by_board', $$SELECT board, count(*) AS n, sum(v) AS total FROM taps GROUP BY board$$) AS differing_rows;
SELECT lambda_views.drop_view('taps_by_board');
DROP TABLE taps;

-- a key compared through a binary coercion that compares otherwise (oid
-- taken as int4, signed): the busy read's pushed qual keeps the cast, so
-- the group it combines passes the filter as the batch row it replaces
CREATE TABLE eo (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, o oid NOT NULL, v int);
INSERT INTO eo (o, v) SELECT (CASE WHEN i % 2 = 0 THEN 4294967295 - i % 5 ELSE i % 5 END)::oid, i
  FROM generate_series(1, 1000) i;
SELECT lambda_views.create_view('eo_v', $$SELECT o, count(*) AS n FROM eo GROUP BY o$$,
  initial_batch => true) > 0 AS created;
INSERT INTO eo (o, v) VALUES (4294967295, 1), (1, 1);
SELECT read_kind($$SELECT * FROM eo_v WHERE o::int4 < 0$$);
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM eo_v WHERE o::int4 < 0 EXCEPT ALL SELECT o, count(*) FROM eo WHERE o::int4 < 0 GROUP BY o)
  UNION ALL
  (SELECT o, count(*) FROM eo WHERE o::int4 < 0 GROUP BY o EXCEPT ALL SELECT * FROM eo_v WHERE o::int4 < 0)) d;
SELECT lambda_views.drop_view('eo_v');
DROP TABLE eo;

-- a busy read rescanned with a new key each time: what one read allocates
-- goes with the next (3000 rescans grow the backend by less than 4 MB)
CREATE FUNCTION backend_bytes() RETURNS bigint LANGUAGE sql
  AS $$SELECT sum(used_bytes)::bigint FROM pg_backend_memory_contexts$$;
\set rescan_read 'SELECT max(m) AS peak, count(x) AS groups FROM (SELECT g, (SELECT sum(n) FROM clicks_daily d WHERE d.url = ''/c/'' || (g % 60)) x, CASE WHEN g % 1000 = 0 THEN backend_bytes() END m FROM generate_series(1, 3000) g) s'
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00');
SELECT read_kind(:'rescan_read');
SELECT backend_bytes() AS base \gset
:rescan_read \gset rescan_
SELECT :rescan_groups AS groups, :rescan_peak - :base < 4 * 1024 * 1024 AS bounded;
ROLLBACK;
DROP FUNCTION backend_bytes;

-- a SQL function the planner inlines reads the view as planned merged
-- (it is analyzed inside the planner), quiet or not
CREATE FUNCTION clicks_of(u text) RETURNS SETOF clicks_daily LANGUAGE sql STABLE
  AS $$ SELECT * FROM clicks_daily WHERE url = u $$;
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM clicks_of('/c/7') EXCEPT ALL SELECT * FROM (:q) q WHERE url = '/c/7')
  UNION ALL (SELECT * FROM (:q) q WHERE url = '/c/7' EXCEPT ALL SELECT * FROM clicks_of('/c/7'))) d;
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00');
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM clicks_of('/c/7') EXCEPT ALL SELECT * FROM (:q) q WHERE url = '/c/7')
  UNION ALL (SELECT * FROM (:q) q WHERE url = '/c/7' EXCEPT ALL SELECT * FROM clicks_of('/c/7'))) d;
ROLLBACK;
DROP FUNCTION clicks_of;

-- statements that lock or re-check the rows they read (UPDATE, DELETE,
-- MERGE, FOR UPDATE/SHARE) read the merged view: a re-check refetches a
-- row by its ctid, which a busy read's combined rows do not have
-- (the isolation spec busy_recheck runs such re-checks)
CREATE TABLE tally (url text PRIMARY KEY, n bigint);
INSERT INTO tally SELECT '/c/' || i, 0 FROM generate_series(1, 20) i;
BEGIN;
INSERT INTO clicks (url, ts) VALUES ('/c/7', '2026-05-03 10:00+00');
SELECT read_kind($$UPDATE tally t SET n = d.n FROM clicks_daily d WHERE d.url = t.url AND d.day = '2026-05-03 00:00+00'$$);
SELECT read_kind($$SELECT t.url, d.n FROM tally t JOIN clicks_daily d USING (url) FOR UPDATE OF t$$);
SELECT read_kind($$SELECT t.url, d.n FROM tally t JOIN clicks_daily d USING (url)$$);
ROLLBACK;
DROP TABLE tally;

-- lambda_views.quiet_scan = off plans the merged view
SET lambda_views.quiet_scan = off;
SELECT read_kind($$SELECT * FROM clicks_daily WHERE url = '/c/7'$$);
RESET lambda_views.quiet_scan;

SELECT lv_diff('clicks_daily', :'q') AS differing_rows;
DROP VIEW clicks_7;
SELECT lambda_views.drop_view('clicks_daily');
DROP FUNCTION clicks_n;
DROP FUNCTION shapes_differ;
DROP TABLE clicks;
DROP ROLE quiet_reader;
