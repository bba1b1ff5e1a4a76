-- Data products: product metadata and comment sync, privileges, the
-- catalog, quality checks with alerts, governance policies and the
-- governed purge (exact against the views' own queries on the source).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lambda_views;
CREATE FUNCTION pg_temp.diff(view_name text, query text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL SELECT * FROM %s)) d',
                   view_name, query, query, view_name) INTO n;
    RETURN n;
END $$;

CREATE ROLE lvp_owner;
CREATE ROLE lvp_steward;          -- the accountable owner role of a product
CREATE ROLE lvp_steward_member IN ROLE lvp_steward;
CREATE ROLE lvp_analyst;
CREATE ROLE lvp_reader;
CREATE ROLE lvp_stranger;
CREATE SCHEMA prod AUTHORIZATION lvp_owner;
GRANT USAGE ON SCHEMA prod TO PUBLIC;
GRANT CREATE ON SCHEMA prod TO lvp_analyst;

SET ROLE lvp_owner;
CREATE TABLE prod.sales (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop    text NOT NULL,
    amount  int NOT NULL,
    ts      timestamptz NOT NULL
);
INSERT INTO prod.sales (shop, amount, ts)
SELECT 's' || (i % 4), i, timestamptz '2026-01-01 00:00+00' + i * interval '1 hour'
  FROM generate_series(1, 400) i;
SELECT lambda_views.create_view('prod.sales_by_shop',
  'SELECT shop, count(*) AS n, sum(amount) AS total FROM prod.sales GROUP BY shop',
  owner_role => 'lvp_steward', description => 'Revenue per shop',
  freshness_sla => '1 hour', completeness_sla => 1, tags => '{sales,finance}');
SELECT lambda_views.create_view('prod.big_sales',
  'SELECT shop, date_trunc(''day'', ts) AS day, count(*) AS n, max(amount) AS top FROM prod.sales s WHERE s.amount > 100 GROUP BY shop, date_trunc(''day'', ts)',
  description => 'Daily big sales', tags => '{sales}');
SELECT lambda_views.create_view('prod.sales_total', 'SELECT count(*) AS n, sum(amount) AS total FROM prod.sales');
RESET ROLE;

-- create_view's description becomes the view's comment.
SELECT obj_description('prod.sales_by_shop'::regclass, 'pg_class') AS comment;

----------------------------------------------------------------------------
-- set_product: the owner, and members of the product's owner role.
----------------------------------------------------------------------------
SET ROLE lvp_owner;
SELECT lambda_views.set_product('prod.sales_by_shop', description => 'Revenue and sales per shop',
                                column_comments => '{"shop": "Shop code", "total": "Sum of amounts"}');
SELECT obj_description('prod.sales_by_shop'::regclass, 'pg_class') AS comment,
       col_description('prod.sales_by_shop'::regclass, 1) AS shop,
       col_description('prod.sales_by_shop'::regclass, 2) AS n,
       col_description('prod.sales_by_shop'::regclass, 3) AS total;
RESET ROLE;
-- a member of the owner role may change it too; null removes a column comment
SET ROLE lvp_steward_member;
SELECT lambda_views.set_product('prod.sales_by_shop', column_comments => '{"total": null, "n": "Number of sales"}',
                                tags => '{sales,finance,gold}');
RESET ROLE;
SELECT col_description('prod.sales_by_shop'::regclass, 1) AS shop,
       col_description('prod.sales_by_shop'::regclass, 2) AS n,
       col_description('prod.sales_by_shop'::regclass, 3) AS total;
SELECT owner_role, description, freshness_sla, completeness_sla, tags, column_comments, check_interval
  FROM lambda_views.products p JOIN lambda_views.views v USING (view_id)
 WHERE v.view_name = 'sales_by_shop';

-- a stranger may not, and nobody changes the product rows directly
SET ROLE lvp_stranger;
SELECT lambda_views.set_product('prod.sales_by_shop', description => 'mine now');
\echo :LAST_ERROR_SQLSTATE
UPDATE lambda_views.products SET description = 'mine now';
DELETE FROM lambda_views.products;
RESET ROLE;
-- a steward may not hand the product to a role it is not a member of
SET ROLE lvp_steward_member;
SELECT lambda_views.set_product('prod.sales_by_shop', owner_role => 'lvp_stranger');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT description FROM lambda_views.products p JOIN lambda_views.views v USING (view_id)
 WHERE v.view_name = 'sales_by_shop';

-- invalid metadata
SET ROLE lvp_owner;
SELECT lambda_views.set_product('prod.sales_by_shop', freshness_sla => '-1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales_by_shop', completeness_sla => 1.5);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales_by_shop', check_interval => '0');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales_by_shop', column_comments => '["shop"]');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales_by_shop', column_comments => '{"nope": "x"}');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales_by_shop', column_comments => '{"shop": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.no_such_view', description => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('prod.sales', description => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product(NULL, description => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('prod.bad_sla', 'SELECT count(*) AS n FROM prod.sales', freshness_sla => '0');
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('prod.bad_sla') AS left_behind;
RESET ROLE;

----------------------------------------------------------------------------
-- The catalog: the views the caller may read.
----------------------------------------------------------------------------
SET ROLE lvp_owner;
SELECT lambda_views.fold('prod.sales_by_shop'), lambda_views.fold('prod.big_sales'), lambda_views.fold('prod.sales_total');
SELECT name, owner_role, description, source, schema, freshness_sla, completeness_sla, tags, freshness, health
  FROM lambda_views.catalog WHERE name LIKE 'prod.%' ORDER BY name;
SELECT name FROM lambda_views.search_catalog('finance');
SELECT name FROM lambda_views.search_catalog('DAILY');
SELECT name FROM lambda_views.search_catalog('sales') ORDER BY name;
GRANT SELECT ON prod.sales_by_shop TO lvp_reader;
RESET ROLE;
SET ROLE lvp_reader;
SELECT name, description FROM lambda_views.catalog WHERE name LIKE 'prod.%';
SELECT name FROM lambda_views.search_catalog('sales');
RESET ROLE;
SET ROLE lvp_stranger;
SELECT count(*) AS visible FROM lambda_views.catalog WHERE name LIKE 'prod.%';
RESET ROLE;

----------------------------------------------------------------------------
-- Quality checks.
----------------------------------------------------------------------------
SET ROLE lvp_owner;
SELECT * FROM lambda_views.check('prod.sales_by_shop');
-- user-defined checks: a query that returns the offending rows
-- names resolve under the search_path add_check was called with
SET search_path = prod, public;
SELECT lambda_views.add_check('prod.sales_by_shop', 'no_negative_totals',
                              'SELECT shop FROM sales_by_shop WHERE total < 0;');
RESET search_path;
SELECT lambda_views.add_check('prod.sales_by_shop', 'runs_as_owner',
                              $$SELECT current_user AS who WHERE current_user <> 'lvp_owner'$$);
SELECT check_name, sql, search_path, created_by FROM lambda_views.checks ORDER BY check_name;
-- refused: reserved names, empty queries, queries that do not plan, writes
SELECT lambda_views.add_check('prod.sales_by_shop', 'completeness', 'SELECT 1 WHERE false');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', '', 'SELECT 1 WHERE false');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', 'empty', ' ; ');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', 'typo', 'SELECT * FROM prod.no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', 'writes', 'DELETE FROM prod.sales RETURNING *');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', 'writes', 'WITH d AS (DELETE FROM prod.sales RETURNING *) SELECT * FROM d');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.add_check('prod.sales_by_shop', 'two', 'SELECT 1 WHERE false; SELECT 2 WHERE false');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.remove_check('prod.sales_by_shop', 'no_such_check');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE lvp_stranger;
SELECT lambda_views.add_check('prod.sales_by_shop', 'mine', 'SELECT 1 WHERE false');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.remove_check('prod.sales_by_shop', 'no_negative_totals');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.check('prod.sales_by_shop');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM lambda_views.checks;
UPDATE lambda_views.check_results SET passed = true;
RESET ROLE;

-- all pass; run by the superuser, the checks still run as the view's owner
SELECT * FROM lambda_views.check('prod.sales_by_shop');

-- a breach: WARNING in the log, NOTIFY on lambda_views_alerts
LISTEN lambda_views_alerts;
SET ROLE lvp_owner;
SELECT lambda_views.add_check('prod.sales_by_shop', 'small_shops', 'SELECT shop, n FROM prod.sales_by_shop WHERE n < 1000 ORDER BY shop');
SELECT lambda_views.add_check('prod.sales_by_shop', 'breaks', 'SELECT 1 / (n - n) FROM prod.sales_by_shop');
RESET ROLE;
\o | sed -E -e 's/PID [0-9]+/PID N/' -e 's/"at" : "[^"]*"/"at" : "..."/'
SELECT * FROM lambda_views.check('prod.sales_by_shop');
\o
SELECT name, health, jsonb_pretty(checks - 'completeness' - 'freshness' #- '{breaks,at}' #- '{small_shops,at}' #- '{no_negative_totals,at}' #- '{runs_as_owner,at}') AS checks
  FROM lambda_views.catalog WHERE name = 'prod.sales_by_shop';
SET ROLE lvp_owner;
SELECT lambda_views.remove_check('prod.sales_by_shop', 'small_shops');
SELECT lambda_views.remove_check('prod.sales_by_shop', 'breaks');
RESET ROLE;
SELECT * FROM lambda_views.check('prod.sales_by_shop');
SELECT name, health FROM lambda_views.catalog WHERE name = 'prod.sales_by_shop';

-- completeness: batch + speed must cover every source row up to the
-- speed watermark exactly once; a damaged speed table is caught
SET ROLE lvp_owner;
INSERT INTO prod.sales (shop, amount, ts) VALUES ('s1', 5, '2026-03-01'), ('s9', 7, '2026-03-01');
SELECT lambda_views.fold('prod.sales_by_shop');
SELECT format('%I.v%s_speed', storage_schema, view_id) AS speed_table
  FROM lambda_views.views WHERE view_name = 'sales_by_shop' \gset
UPDATE :speed_table SET nrows = nrows + 1 WHERE k1 = 's9';
RESET ROLE;
\o | sed -E -e 's/PID [0-9]+/PID N/' -e 's/"at" : "[^"]*"/"at" : "..."/'
SELECT check_name, passed, detail FROM lambda_views.check('prod.sales_by_shop') WHERE check_name = 'completeness';
\o
SET ROLE lvp_owner;
SELECT lambda_views.recompute('prod.sales_by_shop') > 0 AS recomputed;
RESET ROLE;
SELECT check_name, passed, detail FROM lambda_views.check('prod.sales_by_shop') WHERE check_name = 'completeness';
UNLISTEN *;

-- freshness: rows wait unfolded (no worker here) beyond a tiny SLA: late
SET ROLE lvp_owner;
SELECT lambda_views.fold('prod.big_sales');
SELECT lambda_views.set_product('prod.big_sales', freshness_sla => '1 microsecond');
SELECT name, health FROM lambda_views.catalog WHERE name = 'prod.big_sales';
INSERT INTO prod.sales (shop, amount, ts) VALUES ('s2', 500, '2026-03-02');
SELECT pg_sleep(0.01);
SELECT name, health FROM lambda_views.catalog WHERE name = 'prod.big_sales';
SET client_min_messages = error;  -- the WARNING would show the measured freshness
SELECT check_name, passed FROM lambda_views.check('prod.big_sales');
SET client_min_messages = warning;
SELECT lambda_views.fold('prod.big_sales');
SELECT check_name, passed FROM lambda_views.check('prod.big_sales');
SELECT name, health FROM lambda_views.catalog WHERE name = 'prod.big_sales';
-- a fold error newer than the last fold makes the product failing (only the
-- extension writes the catalog: the owner cannot; the superuser simulates it)
UPDATE lambda_views.view_state SET last_error = 'simulated', last_error_at = clock_timestamp()
 WHERE view_id = (SELECT view_id FROM lambda_views.views WHERE view_name = 'big_sales');
SET ROLE NONE;
UPDATE lambda_views.view_state SET last_error = 'simulated', last_error_at = clock_timestamp()
 WHERE view_id = (SELECT view_id FROM lambda_views.views WHERE view_name = 'big_sales');
SET ROLE lvp_owner;
SELECT name, health, last_error FROM lambda_views.catalog WHERE name = 'prod.big_sales';
SELECT lambda_views.fold('prod.big_sales');
SELECT name, health FROM lambda_views.catalog WHERE name = 'prod.big_sales';
RESET ROLE;

-- scheduled checks: run_due_checks runs those whose check_interval passed
SET ROLE lvp_owner;
SELECT lambda_views.set_product('prod.sales_total', check_interval => '1 hour');
RESET ROLE;
SELECT lambda_views.run_due_checks() AS checked;
SELECT lambda_views.run_due_checks() AS checked;
SELECT check_name, passed FROM lambda_views.check_results r JOIN lambda_views.views v USING (view_id)
 WHERE v.view_name = 'sales_total';

----------------------------------------------------------------------------
-- Governance policies.
----------------------------------------------------------------------------
SET ROLE lvp_owner;
INSERT INTO lambda_views.policies (policy_name, require_owner) VALUES ('mine', true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
CREATE SCHEMA governed AUTHORIZATION lvp_owner;
INSERT INTO lambda_views.policies (policy_name, applies_to_schema, require_owner, require_description,
                                   require_freshness_sla, max_freshness_sla)
VALUES ('governed_products', 'governed', true, true, true, '1 day');
SET ROLE lvp_owner;
SELECT count(*) AS views_before FROM lambda_views.views \gset
SELECT count(*) AS storage_before FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname ^@ 'lambda_views_data' \gset
\set q 'SELECT shop, count(*) AS n FROM prod.sales GROUP BY shop'
SELECT lambda_views.create_view('governed.per_shop', :'q');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('governed.per_shop', :'q', owner_role => 'lvp_steward');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('governed.per_shop', :'q', owner_role => 'lvp_steward', description => '  ');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('governed.per_shop', :'q', owner_role => 'lvp_steward', description => 'Sales per shop');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.create_view('governed.per_shop', :'q', owner_role => 'lvp_steward', description => 'Sales per shop',
                                freshness_sla => '2 days');
\echo :LAST_ERROR_SQLSTATE
-- nothing was left behind
SELECT to_regclass('governed.per_shop') AS relation,
       (SELECT count(*) FROM lambda_views.views) - :views_before AS new_views,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname ^@ 'lambda_views_data') - :storage_before AS new_storage;
-- other schemas are not governed by it; a compliant view is created
SELECT lambda_views.create_view('prod.per_shop', :'q') IS NOT NULL AS created;
SELECT lambda_views.drop_view('prod.per_shop');
SELECT lambda_views.create_view('governed.per_shop', :'q', owner_role => 'lvp_steward', description => 'Sales per shop',
                                freshness_sla => '1 hour');
-- set_product keeps to the policy too
SELECT lambda_views.set_product('governed.per_shop', freshness_sla => '1 week');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.set_product('governed.per_shop', description => '');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.drop_view('governed.per_shop');
RESET ROLE;
DELETE FROM lambda_views.policies;

----------------------------------------------------------------------------
-- Retention: purge is the only way to delete source rows.
----------------------------------------------------------------------------
-- a view on the same source owned by another role
GRANT SELECT, TRIGGER ON prod.sales TO lvp_analyst;
SET ROLE lvp_analyst;
SELECT lambda_views.create_view('prod.analyst_days',
  'SELECT date_trunc(''month'', ts) AS month, count(*) AS n, avg(amount) AS avg_amount FROM prod.sales GROUP BY 1') IS NOT NULL AS created;
-- the analyst does not own the source: no purge
SELECT lambda_views.purge('prod.sales', '2026-01-05', 'ts');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE lvp_owner;
DELETE FROM prod.sales WHERE ts < '2026-01-05';
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.purge('prod.sales', '2026-01-05', 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.purge('prod.sales', '2026-01-05', 'shop');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.purge('prod.sales', NULL, 'ts');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.purge('prod.sales_by_shop', '2026-01-05', 'ts');
\echo :LAST_ERROR_SQLSTATE
-- unfolded rows, old and new, are waiting when the purge runs
INSERT INTO prod.sales (shop, amount, ts) VALUES ('s0', 1, '2025-12-01'), ('s3', 3, '2026-04-01');
-- a purge rolled back changes nothing
BEGIN;
SELECT lambda_views.purge('prod.sales', '2026-01-05', 'ts') AS purged;
ROLLBACK;
SELECT count(*) AS old_rows FROM prod.sales WHERE ts < '2026-01-05';
SELECT lambda_views.purge('prod.sales', '2026-01-05', 'ts') AS purged;
SELECT count(*) AS old_rows FROM prod.sales WHERE ts < '2026-01-05';
RESET ROLE;
-- exact: every view equals its query on what is left, also without the tail
SELECT pg_temp.diff('prod.sales_by_shop', 'SELECT shop, count(*) AS n, sum(amount) AS total FROM prod.sales GROUP BY shop') AS sales_by_shop,
       pg_temp.diff('prod.big_sales', 'SELECT shop, date_trunc(''day'', ts) AS day, count(*) AS n, max(amount) AS top FROM prod.sales s WHERE s.amount > 100 GROUP BY shop, date_trunc(''day'', ts)') AS big_sales,
       pg_temp.diff('prod.sales_total', 'SELECT count(*) AS n, sum(amount) AS total FROM prod.sales') AS sales_total,
       pg_temp.diff('prod.analyst_days', 'SELECT date_trunc(''month'', ts) AS month, count(*) AS n, avg(amount) AS avg_amount FROM prod.sales GROUP BY 1') AS analyst_days;
SET lambda_views.realtime = off;
SELECT pg_temp.diff('prod.sales_by_shop', 'SELECT shop, count(*) AS n, sum(amount) AS total FROM prod.sales GROUP BY shop') AS sales_by_shop,
       pg_temp.diff('prod.big_sales', 'SELECT shop, date_trunc(''day'', ts) AS day, count(*) AS n, max(amount) AS top FROM prod.sales s WHERE s.amount > 100 GROUP BY shop, date_trunc(''day'', ts)') AS big_sales,
       pg_temp.diff('prod.sales_total', 'SELECT count(*) AS n, sum(amount) AS total FROM prod.sales') AS sales_total,
       pg_temp.diff('prod.analyst_days', 'SELECT date_trunc(''month'', ts) AS month, count(*) AS n, avg(amount) AS avg_amount FROM prod.sales GROUP BY 1') AS analyst_days;
RESET lambda_views.realtime;
SELECT v.view_name, s.pending_rows, s.batch_watermark = s.speed_watermark AS batch_covers_all
  FROM lambda_views.status s JOIN lambda_views.views v USING (view_id)
 WHERE v.view_schema = 'prod' ORDER BY 1;
SELECT check_name, passed FROM lambda_views.check('prod.big_sales') WHERE check_name = 'completeness';
-- the source is immutable again, and stays exact as rows arrive
SET ROLE lvp_owner;
DELETE FROM prod.sales WHERE ts < '2026-01-06';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO prod.sales (shop, amount, ts) VALUES ('s1', 11, '2026-05-01');
SELECT lambda_views.fold('prod.sales_by_shop');
RESET ROLE;
SELECT pg_temp.diff('prod.sales_by_shop', 'SELECT shop, count(*) AS n, sum(amount) AS total FROM prod.sales GROUP BY shop') AS sales_by_shop;

-- a partitioned source: the purge reaches every partition
SET ROLE lvp_owner;
CREATE TABLE prod.clicks (
    id   bigint GENERATED ALWAYS AS IDENTITY,
    page text NOT NULL,
    ts   date NOT NULL
) PARTITION BY RANGE (ts);
CREATE TABLE prod.clicks_2025 PARTITION OF prod.clicks FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE prod.clicks_2026 PARTITION OF prod.clicks FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX ON prod.clicks (id);
INSERT INTO prod.clicks (page, ts) SELECT 'p' || (i % 3), date '2025-11-01' + i FROM generate_series(1, 120) i;
SELECT lambda_views.create_view('prod.clicks_per_page', 'SELECT page, count(*) AS n, min(ts) AS first FROM prod.clicks GROUP BY page') IS NOT NULL AS created;
DELETE FROM prod.clicks_2025;
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.purge('prod.clicks', '2026-01-15', 'ts') AS purged;
SELECT pg_temp.diff('prod.clicks_per_page', 'SELECT page, count(*) AS n, min(ts) AS first FROM prod.clicks GROUP BY page') AS clicks_per_page;
SELECT count(*) AS left_in_2025 FROM prod.clicks_2025;
DELETE FROM prod.clicks_2026;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- clean up
SET ROLE lvp_owner;
SELECT lambda_views.drop_view('prod.sales_by_shop');
SELECT lambda_views.drop_view('prod.big_sales');
SELECT lambda_views.drop_view('prod.sales_total');
SELECT lambda_views.drop_view('prod.clicks_per_page');
RESET ROLE;
SET ROLE lvp_analyst;
SELECT lambda_views.drop_view('prod.analyst_days');
RESET ROLE;
SELECT count(*) AS products_left FROM lambda_views.products p JOIN lambda_views.views v USING (view_id)
 WHERE v.view_schema IN ('prod', 'governed');
SELECT count(*) AS checks_left FROM lambda_views.checks;
DROP SCHEMA prod, governed CASCADE;
DROP ROLE lvp_owner, lvp_steward_member, lvp_steward, lvp_analyst, lvp_reader, lvp_stranger;
