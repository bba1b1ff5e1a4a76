-- pgbench: 100 page views per transaction into :tbl (set with -D tbl=...),
-- shaped like events: ts = now() for 99% of rows, up to 3 days late for 1%.
INSERT INTO :tbl (url, user_id, ts)
SELECT '/p/' || floor(100000 * random() ^ 3)::int,
       1 + floor(random() * 1000000)::bigint,
       CASE WHEN random() < 0.01 THEN now() - random() * interval '3 days' ELSE now() END
  FROM generate_series(1, 100);
