-- pgbench: 100 page views per transaction into :tbl (set with -D tbl=...).
INSERT INTO :tbl (url, user_id, ts)
SELECT '/p/' || floor(100000 * random() ^ 3)::int,
       1 + floor(random() * 1000000)::bigint,
       now() - random() * interval '30 days'
  FROM generate_series(1, 100);
