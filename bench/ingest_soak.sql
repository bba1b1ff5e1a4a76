-- pgbench (bench/soak): 100 page views per transaction into pageviews, shaped
-- like ingest_batch.sql (ts = now() for 99% of rows, up to 3 days late for
-- 1%), over :urls urls (set with -D urls=...): the soak preloads one row for
-- every (url, day) the ingest can reach, so the views' groups stay the same.
INSERT INTO pageviews (url, user_id, ts)
SELECT '/p/' || floor(:urls * random() ^ 3)::int,
       1 + floor(random() * 1000000)::bigint,
       CASE WHEN random() < 0.01 THEN now() - random() * interval '3 days' ELSE now() END
  FROM generate_series(1, 100);
