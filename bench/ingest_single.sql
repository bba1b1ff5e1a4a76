-- pgbench: one page view per transaction into :tbl (set with -D tbl=...),
-- shaped like events: urls and users drawn as in the dataset, ts = now() for
-- 99% of rows and up to 3 days late for 1% (late rows count like any other).
\set user_id random(1, 1000000)
INSERT INTO :tbl (url, user_id, ts)
VALUES ('/p/' || floor(100000 * random() ^ 3)::int, :user_id,
        CASE WHEN random() < 0.01 THEN now() - random() * interval '3 days' ELSE now() END);
