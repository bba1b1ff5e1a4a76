-- drop_view, dropping the relation, dropping the source and DROP EXTENSION
-- leave no orphaned storage, catalog rows or triggers.
SET client_min_messages = warning;
CREATE FUNCTION leftovers() RETURNS TABLE (what text, name text) LANGUAGE sql AS $$
SELECT 'storage', c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'lambda_views_data'
UNION ALL
SELECT 'catalog', format('%I.%I', view_schema, view_name) FROM lambda_views.views
UNION ALL
SELECT 'state', view_id::text FROM lambda_views.view_state
UNION ALL
SELECT 'trigger', tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE tgname LIKE 'lambda_views%'
ORDER BY 1, 2
$$;
SELECT * FROM leftovers();
CREATE TABLE src (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int);
INSERT INTO src (k) SELECT i % 5 FROM generate_series(1, 50) i;

-- drop_view removes everything it made.
SELECT lambda_views.create_view('v1', 'SELECT k, count(*) AS n FROM src GROUP BY k');
SELECT lambda_views.fold('v1');
SELECT lambda_views.recompute('v1') > 0 AS recomputed;
SELECT lambda_views.drop_view('v1');
SELECT * FROM leftovers();

-- DROP VIEW on the relation itself: the storage goes with it and the
-- catalog forgets the view, without notices about storage already gone.
SELECT lambda_views.create_view('v2', 'SELECT k, count(*) AS n FROM src GROUP BY k');
SET client_min_messages = notice;
DROP VIEW v2;
SET client_min_messages = warning;
SELECT * FROM leftovers();

-- Dropping the source is refused while a view reads it; CASCADE drops the
-- views with it.
CREATE SCHEMA app;
CREATE TABLE app.src2 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int);
INSERT INTO app.src2 (k) VALUES (1), (2), (2);
SELECT lambda_views.create_view('app.v3', 'SELECT k, count(*) AS n FROM app.src2 GROUP BY k');
SELECT lambda_views.create_view('v4', 'SELECT count(*) AS n FROM app.src2');
DROP TABLE app.src2;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM app.v3 ORDER BY k;
DROP TABLE app.src2 CASCADE;
SELECT * FROM leftovers();
-- as does DROP SCHEMA ... CASCADE
CREATE TABLE app.src3 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int);
SELECT lambda_views.create_view('app.v5', 'SELECT k, count(*) AS n FROM app.src3 GROUP BY k');
DROP SCHEMA app CASCADE;
SELECT * FROM leftovers();

-- Renaming or moving a source, a source's column or a view's relation is
-- refused: the view is stored as SQL text that names them.
SELECT lambda_views.create_view('v6', 'SELECT k, count(*) AS n FROM src GROUP BY k');
ALTER TABLE src RENAME TO src_renamed;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE src RENAME COLUMN k TO kk;
\echo :LAST_ERROR_SQLSTATE
CREATE SCHEMA elsewhere;
ALTER TABLE src SET SCHEMA elsewhere;
\echo :LAST_ERROR_SQLSTATE
ALTER VIEW v6 RENAME TO v6_renamed;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE v6 RENAME TO v6_renamed;
\echo :LAST_ERROR_SQLSTATE
ALTER VIEW v6 SET SCHEMA elsewhere;
\echo :LAST_ERROR_SQLSTATE
-- changing or dropping a source column is refused too; adding one is fine
ALTER TABLE src ALTER COLUMN k TYPE bigint;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE src DROP COLUMN k;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE src ADD COLUMN note text;
INSERT INTO src (k) VALUES (42);
SELECT lambda_views.fold('v6');
SELECT * FROM v6 WHERE k = 42;
SELECT lambda_views.drop_view('v6');
-- with no view left, the table is free to be renamed
ALTER TABLE src RENAME TO src_renamed;
ALTER TABLE src_renamed RENAME TO src;
DROP SCHEMA elsewhere;

-- DROP EXTENSION: refused while views exist, CASCADE removes them and
-- leaves the sources as plain tables.
SELECT lambda_views.create_view('v7', 'SELECT k, count(*) AS n FROM src GROUP BY k');
DROP EXTENSION lambda_views;
\echo :LAST_ERROR_SQLSTATE
DROP EXTENSION lambda_views CASCADE;
SELECT count(*) AS lambda_relations FROM pg_class WHERE relname IN ('v7') OR relnamespace IN
  (SELECT oid FROM pg_namespace WHERE nspname IN ('lambda_views', 'lambda_views_data'));
SELECT count(*) AS guard_triggers FROM pg_trigger WHERE tgname LIKE 'lambda_views%';
DELETE FROM src WHERE k = 42;
SELECT count(*) AS source_rows FROM src;
-- and it comes back clean
CREATE EXTENSION lambda_views;
SELECT * FROM leftovers();
DROP TABLE src;
DROP FUNCTION leftovers();
