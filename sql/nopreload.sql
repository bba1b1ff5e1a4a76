-- Without shared_preload_libraries (test/regress_nopreload.conf): the library
-- is loaded late, by CREATE EXTENSION and by each session's first call into
-- it.  Everything but the workers works: fold() and recompute() by hand keep
-- the views exact, alter_view switches through them, and status says that
-- no worker runs.  Every read is compared with the view's own query on the
-- source, EXCEPT ALL in both directions.
SET client_min_messages = warning;
SELECT current_setting('shared_preload_libraries') = '' AS not_preloaded;
CREATE EXTENSION lambda_views;

-- The settings a late load can define are there; the postmaster-level
-- lambda_views.max_workers is not defined, and the line postgresql.conf
-- still has for it stays a placeholder, without a warning.
SELECT name, context FROM pg_settings
 WHERE name IN ('lambda_views.realtime', 'lambda_views.fold_chunk_rows', 'lambda_views.workers_enabled')
 ORDER BY name;
SELECT count(*) AS postmaster_settings FROM pg_settings
 WHERE name LIKE 'lambda_views.%' AND context = 'postmaster';
SELECT current_setting('lambda_views.max_workers') AS left_over_line;
-- no launcher to wake
SELECT lambda_views.wake_launcher() AS launcher_woken;

-- a permanent function: it must outlive the reconnections below
CREATE FUNCTION lvn_diff(view_name text, query text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL SELECT * FROM %s)) d',
                   view_name, query, query, view_name) INTO n;
    RETURN n;
END $$;

CREATE ROLE lvn_team;
CREATE TABLE orders (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop    text NOT NULL,
    item    text NOT NULL,
    amount  int NOT NULL
);
INSERT INTO orders (shop, item, amount)
SELECT 's' || (i % 5), 'item-' || (i * 7 % 23), (i % 40) - 5 FROM generate_series(1, 2000) i;
-- one qualifying row: HAVING keeps this group out for now
INSERT INTO orders (shop, item, amount) VALUES ('solo', 'lonely', 10), ('solo', 'refund', -10);

\set q1 'SELECT shop, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, max(item) AS last_item FROM orders WHERE amount > 0 GROUP BY shop HAVING count(*) > 1'
\set qt 'SELECT count(*) AS n, sum(amount) AS total, max(item) AS last_item FROM orders'
SELECT lambda_views.create_view('orders_by_shop', :'q1',
    owner_role => 'lvn_team', description => 'Orders per shop', tags => '{orders}');
SELECT lambda_views.create_view('orders_total', :'qt');
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows;
SELECT lvn_diff('orders_total', :'qt') AS differing_rows_total;
SELECT count(*) AS solo_groups FROM orders_by_shop WHERE shop = 'solo';

-- Inserts: a realtime read sees them at once, a read without the tail sees
-- batch and speed, i.e. the rows up to the speed watermark.
INSERT INTO orders (shop, item, amount)
SELECT 's' || (i % 7), 'item-' || (i % 31), (i % 50) - 3 FROM generate_series(1, 700) i;
INSERT INTO orders (shop, item, amount) VALUES ('solo', 'zz-newest', 3);
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows;
SELECT lvn_diff('orders_total', :'qt') AS differing_rows_total;
SELECT count(*) AS solo_groups FROM orders_by_shop WHERE shop = 'solo';
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_by_shop', :'q1') > 0 AS behind_without_tail;
SELECT speed_watermark AS wm FROM lambda_views.status WHERE view = 'public.orders_by_shop' \gset
SELECT lvn_diff('orders_by_shop', replace(:'q1', 'WHERE amount > 0', 'WHERE amount > 0 AND id <= ' || :wm))
       AS differing_rows_up_to_watermark;
RESET lambda_views.realtime;

-- status: rows wait, and no worker runs to fold them.
SELECT view, version, role, worker_pid, worker_state, last_error,
       pending_rows = (SELECT count(*) FROM orders WHERE id > speed_watermark) AS pending_counted,
       pending_rows > 0 AS rows_wait
  FROM lambda_views.status ORDER BY view;

-- fold() by hand: every committed row reaches the speed layer.
SELECT lambda_views.fold('orders_by_shop') > 0 AS folded;
SELECT lambda_views.fold('orders_by_shop') AS folded_again;
SELECT view, speed_watermark = (SELECT max(id) FROM orders) AS at_head, pending_rows, worker_pid, worker_state
  FROM lambda_views.status WHERE view = 'public.orders_by_shop';
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_realtime_off;
RESET lambda_views.realtime;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows;

-- A new session loads the library at its first read of a view.
\c
SET client_min_messages = warning;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_first_read;
INSERT INTO orders (shop, item, amount)
SELECT 's' || (i % 3), 'item-' || (i % 11), i % 60 FROM generate_series(1, 400) i;
SELECT lvn_diff('orders_total', :'qt') AS differing_rows_total;
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_total', :'qt') > 0 AS total_behind_without_tail;
RESET lambda_views.realtime;
-- a parallel worker loads every library its leader has loaded, this one too
CREATE FUNCTION pg_temp.workers_launched(query text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        IF line ~ 'Workers Launched' THEN
            RETURN substring(line FROM '[0-9]+')::int;
        END IF;
    END LOOP;
    RETURN 0;
END $$;
SET force_parallel_mode = on;
SELECT pg_temp.workers_launched('SELECT count(*) FROM orders') > 0 AS parallel_worker_ran;
SELECT count(*) = (SELECT max(id) FROM orders) AS parallel_count FROM orders;
RESET force_parallel_mode;

-- recompute() by hand: the batch is rebuilt from the rows up to the speed
-- watermark; the rows beyond it still come from the tail.
\c
SET client_min_messages = warning;
SELECT lambda_views.recompute('orders_by_shop') =
       (SELECT count(*) FROM orders WHERE amount > 0 AND id <= s.speed_watermark) AS recomputed_all
  FROM lambda_views.status s WHERE s.view = 'public.orders_by_shop';
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows;
SELECT lambda_views.fold('orders_total') > 0 AS folded_total;
SELECT lambda_views.recompute('orders_total') =
       (SELECT count(*) FROM orders WHERE id <= s.speed_watermark) AS recomputed_all_total
  FROM lambda_views.status s WHERE s.view = 'public.orders_total';
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_total', :'qt') AS differing_rows_total_realtime_off;
RESET lambda_views.realtime;
SELECT view, batch_watermark = speed_watermark AS batch_at_speed, last_recompute_at IS NOT NULL AS recomputed,
       worker_pid, worker_state
  FROM lambda_views.status ORDER BY view;

-- The source stays immutable: the guard triggers work without the preload.
\set VERBOSITY sqlstate
UPDATE orders SET amount = 0 WHERE id = 1;
DELETE FROM orders WHERE id = 1;
TRUNCATE orders;
\set VERBOSITY default

-- alter_view: version 2 replays while version 1 serves; without workers
-- fold() drives the replay to the switch.
\set q2 'SELECT shop, count(*) AS n, sum(amount) AS total, min(amount) AS smallest, max(item) AS last_item FROM orders WHERE amount > 5 GROUP BY shop HAVING sum(amount) > 100'
SELECT lambda_views.alter_view('orders_by_shop', :'q2') IS NOT NULL AS replaying;
SELECT version, role, worker_pid, worker_state FROM lambda_views.status
 WHERE view <> 'public.orders_total' ORDER BY version;
INSERT INTO orders (shop, item, amount)
SELECT 's' || (i % 6), 'item-' || (i % 13), i % 90 FROM generate_series(1, 300) i;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_v1;
SELECT lambda_views.fold('orders_by_shop') >= 0 AS folded;
SELECT version, role FROM lambda_views.status
 WHERE view <> 'public.orders_total' ORDER BY version;
SELECT lvn_diff('orders_by_shop', :'q2') AS differing_rows_v2;
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_by_shop', :'q2') AS differing_rows_v2_realtime_off;
RESET lambda_views.realtime;
SELECT lambda_views.recompute('orders_by_shop') =
       (SELECT count(*) FROM orders WHERE amount > 5 AND id <= s.speed_watermark) AS recomputed_all
  FROM lambda_views.status s WHERE s.view = 'public.orders_by_shop';
SELECT lvn_diff('orders_by_shop', :'q2') AS differing_rows_v2;

-- rollback_view serves version 1 again, caught up with the rows added since.
INSERT INTO orders (shop, item, amount) VALUES ('late', 'a', 1), ('late', 'b', 2);
SELECT lambda_views.rollback_view('orders_by_shop') AS was_serving;
SELECT version, role FROM lambda_views.status
 WHERE view <> 'public.orders_total' ORDER BY version;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_v1;
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_v1_realtime_off;
RESET lambda_views.realtime;

-- A second alter_view, switched in by recompute(): the replay is folded to
-- the head, switched in, and its batch built from every row.
\set q3 'SELECT shop, item, count(*) AS n, sum(amount) AS total FROM orders WHERE amount > 0 GROUP BY shop, item HAVING count(*) > 1'
SELECT lambda_views.alter_view('orders_by_shop', :'q3') IS NOT NULL AS replaying;
INSERT INTO orders (shop, item, amount)
SELECT 's' || (i % 4), 'item-' || (i % 5), i % 20 FROM generate_series(1, 200) i;
SELECT lvn_diff('orders_by_shop', :'q1') AS differing_rows_v1;
SELECT lambda_views.recompute('orders_by_shop') = (SELECT count(*) FROM orders WHERE amount > 0)
       AS recomputed_all;
SELECT version, role, worker_state FROM lambda_views.status
 WHERE view <> 'public.orders_total' ORDER BY version;
SELECT lvn_diff('orders_by_shop', :'q3') AS differing_rows_v3;
SET lambda_views.realtime = off;
SELECT lvn_diff('orders_by_shop', :'q3') AS differing_rows_v3_realtime_off;
RESET lambda_views.realtime;

-- Data product: metadata, a check, the catalog.
SELECT lambda_views.set_product('orders_by_shop', description => 'Orders per shop and item',
                                tags => '{orders,gold}', column_comments => '{"n": "number of orders"}',
                                check_interval => '1 hour');
SELECT obj_description('orders_by_shop'::regclass, 'pg_class') AS comment,
       (SELECT col_description(attrelid, attnum) FROM pg_attribute
         WHERE attrelid = 'orders_by_shop'::regclass AND attname = 'n') AS n_comment;
SELECT lambda_views.add_check('orders_by_shop', 'positive_totals',
                              'SELECT * FROM orders_by_shop WHERE total <= 0');
SELECT check_name, passed FROM lambda_views.check('orders_by_shop') ORDER BY check_name;
SELECT name, owner_role, description, tags, health,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(checks) k) AS checks
  FROM lambda_views.catalog ORDER BY name;
SELECT name FROM lambda_views.search_catalog('gold');

-- drop_view drops every version and its storage.
SELECT lambda_views.drop_view('orders_by_shop');
SELECT format('%I.%I', view_schema, view_name) AS views_left FROM lambda_views.views ORDER BY 1;
SELECT lvn_diff('orders_total', :'qt') AS differing_rows_total;

-- DROP EXTENSION: refused while a view exists; CASCADE leaves the source a
-- plain table again.
\set VERBOSITY sqlstate
DROP EXTENSION lambda_views;
\set VERBOSITY default
DROP EXTENSION lambda_views CASCADE;
SELECT count(*) AS lambda_relations FROM pg_class WHERE relname = 'orders_total' OR relnamespace IN
  (SELECT oid FROM pg_namespace WHERE nspname IN ('lambda_views', 'lambda_views_data'));
SELECT count(*) AS guard_triggers FROM pg_trigger WHERE tgname LIKE 'lambda_views%';
DELETE FROM orders WHERE shop = 'solo';
SELECT count(*) AS solo_rows FROM orders WHERE shop = 'solo';
DROP TABLE orders;
DROP FUNCTION lvn_diff(text, text);
DROP ROLE lvn_team;
