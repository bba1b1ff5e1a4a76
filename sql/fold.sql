-- fold(): every committed source row beyond the speed watermark goes into
-- the speed table exactly once, in chunks of lambda_views.fold_chunk_rows.
SET client_min_messages = warning;
CREATE TABLE clicks (
    id    bigserial PRIMARY KEY,
    page  text,
    ms    int
);
INSERT INTO clicks (page, ms) SELECT 'p' || (i % 10), i FROM generate_series(1, 1000) i;
SELECT lambda_views.create_view('clicks_by_page',
  'SELECT page, count(*) AS n, sum(ms) AS total_ms, max(ms) AS slowest FROM clicks GROUP BY page',
  append_key => 'id', initial_batch => false);
\set q 'SELECT page, count(*) AS n, sum(ms) AS total_ms, max(ms) AS slowest FROM clicks GROUP BY page'

SET lambda_views.realtime = off;
-- Nothing folded yet: with realtime off the view shows only batch + speed.
SELECT count(*) AS groups FROM clicks_by_page;
SELECT view, high_water_mark, speed_watermark, pending_keys, pending_rows, freshness > interval '0' AS behind FROM lambda_views.status WHERE view = 'public.clicks_by_page';

-- fold returns the rows it folded and advances the watermark in the same
-- transaction; a second fold finds nothing.
SELECT lambda_views.fold('clicks_by_page') = (SELECT count(*) FROM clicks) AS folded_all;
SELECT lambda_views.fold('clicks_by_page') AS folded_again;
SELECT speed_watermark = (SELECT max(id) FROM clicks) AS at_head, pending_keys, pending_rows, freshness, rows_folded
  FROM lambda_views.status WHERE view = 'public.clicks_by_page';
SELECT lv_diff('clicks_by_page', :'q') AS differing_rows;

-- A fold that rolls back leaves the watermark and the speed table as they were.
INSERT INTO clicks (page, ms) SELECT 'p' || (i % 4), i FROM generate_series(1, 50) i;
BEGIN;
SELECT lambda_views.fold('clicks_by_page');
ROLLBACK;
SELECT pending_keys FROM lambda_views.status WHERE view = 'public.clicks_by_page';
SELECT lv_diff('clicks_by_page', :'q') AS differing_rows_before_fold;
SELECT lambda_views.fold('clicks_by_page');
SELECT lv_diff('clicks_by_page', :'q') AS differing_rows;

-- Small chunks: a backlog is folded in many bounded steps, each one a
-- range of the append key, with the same result.
SET lambda_views.fold_chunk_rows = 1000;
INSERT INTO clicks (page, ms) SELECT CASE WHEN i % 9 = 0 THEN NULL ELSE 'p' || (i % 12) END, i % 100
  FROM generate_series(1, 4500) i;
SELECT lambda_views.fold('clicks_by_page');
SELECT lv_diff('clicks_by_page', :'q') AS differing_rows;
RESET lambda_views.fold_chunk_rows;

-- Gaps in the append key (rolled-back inserts burn sequence values) are fine.
BEGIN;
INSERT INTO clicks (page, ms) SELECT 'ghost', 1 FROM generate_series(1, 100);
ROLLBACK;
-- burned keys are pending keys, but not pending rows
SELECT pending_keys, pending_rows, freshness FROM lambda_views.status WHERE view = 'public.clicks_by_page';
INSERT INTO clicks (page, ms) VALUES ('after-gap', 7);
SELECT lambda_views.fold('clicks_by_page');
SELECT * FROM clicks_by_page WHERE page IN ('ghost', 'after-gap') ORDER BY page;
SELECT lv_diff('clicks_by_page', :'q') AS differing_rows;

-- The speed table holds partial states, one row per group and generation,
-- found by an index on the group keys.
SELECT pg_get_indexdef(i.indexrelid) ~ 'UNIQUE.*\(k1, gen\) NULLS NOT DISTINCT' AS unique_on_keys_and_gen
  FROM pg_index i JOIN lambda_views.views v ON true
 WHERE v.view_name = 'clicks_by_page'
   AND i.indrelid = format('lambda_views_data.v%s_speed', v.view_id)::regclass;

-- A partitioned source: rows inserted through the parent and straight into
-- a partition are both captured.  (A partition does not inherit an identity
-- column in PostgreSQL 15, but it does inherit a bigserial default.)
CREATE TABLE events (
    id    bigserial,
    day   date NOT NULL,
    kind  text,
    PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE TABLE events_jan PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_feb PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO events (day, kind) SELECT date '2026-01-01' + (i % 59), 'k' || (i % 3) FROM generate_series(1, 300) i;
SELECT lambda_views.create_view('events_daily',
  'SELECT day, kind, count(*) AS n FROM events GROUP BY day, kind', append_key => 'id');
\set qe 'SELECT day, kind, count(*) AS n FROM events GROUP BY day, kind'
INSERT INTO events (day, kind) SELECT date '2026-01-15', 'parent' FROM generate_series(1, 10);
INSERT INTO events_feb (day, kind) SELECT date '2026-02-15', 'direct' FROM generate_series(1, 7);
INSERT INTO events_jan (day, kind) VALUES ('2026-01-02', 'direct');
SELECT lambda_views.fold('events_daily');
SELECT * FROM events_daily WHERE kind IN ('parent', 'direct') ORDER BY day, kind;
SELECT lv_diff('events_daily', :'qe') AS differing_rows;
-- a partition attached later is captured too
CREATE TABLE events_mar (LIKE events INCLUDING DEFAULTS);
ALTER TABLE events ATTACH PARTITION events_mar FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
INSERT INTO events (day, kind) SELECT date '2026-03-03', 'march' FROM generate_series(1, 5);
SELECT lambda_views.fold('events_daily');
SELECT * FROM events_daily WHERE kind = 'march';
SELECT lv_diff('events_daily', :'qe') AS differing_rows;
RESET lambda_views.realtime;

SELECT lambda_views.drop_view('clicks_by_page');
SELECT lambda_views.drop_view('events_daily');
DROP TABLE clicks, events;
