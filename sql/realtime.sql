-- The merged read: batch ⊕ speed ⊕ the real-time tail of committed rows
-- beyond the speed watermark (lambda_views.realtime, on by default).
SET client_min_messages = warning;
CREATE TABLE hits (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url   text NOT NULL,
    ts    timestamptz NOT NULL
);
INSERT INTO hits (url, ts)
SELECT '/u/' || (i % 500), timestamptz '2026-05-01 00:00+00' + (i % 10) * interval '1 day'
  FROM generate_series(1, 20000) i;
ANALYZE hits;
SELECT lambda_views.create_view('hits_daily',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS n FROM hits GROUP BY url, date_trunc('day', ts)$$);
\set q 'SELECT url, date_trunc(''day'', ts) AS day, count(*) AS n FROM hits GROUP BY url, date_trunc(''day'', ts)'
SELECT lambda_views.create_view('hits_total', 'SELECT count(*) AS n, max(id) AS last_id FROM hits');

SHOW lambda_views.realtime;
-- Insert, then select, with no fold: the session reads its own committed rows.
INSERT INTO hits (url, ts) VALUES ('/new', '2026-05-03 10:00+00'), ('/new', '2026-05-03 11:00+00'), ('/u/7', '2026-05-01 12:00+00');
SELECT * FROM hits_daily WHERE url = '/new';
SELECT n FROM hits_daily WHERE url = '/u/7' AND day = '2026-05-01 00:00+00';
SELECT n = (SELECT count(*) FROM hits) AS total_matches, last_id = (SELECT max(id) FROM hits) AS last_matches FROM hits_total;
SELECT lv_diff('hits_daily', :'q') AS differing_rows;

-- Inside a transaction the view answers for the transaction's snapshot,
-- like the query on the source would.
BEGIN;
INSERT INTO hits (url, ts) VALUES ('/in-xact', '2026-05-04 00:00+00');
SELECT n FROM hits_daily WHERE url = '/in-xact';
SELECT lv_diff('hits_daily', :'q') AS differing_rows;
ROLLBACK;
SELECT count(*) AS rolled_back_rows FROM hits_daily WHERE url = '/in-xact';

-- Off: batch ⊕ speed only, lagging until the next fold.
SET lambda_views.realtime = off;
SELECT count(*) AS new_groups_before_fold FROM hits_daily WHERE url = '/new';
SELECT lambda_views.fold('hits_daily');
SELECT * FROM hits_daily WHERE url = '/new';
SELECT lv_diff('hits_daily', :'q') AS differing_rows;
RESET lambda_views.realtime;

-- Groups that are only in the batch, only in the speed table, only in the
-- tail, and in all three.
INSERT INTO hits (url, ts) VALUES ('/speed-only', '2026-05-02 00:00+00'), ('/u/8', '2026-05-02 01:00+00');
SELECT lambda_views.fold('hits_daily');
INSERT INTO hits (url, ts) VALUES ('/tail-only', '2026-05-02 00:00+00'), ('/u/8', '2026-05-02 02:00+00'), ('/speed-only', '2026-05-02 03:00+00');
SELECT url, n FROM hits_daily WHERE url IN ('/speed-only', '/tail-only', '/u/8') AND day = '2026-05-02 00:00+00' ORDER BY url;
SELECT lv_diff('hits_daily', :'q') AS differing_rows;

-- A filter on the group keys reaches the batch and speed tables through
-- their indexes; the tail is a range scan on the append key.  So in the
-- relation's plan (lambda_views.quiet_scan off), and in the busy read:
-- an index scan of the batch partition, the groups read after it looked up
-- with the same filter (busy_read).
CREATE FUNCTION plan_uses_indexes(query text) RETURNS TABLE (batch_index bool, speed_index bool, tail_range bool)
LANGUAGE plpgsql AS $$
DECLARE
    plan text := '';
    line text;
    scan text := current_setting('lambda_views.quiet_scan');
BEGIN
    PERFORM set_config('lambda_views.quiet_scan', 'off', true);
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    PERFORM set_config('lambda_views.quiet_scan', scan, true);
    batch_index := plan ~ '(Index (Only )?Scan using|Bitmap Index Scan on) v\d+_batch_\d+_k1_k2_idx';
    speed_index := plan ~ '(Index (Only )?Scan using|Bitmap Index Scan on) v\d+_speed_k1_k2_gen_idx';
    tail_range := plan ~ 'Function Scan on tail';
    RETURN NEXT;
END $$;
SELECT * FROM plan_uses_indexes($$SELECT * FROM hits_daily WHERE url = '/u/42' AND day = '2026-05-03 00:00+00'$$);
SELECT * FROM plan_uses_indexes($$SELECT * FROM hits_daily WHERE url = '/u/42'$$);
CREATE FUNCTION busy_read(query text) RETURNS TABLE (busy bool, batch_index bool, tail text)
LANGUAGE plpgsql AS $$
DECLARE
    plan text := '';
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    busy := plan ~ 'Lambda View Read: busy';
    batch_index := plan ~ '(Index (Only )?Scan using|Bitmap Index Scan on) v\d+_batch_\d+_k1_k2_idx';
    tail := substring(plan from 'Lambda View Tail: ([^\n]*)');
    RETURN NEXT;
END $$;
SELECT * FROM busy_read($$SELECT * FROM hits_daily WHERE url = '/u/42' AND day = '2026-05-03 00:00+00'$$);
SELECT * FROM busy_read($$SELECT * FROM hits_daily WHERE url = '/u/42'$$);
-- and the tail itself is read by an index range scan on the append key
SELECT tail_sql ~ 'id > \$1' AS tail_is_a_key_range FROM (SELECT partial_sql AS tail_sql FROM lambda_views.views WHERE view_name = 'hits_daily') s;

-- The relation reads like a table: joins, aggregates over it, ORDER BY.
SELECT count(*) = (SELECT count(DISTINCT (url, date_trunc('day', ts))) FROM hits) AS one_row_per_group,
       sum(n) = (SELECT count(*) FROM hits) AS counts_every_row
  FROM hits_daily;
SELECT d.url, d.n FROM hits_daily d JOIN (VALUES ('/new'), ('/tail-only')) v(url) USING (url) ORDER BY 1;

-- Once everything is folded the tail is empty and read without a query;
-- a row committed after that is still read by the next statement.
SELECT lambda_views.fold('hits_daily');
SELECT count(*) AS after_fold FROM hits_daily WHERE url = '/late';
INSERT INTO hits (url, ts) VALUES ('/late', '2026-05-05 00:00+00');
SELECT url, n FROM hits_daily WHERE url = '/late';
SELECT lv_diff('hits_daily', :'q') AS differing_rows;

SELECT lambda_views.drop_view('hits_daily');
SELECT lambda_views.drop_view('hits_total');
DROP TABLE hits;
DROP FUNCTION plan_uses_indexes(text);
DROP FUNCTION busy_read(text);
