-- A read that filters a lambda view by "group key = value" aggregates only
-- those groups' rows of the real-time tail: the planner has the view's tail
-- call lambda_views.tail_where with the key numbers and values in place of
-- lambda_views.tail.  Only a conjunct of the read's WHERE on a group key,
-- with the key type's equality and the key's collation, against a value
-- (constants, parameters, immutable and stable functions of them), is
-- taken.  Every filtered read is compared with the
-- view's query on the source under the same filter, EXCEPT ALL both ways.
SET client_min_messages = warning;
CREATE TABLE clicks (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url   text,
    code  varchar(20) NOT NULL,
    tag   text COLLATE "C" NOT NULL,
    ts    timestamptz NOT NULL
);
INSERT INTO clicks (url, code, tag, ts)
SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE '/u/' || (i % 40) END, 'c' || (i % 3),
       CASE WHEN i % 2 = 0 THEN 'a' ELSE 'B' END,
       timestamptz '2026-05-01 00:00+00' + (i % 7) * interval '1 day' + (i % 24) * interval '1 hour'
  FROM generate_series(1, 5000) i;
ANALYZE clicks;
SELECT lambda_views.create_view('clicks_daily',
  $$SELECT url, code, date_trunc('day', ts) AS day, count(*) AS n, max(ts) AS last_ts
      FROM clicks GROUP BY url, code, date_trunc('day', ts)$$);
\set q 'SELECT url, code, date_trunc(''day'', ts) AS day, count(*) AS n, max(ts) AS last_ts FROM clicks GROUP BY url, code, date_trunc(''day'', ts)'
SELECT lambda_views.create_view('clicks_by_tag',
  $$SELECT tag, count(*) AS n FROM clicks GROUP BY tag$$);
\set qt 'SELECT tag, count(*) AS n FROM clicks GROUP BY tag'

-- tail_called(query): the tail the merged plan of query calls (the view
-- read as the relation, lambda_views.quiet_scan off), with the key numbers
-- it passes
CREATE FUNCTION tail_called(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    plan text := '';
    line text;
    scan text := current_setting('lambda_views.quiet_scan');
BEGIN
    PERFORM set_config('lambda_views.quiet_scan', 'off', true);
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    PERFORM set_config('lambda_views.quiet_scan', scan, true);
    IF plan ~ 'lambda_views\.tail_where\(' THEN
        RETURN 'tail_where ' || substring(plan from '''(\{[0-9,]*\})''::integer\[\]');
    ELSIF plan ~ 'lambda_views\.tail\(' THEN
        RETURN 'tail';
    END IF;
    RETURN 'no tail';
END $$;

-- busy_tail(query): the tail that the busy read of query (the batch
-- partition but the groups read after it) aggregates, as EXPLAIN ANALYZE
-- VERBOSE shows it; 'no busy read' when the read is not busy
CREATE FUNCTION busy_tail(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    tail text := 'no busy read';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'Lambda View Tail: ' THEN
            tail := substring(line from 'Lambda View Tail: (.*)$');
        END IF;
    END LOOP;
    RETURN tail;
END $$;

-- lv_diff_where(view, query, filter): rows in which the view and its query,
-- both filtered, differ
CREATE FUNCTION lv_diff_where(view_name text, query text, filter text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %1$s WHERE %3$s EXCEPT ALL SELECT * FROM (%2$s) q WHERE %3$s) '
                   'UNION ALL (SELECT * FROM (%2$s) q WHERE %3$s EXCEPT ALL SELECT * FROM %1$s WHERE %3$s)) d',
                   view_name, query, filter) INTO n;
    RETURN n;
END $$;

-- Rows beyond the watermark: groups only in the tail, in the batch and the
-- tail, with a NULL key; the view is not quiet: its merged read runs, or
-- its busy read, which takes the same filters to the tail.
INSERT INTO clicks (url, code, tag, ts) VALUES
  ('/t/new', 'c1', 'a', '2026-05-02 10:00+00'), ('/t/new', 'c1', 'a', '2026-05-02 11:00+00'),
  ('/u/1', 'c1', 'B', '2026-05-02 12:00+00'), (NULL, 'c2', 'a', '2026-05-03 00:00+00'),
  ('/u/2', 'c2', 'B', '2026-05-02 07:30+00');

-- Which filters reach the tail.
SELECT f AS filter, tail_called('SELECT * FROM clicks_daily WHERE ' || f) AS tail,
       busy_tail('SELECT * FROM clicks_daily WHERE ' || f) AS busy
  FROM (VALUES ($$url = '/u/1' AND day = '2026-05-02 00:00-07'$$),
               ($$url = '/u/1'$$),
               ($$'/u/1' = url$$),
               ($$code = 'c1'$$),
               ($$url = '/u/1' AND code = 'c1' AND day = '2026-05-02 00:00-07' AND n > 1$$),
               ($$n = 5$$),
               ($$url > '/u/3'$$),
               ($$url = '/u/1' COLLATE "C"$$),
               ($$url = '/u/1' OR url = '/u/2'$$),
               ($$url IS NULL$$),
               ($$url = '/u/' || 1 AND day = timestamptz '2026-05-02 00:00-07' + interval '0 hours'$$),
               ($$url = (random() * 10)::int::text$$),
               ($$url = (SELECT '/u/1')$$),
               ($$url = code$$),
               ($$day = date '2026-05-02'$$),
               ($$true$$)) v(f);
SELECT tail_called($$SELECT * FROM clicks_by_tag WHERE tag = 'a'$$) AS tag_c,
       tail_called($$SELECT * FROM clicks_by_tag WHERE tag = 'a' COLLATE "default"$$) AS tag_default,
       busy_tail($$SELECT * FROM clicks_by_tag WHERE tag = 'a'$$) AS busy_tag_c,
       busy_tail($$SELECT * FROM clicks_by_tag WHERE tag = 'a' COLLATE "default"$$) AS busy_tag_default;
-- in a subquery, a join, an aggregate over the view
SELECT tail_called($$SELECT * FROM (SELECT * FROM clicks_daily WHERE url = '/u/1') s$$) AS subquery,
       tail_called($$SELECT c.url, c.n, t.n FROM clicks_daily c JOIN clicks_by_tag t ON t.tag = 'a' WHERE c.url = '/u/1'$$) AS join_two,
       tail_called($$SELECT sum(n) FROM clicks_daily WHERE url = '/u/1'$$) AS aggregate;
-- parameters, generic plan included
SET plan_cache_mode = force_generic_plan;
PREPARE lookup(text, timestamptz) AS SELECT * FROM clicks_daily WHERE url = $1 AND day = $2;
SELECT tail_called($$EXECUTE lookup('/u/1', '2026-05-02 00:00-07')$$) AS generic_plan;
PREPARE lookup_expr(int, float8) AS SELECT * FROM clicks_daily WHERE url = '/u/' || $1 AND day = to_timestamp($2);
SELECT tail_called($$EXECUTE lookup_expr(1, 1777705200)$$) AS generic_plan_expressions;
-- (the busy read's generic plans: statements of their own, a generic plan
-- is kept whatever lambda_views.quiet_scan is later)
PREPARE lookup_busy(text, timestamptz) AS SELECT * FROM clicks_daily WHERE url = $1 AND day = $2;
PREPARE lookup_expr_busy(int, float8) AS SELECT * FROM clicks_daily WHERE url = '/u/' || $1 AND day = to_timestamp($2);
SELECT busy_tail($$EXECUTE lookup_busy('/u/1', '2026-05-02 00:00-07')$$) AS busy_generic_plan,
       busy_tail($$EXECUTE lookup_expr_busy(1, 1777705200)$$) AS busy_generic_plan_expressions;
CREATE TEMP TABLE got_busy AS EXECUTE lookup_busy('/u/1', '2026-05-02 00:00-07');
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM got_busy EXCEPT ALL SELECT * FROM (:q) q WHERE url = '/u/1' AND day = '2026-05-02 00:00-07')
  UNION ALL
  (SELECT * FROM (:q) q WHERE url = '/u/1' AND day = '2026-05-02 00:00-07' EXCEPT ALL SELECT * FROM got_busy)) d;
DROP TABLE got_busy;
RESET plan_cache_mode;

-- Each filtered read equals the query under the same filter.
SELECT f AS filter, lv_diff_where('clicks_daily', :'q', f) AS differing_rows
  FROM (VALUES ($$url = '/u/1' AND day = '2026-05-02 00:00-07'$$),
               ($$url = '/u/1'$$),
               ($$url = '/t/new'$$),
               ($$url = '/t/none'$$),
               ($$code = 'c2'$$),
               ($$url = '/u/2' AND code = 'c2'$$),
               ($$url = NULL$$),
               ($$url IS NULL$$),
               ($$url = '/u/1' COLLATE "C"$$),
               ($$url = '/u/' || 1 AND day = timestamptz '2026-05-02 00:00-07' + interval '0 hours'$$)) v(f);
SELECT f AS filter, lv_diff_where('clicks_by_tag', :'qt', f) AS differing_rows
  FROM (VALUES ($$tag = 'a'$$), ($$tag = 'B'$$), ($$tag = 'b'$$)) v(f);
SELECT count(*) AS differing_rows FROM (
  (SELECT c.url, c.n, t.n FROM clicks_daily c JOIN clicks_by_tag t ON t.tag = 'a' WHERE c.url = '/u/1'
   EXCEPT ALL
   SELECT c.url, c.n, t.n FROM (:q) c JOIN (:qt) t ON t.tag = 'a' WHERE c.url = '/u/1')
  UNION ALL
  (SELECT c.url, c.n, t.n FROM (:q) c JOIN (:qt) t ON t.tag = 'a' WHERE c.url = '/u/1'
   EXCEPT ALL
   SELECT c.url, c.n, t.n FROM clicks_daily c JOIN clicks_by_tag t ON t.tag = 'a' WHERE c.url = '/u/1')) d;
-- prepared, custom and generic plans
CREATE TEMP TABLE got1 AS EXECUTE lookup('/t/new', '2026-05-02 00:00-07');
SET plan_cache_mode = force_generic_plan;
CREATE TEMP TABLE got2 AS EXECUTE lookup('/u/1', '2026-05-02 00:00-07');
CREATE TEMP TABLE got3 AS EXECUTE lookup_expr(9, 1777705200);
RESET plan_cache_mode;
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM got1 UNION ALL SELECT * FROM got2 UNION ALL SELECT * FROM got3
   EXCEPT ALL SELECT * FROM (:q) q WHERE url IN ('/t/new', '/u/1', '/u/9') AND day = '2026-05-02 00:00-07')
  UNION ALL
  (SELECT * FROM (:q) q WHERE url IN ('/t/new', '/u/1', '/u/9') AND day = '2026-05-02 00:00-07'
   EXCEPT ALL (SELECT * FROM got1 UNION ALL SELECT * FROM got2 UNION ALL SELECT * FROM got3))) d;
SELECT (SELECT count(*) FROM got1) AS new_rows, (SELECT count(*) FROM got2) AS u1_rows;
DROP TABLE got1, got2, got3;

-- A fold in between: groups in the batch, the speed table and the tail.
SELECT lambda_views.fold('clicks_daily') > 0 AS folded;
INSERT INTO clicks (url, code, tag, ts) VALUES
  ('/t/new', 'c1', 'a', '2026-05-02 13:00+00'), ('/u/1', 'c1', 'a', '2026-05-02 14:00+00');
SELECT tail_called($$SELECT * FROM clicks_daily WHERE url = '/u/1'$$) AS tail,
       busy_tail($$SELECT * FROM clicks_daily WHERE url = '/u/1'$$) AS busy;
SELECT lv_diff_where('clicks_daily', :'q', $$url = '/u/1'$$) AS u1_differing,
       lv_diff_where('clicks_daily', :'q', $$url = '/t/new' AND code = 'c1'$$) AS new_differing;

-- The reader's own uncommitted rows, in its transaction.
BEGIN;
INSERT INTO clicks (url, code, tag, ts) VALUES ('/in-xact', 'c0', 'a', '2026-05-04 00:00+00'),
  ('/u/1', 'c1', 'a', '2026-05-02 15:00+00');
SELECT n FROM clicks_daily WHERE url = '/in-xact';
SELECT lv_diff_where('clicks_daily', :'q', $$url = '/u/1'$$) AS u1_differing_in_xact;
ROLLBACK;
SELECT count(*) AS rolled_back_groups FROM clicks_daily WHERE url = '/in-xact';

-- The value is the key's own: a reader in another time zone looks a day
-- up by its instant and gets the group the view's pinned zone made.
CREATE TEMP TABLE truth AS :q;
SET TimeZone = 'Asia/Tokyo';
SELECT current_setting('TimeZone') AS reader_zone,
       tail_called($$SELECT * FROM clicks_daily WHERE url = '/u/1' AND day = '2026-05-02 00:00-07'$$) AS tail,
       busy_tail($$SELECT * FROM clicks_daily WHERE url = '/u/1' AND day = '2026-05-02 00:00-07'$$) AS busy;
SELECT count(*) AS differing_rows FROM (
  (SELECT * FROM clicks_daily WHERE url = '/u/1' AND day = '2026-05-02 00:00-07'
   EXCEPT ALL SELECT * FROM truth WHERE url = '/u/1' AND day = '2026-05-02 00:00-07')
  UNION ALL
  (SELECT * FROM truth WHERE url = '/u/1' AND day = '2026-05-02 00:00-07'
   EXCEPT ALL SELECT * FROM clicks_daily WHERE url = '/u/1' AND day = '2026-05-02 00:00-07')) d;
SELECT count(*) AS rows_found FROM clicks_daily WHERE url = '/u/1' AND day = '2026-05-02 00:00-07';
RESET TimeZone;
DROP TABLE truth;

-- Keys whose type's equality is a polymorphic operator (anyenum = anyenum,
-- anyarray = anyarray) are taken too.
CREATE TYPE tk_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE moods (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    mood tk_mood NOT NULL, tags int[] NOT NULL);
INSERT INTO moods (mood, tags)
SELECT (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::tk_mood, ARRAY[i % 2, i % 5]
  FROM generate_series(1, 300) i;
SELECT lambda_views.create_view('moods_by',
  $$SELECT mood, tags, count(*) AS n FROM moods GROUP BY mood, tags$$);
INSERT INTO moods (mood, tags) VALUES ('ok', '{1,2}'), ('ok', '{1,2}'), ('happy', '{0,4}');
\set qm 'SELECT mood, tags, count(*) AS n FROM moods GROUP BY mood, tags'
SELECT tail_called($$SELECT * FROM moods_by WHERE mood = 'ok' AND tags = '{1,2}'$$) AS tail,
       busy_tail($$SELECT * FROM moods_by WHERE mood = 'ok' AND tags = '{1,2}'$$) AS busy;
SELECT n FROM moods_by WHERE mood = 'ok' AND tags = '{1,2}';
SELECT lv_diff_where('moods_by', :'qm', $$mood = 'ok' AND tags = '{1,2}'$$) AS enum_array_differing,
       lv_diff_where('moods_by', :'qm', $$mood = 'happy'$$) AS enum_differing;
SELECT lambda_views.drop_view('moods_by');
DROP TABLE moods;
DROP TYPE tk_mood;

-- A MERGE's ON condition is no WHERE: the view's rows that fail it are
-- the NOT MATCHED ones, inserted here, so the tail stays whole.
CREATE TABLE merged (url text, code varchar(20), day timestamptz, n bigint, last_ts timestamptz);
SELECT tail_called($$MERGE INTO merged m USING clicks_daily v ON v.url = '/u/1' AND m.url = v.url
  WHEN MATCHED THEN UPDATE SET n = v.n
  WHEN NOT MATCHED THEN INSERT VALUES (v.url, v.code, v.day, v.n, v.last_ts)$$) AS merge_tail;
MERGE INTO merged m USING clicks_daily v ON v.url = '/u/1' AND m.url = v.url
  WHEN MATCHED THEN UPDATE SET n = v.n
  WHEN NOT MATCHED THEN INSERT VALUES (v.url, v.code, v.day, v.n, v.last_ts);
SELECT count(*) AS merged_differing_rows FROM (
  (SELECT * FROM merged EXCEPT ALL SELECT * FROM (:q) q)
  UNION ALL
  (SELECT * FROM (:q) q EXCEPT ALL SELECT * FROM merged)) d;
DROP TABLE merged;

-- With lambda_views.realtime off the filtered tail is empty as the whole
-- one is: batch and speed only.
SET lambda_views.realtime = off;
SELECT count(*) AS tail_only_group_unfolded FROM clicks_daily WHERE url = '/in-xact' OR url = '/t/none';
SELECT (SELECT n FROM clicks_daily WHERE url = '/t/new' AND code = 'c1' AND day = '2026-05-02 00:00-07') =
       (SELECT n FROM clicks_daily WHERE url || '' = '/t/new' AND code || '' = 'c1' AND day = '2026-05-02 00:00-07')
       AS same_as_unfiltered_tail;
RESET lambda_views.realtime;

-- Called directly: bad arguments are refused and change nothing.
\set tw 'AS t(k1 text, k2 varchar, k3 timestamptz, s1 lambda_views.state, s2 lambda_views.state, nrows bigint)'
SELECT view_id AS vid FROM lambda_views.views WHERE view_name = 'clicks_daily' \gset
SELECT k1, nrows FROM lambda_views.tail_where(:vid, 'clicks', '{1}', '/t/new'::text) :tw ORDER BY 1, 2;
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{4}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{0}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{1}', 5) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{1,2}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{1}', VARIADIC ARRAY['/t/new']) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', NULL, '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{NULL}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{{1}}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS null_value_no_rows FROM lambda_views.tail_where(:vid, 'clicks', '{1}', NULL::text) :tw;
-- a role that may not read the view may not read its tail
CREATE ROLE tailkeys_reader;
SET ROLE tailkeys_reader;
SELECT * FROM lambda_views.tail_where(:vid, 'clicks', '{1}', '/t/new'::text) :tw;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE tailkeys_reader;
SELECT lv_diff('clicks_daily', :'q') AS differing_rows;

SELECT lambda_views.drop_view('clicks_daily');
SELECT lambda_views.drop_view('clicks_by_tag');
DROP TABLE clicks;
DROP FUNCTION tail_called(text);
DROP FUNCTION busy_tail(text);
DROP FUNCTION lv_diff_where(text, text, text);
