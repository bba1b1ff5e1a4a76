-- The source is append-only while a view reads it: UPDATE, DELETE, TRUNCATE,
-- INSERT ... ON CONFLICT DO UPDATE and MERGE that changes rows are refused.
SET client_min_messages = warning;
CREATE TABLE ledger (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account text NOT NULL,
    amount  numeric NOT NULL,
    ref     text UNIQUE
);
INSERT INTO ledger (account, amount, ref) SELECT 'a' || (i % 3), i, 'r' || i FROM generate_series(1, 30) i;
SELECT lambda_views.create_view('balances',
  'SELECT account, sum(amount) AS balance, count(*) AS entries FROM ledger GROUP BY account');
\set q 'SELECT account, sum(amount) AS balance, count(*) AS entries FROM ledger GROUP BY account'

UPDATE ledger SET amount = 0 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ledger WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ledger;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ledger (account, amount, ref) VALUES ('a1', 5, 'r1')
    ON CONFLICT (ref) DO UPDATE SET amount = excluded.amount;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ledger l USING (VALUES ('r3', 9)) v(ref, amount) ON l.ref = v.ref
 WHEN MATCHED THEN UPDATE SET amount = v.amount;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO ledger l USING (VALUES ('r3')) v(ref) ON l.ref = v.ref
 WHEN MATCHED THEN DELETE;
\echo :LAST_ERROR_SQLSTATE
-- Appending stays allowed, including ON CONFLICT DO NOTHING and a MERGE that only inserts.
INSERT INTO ledger (account, amount, ref) VALUES ('a1', 5, 'r1') ON CONFLICT (ref) DO NOTHING;
MERGE INTO ledger l USING (VALUES ('new-ref', 4)) v(ref, amount) ON l.ref = v.ref
 WHEN NOT MATCHED THEN INSERT (account, amount, ref) VALUES ('a9', v.amount, v.ref);
SELECT count(*) AS rows_now FROM ledger;
SELECT lv_diff('balances', :'q') AS differing_rows;

-- The documented way to correct: append a compensating row, then recompute.
INSERT INTO ledger (account, amount, ref) VALUES ('a1', -1, 'correct r1');
SELECT lambda_views.fold('balances') > 0 AS folded;
SELECT lambda_views.recompute('balances') > 0 AS recomputed;
SELECT lv_diff('balances', :'q') AS differing_rows;

-- A second view on the same source: dropping one keeps the source guarded.
SELECT lambda_views.create_view('entries_per_account',
  'SELECT account, count(*) AS entries FROM ledger GROUP BY account');
SELECT lambda_views.drop_view('balances');
DELETE FROM ledger WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.drop_view('entries_per_account');
-- With no view left the table is an ordinary table again.
DELETE FROM ledger WHERE id = 2;
UPDATE ledger SET amount = 0 WHERE id = 3;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger'::regclass AND tgname LIKE 'lambda_views%';

-- Partitioned source: statements aimed straight at a partition are refused too.
CREATE TABLE readings (
    id     bigserial,
    day    date NOT NULL,
    value  float8,
    PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE TABLE readings_2026 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO readings (day, value) SELECT date '2026-01-01' + i, i FROM generate_series(0, 9) i;
SELECT lambda_views.create_view('readings_daily', 'SELECT day, count(*) AS n FROM readings GROUP BY day', append_key => 'id');
UPDATE readings SET value = 0;
\echo :LAST_ERROR_SQLSTATE
UPDATE readings_2026 SET value = 0;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM readings_2026 WHERE day = '2026-01-01';
\echo :LAST_ERROR_SQLSTATE
TRUNCATE readings_2026;
\echo :LAST_ERROR_SQLSTATE
-- a partition created later is guarded as well
CREATE TABLE readings_2027 PARTITION OF readings FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO readings (day, value) VALUES ('2027-02-02', 1);
DELETE FROM readings_2027;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE readings_2027;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE readings_2026, ledger;
\echo :LAST_ERROR_SQLSTATE
-- rows may not join or leave through partition DDL either
ALTER TABLE readings DETACH PARTITION readings_2027;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE readings_2027;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE readings_2028 (LIKE readings INCLUDING DEFAULTS);
INSERT INTO readings_2028 (day, value) VALUES ('2028-05-05', 1);
ALTER TABLE readings ATTACH PARTITION readings_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE readings_2028;
SELECT count(*) AS rows_kept FROM readings;
SELECT lambda_views.drop_view('readings_daily');
DROP TABLE ledger, readings;
