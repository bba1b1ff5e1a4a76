-- pgbench: one page view per transaction into :tbl (set with -D tbl=...),
-- drawn from the same distribution as the dataset.
\set user_id random(1, 1000000)
INSERT INTO :tbl (url, user_id, ts)
VALUES ('/p/' || floor(100000 * random() ^ 3)::int, :user_id,
        now() - random() * interval '30 days');
