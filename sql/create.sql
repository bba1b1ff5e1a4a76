-- create_view: one GROUP BY query becomes a relation backed by batch and
-- speed storage, recorded as SQL text in the extension's catalog.
CREATE EXTENSION lambda_views;
SET client_min_messages = warning;

-- lv_diff counts the rows in which a lambda view and its own query, run
-- directly on the source, differ (EXCEPT ALL in both directions).  Every
-- test compares against this ground truth, never against copied numbers.
CREATE FUNCTION public.lv_diff(view_name text, query text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL SELECT * FROM %s)) d',
                   view_name, query, query, view_name) INTO n;
    RETURN n;
END $$;

CREATE TABLE pageviews (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);
INSERT INTO pageviews (url, user_id, ts)
SELECT '/p/' || (i % 7), i % 13, timestamptz '2026-01-01 00:00+00' + i * interval '1 hour'
  FROM generate_series(1, 500) i;

-- append_key defaults to the identity column; the first batch runs at once.
SELECT lambda_views.create_view('pv_daily',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views, sum(user_id) AS user_sum
      FROM pageviews GROUP BY url, date_trunc('day', ts)$$);

-- The relation has the query's column names and types.
SELECT attname, format_type(atttypid, atttypmod)
  FROM pg_attribute WHERE attrelid = 'pv_daily'::regclass AND attnum > 0 ORDER BY attnum;

-- Recorded as schema-qualified SQL text, with the settings it is computed under.
SELECT view_schema, view_name, source, append_key, key_sequence, definition, settings,
       speed_interval, batch_interval
  FROM lambda_views.views;
SELECT speed_watermark, batch_watermark, batch_gen FROM lambda_views.view_state;
SELECT view, source, high_water_mark, speed_watermark, batch_watermark, pending_keys,
       worker_state, last_error
  FROM lambda_views.status;

-- The catalog tables are dumped by pg_dump.
SELECT extconfig::regclass[] FROM pg_extension WHERE extname = 'lambda_views';

-- Storage lives in lambda_views_data and belongs to the caller.
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) = current_user AS mine
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'lambda_views_data' ORDER BY c.relname;

SELECT lv_diff('pv_daily', $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views, sum(user_id) AS user_sum
      FROM pageviews GROUP BY url, date_trunc('day', ts)$$) AS differing_rows;
SELECT * FROM pv_daily WHERE url = '/p/3' ORDER BY day LIMIT 3;

-- initial_batch => false leaves the batch empty; reads are still exact
-- (the real-time tail covers every committed row beyond the watermarks).
SELECT lambda_views.create_view('pv_total',
  'SELECT count(*) AS n, max(ts) AS last_seen FROM pageviews',
  append_key => 'id', speed_interval => '250 milliseconds', batch_interval => '1 hour',
  initial_batch => false);
SELECT batch_watermark, speed_watermark FROM lambda_views.view_state s
  JOIN lambda_views.views v USING (view_id) WHERE v.view_name = 'pv_total';
SELECT lv_diff('pv_total', 'SELECT count(*) AS n, max(ts) AS last_seen FROM pageviews') AS differing_rows;

-- Names in SQL identifier syntax, including a quoted schema and name.
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Events ""x""" (
    "Seq" bigserial PRIMARY KEY,
    "Kind" text,
    amount numeric
);
INSERT INTO "Odd Schema"."Events ""x""" ("Kind", amount)
SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'k' || (i % 3) END, i / 10.0 FROM generate_series(1, 100) i;
SELECT lambda_views.create_view('"Odd Schema"."By ""Kind"""',
  $$SELECT "Kind", sum(amount) AS "Total", count(*) FROM "Odd Schema"."Events ""x""" GROUP BY "Kind"$$,
  append_key => 'Seq');
SELECT * FROM "Odd Schema"."By ""Kind""" ORDER BY 1;
SELECT lv_diff('"Odd Schema"."By ""Kind"""',
  $$SELECT "Kind", sum(amount) AS "Total", count(*) FROM "Odd Schema"."Events ""x""" GROUP BY "Kind"$$) AS differing_rows;

-- The definition survives a change of search_path: it is stored qualified.
SET search_path = pg_catalog;
SELECT count(*) FROM public.pv_daily;
RESET search_path;

-- Every object the extension installs has a COMMENT: every function, the
-- internal support functions included, and the types, schemas, tables,
-- views, sequences and event triggers; and so has the extension's schema.
CREATE TEMP VIEW lv_uncommented AS
SELECT pg_describe_object(d.classid, d.objid, 0) AS without_comment
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'lambda_views'
   AND obj_description(d.objid, d.classid::regclass::text) IS NULL
UNION ALL
SELECT pg_describe_object('pg_namespace'::regclass, e.extnamespace, 0)
  FROM pg_extension e
 WHERE e.extname = 'lambda_views' AND obj_description(e.extnamespace, 'pg_namespace') IS NULL;
SELECT * FROM lv_uncommented ORDER BY 1;
-- (it sees the internal ones: without their comments they are listed)
BEGIN;
COMMENT ON FUNCTION lambda_views.state_final(internal) IS NULL;
COMMENT ON EVENT TRIGGER lambda_views_sql_drop IS NULL;
SELECT * FROM lv_uncommented ORDER BY 1;
ROLLBACK;
DROP VIEW lv_uncommented;

SELECT lambda_views.drop_view('pv_daily');
SELECT lambda_views.drop_view('pv_total');
SELECT lambda_views.drop_view('"Odd Schema"."By ""Kind"""');
DROP SCHEMA "Odd Schema" CASCADE;
DROP TABLE pageviews;
