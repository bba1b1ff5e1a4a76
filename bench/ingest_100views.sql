-- pgbench: one event per transaction into one of the ten sources of the
-- 100-view figure, lv100_1 .. lv100_10 (a light load, paced with -R).
\set s random(1, 10)
\set user_id random(1, 1000000)
INSERT INTO lv100_:s (url, user_id, ts)
VALUES ('/p/' || floor(100000 * random() ^ 3)::int, :user_id,
        CASE WHEN random() < 0.01 THEN now() - random() * interval '3 days' ELSE now() END);
