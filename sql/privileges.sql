-- Privileges: creating a view needs SELECT on the source (and, to freeze it,
-- ownership or TRIGGER); reading needs SELECT on the view; the view's
-- objects belong to its creator; nothing widens anyone's rights.
SET client_min_messages = warning;
CREATE ROLE lv_owner;
CREATE ROLE lv_analyst;
CREATE ROLE lv_reader;
CREATE ROLE lv_stranger;
GRANT CREATE ON SCHEMA public TO lv_owner, lv_analyst;
SET ROLE lv_owner;
CREATE TABLE orders (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop   text NOT NULL,
    total  numeric NOT NULL,
    secret text
);
INSERT INTO orders (shop, total, secret) SELECT 's' || (i % 3), i, 'x' FROM generate_series(1, 60) i;
RESET ROLE;

-- No SELECT on the source: refused.
SET ROLE lv_analyst;
SELECT lambda_views.create_view('orders_by_shop', 'SELECT shop, count(*) AS n, sum(total) AS revenue FROM orders GROUP BY shop');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- SELECT but neither ownership nor TRIGGER: refused, the source cannot be frozen.
GRANT SELECT ON orders TO lv_analyst;
SET ROLE lv_analyst;
SELECT lambda_views.create_view('orders_by_shop', 'SELECT shop, count(*) AS n, sum(total) AS revenue FROM orders GROUP BY shop');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT TRIGGER ON orders TO lv_analyst;
SET ROLE lv_analyst;
SELECT lambda_views.create_view('orders_by_shop', 'SELECT shop, count(*) AS n, sum(total) AS revenue FROM orders GROUP BY shop');
\set q 'SELECT shop, count(*) AS n, sum(total) AS revenue FROM orders GROUP BY shop'
SELECT lv_diff('orders_by_shop', :'q') AS differing_rows;
RESET ROLE;

-- Everything the view made belongs to its creator.
SELECT DISTINCT pg_get_userbyid(c.relowner) AS storage_owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = (SELECT storage_schema FROM lambda_views.views WHERE view_name = 'orders_by_shop')
    OR c.relname = 'orders_by_shop';
-- its storage lives in a schema of its own, which only it may name
SELECT storage_schema FROM lambda_views.views WHERE view_name = 'orders_by_shop';
SELECT r.rolname, has_schema_privilege(r.rolname, 'lambda_views_data_lv_analyst', 'USAGE') AS usage,
       has_schema_privilege(r.rolname, 'lambda_views_data_lv_analyst', 'CREATE') AS create
  FROM pg_roles r WHERE r.rolname IN ('lv_analyst', 'lv_reader') ORDER BY 1;
SELECT owner FROM lambda_views.status WHERE view = 'public.orders_by_shop';

-- Reading needs SELECT on the view, not on the source (the real-time tail
-- reads the source as the view's owner).
INSERT INTO orders (shop, total) VALUES ('s-new', 10);
SET ROLE lv_reader;
SELECT * FROM orders_by_shop WHERE shop = 's-new';
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_views.tail((SELECT view_id FROM lambda_views.views WHERE view_name = 'orders_by_shop'), 'orders') AS t(k1 text, s1 bytea, s2 bytea, nrows bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM orders;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE lv_analyst;
GRANT SELECT ON orders_by_shop TO lv_reader;
RESET ROLE;
SET ROLE lv_reader;
SELECT * FROM orders_by_shop WHERE shop = 's-new';
SELECT count(*) FROM orders;
\echo :LAST_ERROR_SQLSTATE
-- nor can a reader get at the storage or the source through the view's internals
RESET ROLE;
SELECT format('%I.v%s_speed', storage_schema, view_id) AS speed_table FROM lambda_views.views WHERE view_name = 'orders_by_shop' \gset
SET ROLE lv_reader;
SELECT count(*) FROM :speed_table;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Only the owner folds, recomputes or drops; no one else changes its state.
SET ROLE lv_stranger;
SELECT lambda_views.fold('orders_by_shop');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.recompute('orders_by_shop');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.drop_view('orders_by_shop');
\echo :LAST_ERROR_SQLSTATE
UPDATE lambda_views.view_state SET speed_watermark = 0;
DELETE FROM lambda_views.views;
UPDATE lambda_views.views SET definition = 'SELECT 1';
SELECT count(*) AS views_visible FROM lambda_views.status;
RESET ROLE;
SELECT speed_watermark > 0 AS watermark_kept FROM lambda_views.status WHERE view = 'public.orders_by_shop';
SET ROLE lv_analyst;
SELECT lambda_views.fold('orders_by_shop');
RESET ROLE;

-- Fold and the tail act as the owner: when the owner loses SELECT on the
-- source, they fail instead of reading with someone else's rights.
REVOKE SELECT ON orders FROM lv_analyst;
INSERT INTO orders (shop, total) VALUES ('s-after-revoke', 1);
SELECT lambda_views.fold('orders_by_shop');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM orders_by_shop WHERE shop = 's-after-revoke';
\echo :LAST_ERROR_SQLSTATE
SET lambda_views.realtime = off;
SELECT count(*) AS groups_without_tail FROM orders_by_shop;
RESET lambda_views.realtime;
GRANT SELECT ON orders TO lv_analyst;
SELECT lambda_views.fold('orders_by_shop');
SELECT lv_diff('orders_by_shop', :'q') AS differing_rows;

-- A superuser may manage any view.
SELECT lambda_views.recompute('orders_by_shop') > 0 AS recomputed;
SELECT lambda_views.drop_view('orders_by_shop');
DROP TABLE orders;
REVOKE CREATE ON SCHEMA public FROM lv_owner, lv_analyst;
DROP ROLE lv_owner, lv_analyst, lv_reader, lv_stranger;
