-- recompute(): rebuild the batch from every source row up to the speed
-- watermark into a new table and swap it in; the speed rows it covers stop
-- counting at once and are deleted, with the replaced batch, once no reader
-- can use that batch (the next fold here).
SET client_min_messages = warning;
CREATE TABLE sales (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region  text NOT NULL,
    amount  numeric NOT NULL
);
INSERT INTO sales (region, amount) SELECT 'r' || (i % 4), i FROM generate_series(1, 400) i;
SELECT lambda_views.create_view('sales_by_region',
  'SELECT region, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM sales GROUP BY region');
\set q 'SELECT region, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM sales GROUP BY region'
CREATE FUNCTION speed_rows() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM lambda_views_data.%I',
                   (SELECT format('v%s_speed', view_id) FROM lambda_views.views WHERE view_name = 'sales_by_region'))
       INTO n;
    RETURN n;
END $$;
CREATE FUNCTION live_speed_rows() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM lambda_views_data.%I WHERE gen > %s',
                   (SELECT format('v%s_speed', view_id) FROM lambda_views.views WHERE view_name = 'sales_by_region'),
                   (SELECT batch_gen FROM lambda_views.status WHERE view = 'public.sales_by_region'))
       INTO n;
    RETURN n;
END $$;
CREATE FUNCTION batch_partitions() RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM pg_inherits i JOIN lambda_views.views v
    ON i.inhparent = format('lambda_views_data.v%s_batch', v.view_id)::regclass
 WHERE v.view_name = 'sales_by_region'
$$;

SELECT batch_gen, batch_watermark, speed_watermark FROM lambda_views.status WHERE view = 'public.sales_by_region';

-- Fold some rows, then recompute: the batch now covers them, the speed rows
-- of the closed generation no longer count, and the view is unchanged.
-- The next fold drops the replaced batch and those speed rows.
INSERT INTO sales (region, amount) SELECT 'r' || (i % 6), i * 2 FROM generate_series(1, 120) i;
SELECT lambda_views.fold('sales_by_region');
SELECT speed_rows() > 0 AS speed_has_rows;
SELECT lambda_views.recompute('sales_by_region') = (SELECT count(*) FROM sales) AS read_every_row;
SELECT live_speed_rows() AS live_speed_rows_after_recompute;
SELECT batch_gen, batch_watermark = speed_watermark AS batch_at_speed_watermark, rows_recomputed
  FROM lambda_views.status WHERE view = 'public.sales_by_region';
-- The new partition has each index of the batch table once, attached to
-- the batch table's (the partial ones are made before the load, the key
-- index by ATTACH), and no other.
SELECT format('%I.%I', storage_schema, 'v' || view_id || '_batch') AS bt,
       format('%I.%I', storage_schema, 'v' || view_id || '_batch_' || batch_gen) AS bp
  FROM lambda_views.views JOIN lambda_views.view_state USING (view_id)
 WHERE view_name = 'sales_by_region' \gset
SELECT (SELECT count(*) FROM pg_index WHERE indrelid = :'bt'::regclass) AS batch_table_indexes,
       count(*) AS partition_indexes,
       count(DISTINCT h.inhparent) FILTER (WHERE p.indrelid = :'bt'::regclass) AS attached,
       count(*) FILTER (WHERE i.indpred IS NOT NULL) AS partial
  FROM pg_index i
  LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
  LEFT JOIN pg_index p ON p.indexrelid = h.inhparent
 WHERE i.indrelid = :'bp'::regclass;
-- ... and statistics from the start: the recompute analyzed it (a manual
-- ANALYZE; autovacuum's would set last_autoanalyze), so the planner sees
-- its rows and its one generation, not default guesses
SELECT count(*) AS partition_rows FROM :bp \gset
SELECT s.last_analyze IS NOT NULL AS analyzed, c.reltuples = :partition_rows AS rows_known,
       EXISTS (SELECT FROM pg_stats WHERE schemaname || '.' || tablename = :'bp' AND attname = 'gen') AS gen_stats
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
 WHERE s.relid = :'bp'::regclass;
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;
SELECT lambda_views.fold('sales_by_region');
SELECT speed_rows() AS speed_rows_after_fold, batch_partitions() AS batch_partitions_after_fold;
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;
SET lambda_views.realtime = off;
SELECT lv_diff('sales_by_region', :'q') AS differing_rows_realtime_off;
RESET lambda_views.realtime;

-- Rows not folded yet are not in the batch (it stops at the speed
-- watermark), but the view still shows them through the real-time tail.
INSERT INTO sales (region, amount) VALUES ('late', 5), ('late', 6);
SELECT lambda_views.recompute('sales_by_region') = (SELECT count(*) FROM sales WHERE region <> 'late') AS stops_at_watermark;
SELECT * FROM sales_by_region WHERE region = 'late';
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;
SET lambda_views.realtime = off;
SELECT count(*) AS late_groups_without_tail FROM sales_by_region WHERE region = 'late';
SELECT lambda_views.fold('sales_by_region');
SELECT lv_diff('sales_by_region', :'q') AS differing_rows_realtime_off;
RESET lambda_views.realtime;

-- Several speed generations between recomputes hand over exactly.
INSERT INTO sales (region, amount) SELECT 'r1', 1 FROM generate_series(1, 10);
SELECT lambda_views.fold('sales_by_region');
SELECT lambda_views.recompute('sales_by_region') > 0 AS recomputed;
INSERT INTO sales (region, amount) SELECT 'r2', 1 FROM generate_series(1, 10);
SELECT lambda_views.fold('sales_by_region');
INSERT INTO sales (region, amount) SELECT 'r3', 1 FROM generate_series(1, 10);
SELECT lambda_views.fold('sales_by_region');
SELECT lambda_views.recompute('sales_by_region') > 0 AS recomputed;
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;

-- Replaced batch tables are dropped once no snapshot can still read them:
-- at most the current one and the one it replaced remain, and a fold
-- leaves only the current one.
SELECT batch_partitions() <= 2 AS old_batches_dropped;
SELECT lambda_views.fold('sales_by_region');
SELECT batch_partitions() AS batch_partitions_after_fold;

-- Correcting data: append a compensating row, then recompute.
INSERT INTO sales (region, amount) VALUES ('r0', -100);
SELECT lambda_views.fold('sales_by_region');
SELECT lambda_views.recompute('sales_by_region') > 0 AS recomputed;
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;

-- recompute inside a transaction that rolls back changes nothing.
SELECT batch_gen AS gen_before FROM lambda_views.status WHERE view = 'public.sales_by_region' \gset
BEGIN;
SELECT lambda_views.recompute('sales_by_region') > 0 AS recomputed;
ROLLBACK;
SELECT batch_gen = :gen_before AS gen_unchanged FROM lambda_views.status WHERE view = 'public.sales_by_region';
SELECT lv_diff('sales_by_region', :'q') AS differing_rows;

SELECT lambda_views.drop_view('sales_by_region');
DROP TABLE sales;
DROP FUNCTION speed_rows(), live_speed_rows(), batch_partitions();

-- A batch row keeps a state only for aggregates whose final value is not
-- their state: count, sum(int), min, max and bool_and are merged from their
-- final values, avg(numeric) from its state.  Merges of batch rows with
-- speed rows and the tail stay exact.
CREATE TABLE orders2 (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop    text,
    amount  int NOT NULL,
    price   numeric NOT NULL,
    item    text NOT NULL
);
INSERT INTO orders2 (shop, amount, price, item)
SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE 's' || (i % 5) END, i, i / 3.0, 'item' || i
  FROM generate_series(1, 300) i;
\set q2 'SELECT shop, count(*) AS n, sum(amount) AS total, min(price) AS cheapest, max(item) AS last_item, avg(price) AS mean, bool_and(amount > 3) AS big FROM orders2 GROUP BY shop'
SELECT lambda_views.create_view('orders2_by_shop', :'q2');
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a JOIN lambda_views.views v
    ON a.attrelid = format('lambda_views_data.v%s_batch', v.view_id)::regclass
 WHERE v.view_name = 'orders2_by_shop' AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
-- The batch statement computes those aggregates by their own call (it
-- keeps no state for them), avg through partial() and finalize().
SELECT (SELECT array_agg(m[1] ORDER BY m[1])
          FROM regexp_matches(batch_sql, '[ (](pg_catalog\.(?:count|sum|min|max|bool_and|avg))\(', 'g') m) AS direct,
       (SELECT count(*) FROM regexp_matches(batch_sql, 'lambda_views\.finalize\(', 'g')) AS finalized
  FROM lambda_views.views WHERE view_name = 'orders2_by_shop';
INSERT INTO orders2 (shop, amount, price, item)
SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE 's' || (i % 9) END, i % 4, i / 7.0, 'zitem' || i
  FROM generate_series(1, 200) i;
SELECT lv_diff('orders2_by_shop', :'q2') AS differing_rows_tail;
SELECT lambda_views.fold('orders2_by_shop') AS folded;
SELECT lv_diff('orders2_by_shop', :'q2') AS differing_rows_speed;
SET lambda_views.realtime = off;
SELECT lv_diff('orders2_by_shop', :'q2') AS differing_rows_speed_realtime_off;
RESET lambda_views.realtime;
SELECT lambda_views.recompute('orders2_by_shop') AS recomputed;
INSERT INTO orders2 (shop, amount, price, item) VALUES ('s1', 1, 0.5, 'a'), (NULL, 2, 99, 'zz');
SELECT lv_diff('orders2_by_shop', :'q2') AS differing_rows_after_recompute;
-- lambda_views.merge takes a batch row's final value as its state whether
-- the batch row comes first in its group or after a speed row: 5 + 3
SELECT lambda_views.merge('pg_catalog.count()'::pg_catalog.regprocedure, u.s, u.f, u.from_batch
                          ORDER BY u.ord) AS speed_row_first,
       lambda_views.merge('pg_catalog.count()'::pg_catalog.regprocedure, u.s, u.f, u.from_batch
                          ORDER BY u.ord DESC) AS batch_row_first
  FROM (SELECT 1 AS ord, (SELECT lambda_views.partial('pg_catalog.count()'::pg_catalog.regprocedure)
                            FROM generate_series(1, 3)) AS s, NULL::bigint AS f, false AS from_batch
        UNION ALL SELECT 2, NULL, 5::bigint, true) u;
-- a final value that stands for a state is checked as a stored state is:
-- an array state of an aggregate with no final function may not hold NULLs
CREATE AGGREGATE arr_max(int[]) (SFUNC = array_larger, STYPE = int[],
                                 COMBINEFUNC = array_larger, PARALLEL = SAFE);
SELECT lambda_views.merge('arr_max(int[])'::regprocedure, u.s, u.f, u.b ORDER BY u.o) AS merged
  FROM (SELECT 1 AS o, (SELECT lambda_views.partial('arr_max(int[])'::regprocedure, ARRAY[i, 1])
                          FROM generate_series(1, 3) i) AS s, NULL::int[] AS f, false AS b
        UNION ALL SELECT 2, NULL, ARRAY[9, 9], true) u;
SELECT lambda_views.merge('arr_max(int[])'::regprocedure, u.s, u.f, u.b ORDER BY u.o) AS merged
  FROM (SELECT 1 AS o, (SELECT lambda_views.partial('arr_max(int[])'::regprocedure, ARRAY[i, 1])
                          FROM generate_series(1, 3) i) AS s, NULL::int[] AS f, false AS b
        UNION ALL SELECT 2, NULL, ARRAY[9, NULL], true) u;
DROP AGGREGATE arr_max(int[]);
SELECT lambda_views.drop_view('orders2_by_shop');
DROP TABLE orders2;

-- The first fold of 1000 or more source rows into a speed table that has no
-- statistics yet analyzes it (autovacuum's would set last_autoanalyze)
CREATE TABLE bulk (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, g int NOT NULL);
SELECT lambda_views.create_view('bulk_by_g', 'SELECT g, count(*) AS n FROM bulk GROUP BY g') IS NOT NULL AS created;
SELECT format('%I.%I', storage_schema, 'v' || view_id || '_speed') AS bulk_speed
  FROM lambda_views.views WHERE view_name = 'bulk_by_g' \gset
INSERT INTO bulk (g) SELECT i % 500 FROM generate_series(1, 999) i;
SELECT lambda_views.fold('bulk_by_g');
SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relid = :'bulk_speed'::regclass;
INSERT INTO bulk (g) SELECT i % 500 FROM generate_series(1, 1000) i;
SELECT lambda_views.fold('bulk_by_g');
SELECT coalesce(last_analyze, last_autoanalyze) IS NOT NULL AS analyzed,
       (SELECT reltuples FROM pg_class WHERE oid = :'bulk_speed'::regclass) AS speed_rows
  FROM pg_stat_user_tables WHERE relid = :'bulk_speed'::regclass;
SELECT lv_diff('bulk_by_g', 'SELECT g, count(*) AS n FROM bulk GROUP BY g') AS differing_rows;
SELECT lambda_views.drop_view('bulk_by_g');
DROP TABLE bulk;
