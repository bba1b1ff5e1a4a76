-- alter_view: a new version replays the source from its first row while
-- the current one serves; fold() and recompute() drive it to the switch
-- without workers; rollback_view() switches back.
SET client_min_messages = warning;
CREATE TABLE taps (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board  text NOT NULL,
    ms     int NOT NULL
);
INSERT INTO taps (board, ms) SELECT 'b' || (i % 4), i % 250 FROM generate_series(1, 5000) i;
SELECT lambda_views.create_view('taps_by_board', 'SELECT board, count(*) AS n FROM taps GROUP BY board', speed_interval => '250 ms', batch_interval => '1 hour');
\set q1 'SELECT board, count(*) AS n FROM taps GROUP BY board'
\set q2 'SELECT board, count(*) AS n, avg(ms)::numeric(10,3) AS mean_ms, max(ms) AS slowest FROM taps WHERE ms > 0 GROUP BY board'
CREATE ROLE lv_alter_reader;
GRANT SELECT ON taps_by_board TO lv_alter_reader;
COMMENT ON VIEW taps_by_board IS 'taps per board';
COMMENT ON COLUMN taps_by_board.n IS 'number of taps';
CREATE TABLE catalog_before AS SELECT view_id, view_schema, view_name, definition FROM lambda_views.views;

-- Bad new queries are refused like create_view refuses them, and change nothing.
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, count(DISTINCT ms) FROM taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, now() AS t, count(*) FROM taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE other_taps (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, board text);
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, count(*) FROM other_taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, count(*) FROM taps GROUP BY board', rows_per_second => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('no_such_view', :'q2');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('taps_by_board', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.rollback_view('taps_by_board');
\echo :LAST_ERROR_SQLSTATE
SET ROLE lv_alter_reader;
SELECT lambda_views.alter_view('taps_by_board', :'q2');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS changed_rows FROM (
  (SELECT view_id, view_schema, view_name, definition FROM lambda_views.views EXCEPT SELECT * FROM catalog_before)
  UNION ALL (SELECT * FROM catalog_before EXCEPT SELECT view_id, view_schema, view_name, definition FROM lambda_views.views)) d;
SELECT count(*) AS storage_tables FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace AND relkind IN ('r', 'p', 'v');

-- A good one: version 2 starts from the first row; version 1 keeps serving.
SELECT lambda_views.alter_view('taps_by_board', :'q2', keep_old => '1 hour');
SELECT version, role, replay_keys_done, replay_keys_total = (SELECT max(id) FROM taps) AS total_is_head
  FROM lambda_views.status ORDER BY version;
SELECT lambda_views.alter_view('taps_by_board', :'q2');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO taps (board, ms) SELECT 'b' || (i % 5), i FROM generate_series(1, 300) i;
SELECT lv_diff('taps_by_board', :'q1') AS differing_rows_v1;

-- Without workers, fold() drives the replay to the switch.
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded;
SELECT version, role FROM lambda_views.status ORDER BY version;
SELECT lv_diff('taps_by_board', :'q2') AS differing_rows_v2;
SET lambda_views.realtime = off;
SELECT lv_diff('taps_by_board', :'q2') AS differing_rows_v2_realtime_off;
RESET lambda_views.realtime;
-- columns changed; privileges and comments came along
SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, attnum)
  FROM pg_attribute WHERE attrelid = 'taps_by_board'::regclass AND attnum > 0 ORDER BY attnum;
SELECT obj_description('taps_by_board'::regclass, 'pg_class') AS comment,
       has_table_privilege('lv_alter_reader', 'taps_by_board', 'SELECT') AS reader_may_select;
-- the new version's batch is built by the same recompute
SELECT lambda_views.recompute('taps_by_board') = (SELECT count(*) FROM taps WHERE ms > 0) AS recomputed_all;
SELECT lv_diff('taps_by_board', :'q2') AS differing_rows_v2;

-- Rolling back serves version 1 again, caught up with rows added since.
INSERT INTO taps (board, ms) VALUES ('b-late', 7);
SELECT lambda_views.rollback_view('taps_by_board') AS was_serving;
SELECT version, role FROM lambda_views.status ORDER BY version;
SELECT lv_diff('taps_by_board', :'q1') AS differing_rows_v1;
SELECT * FROM taps_by_board WHERE board = 'b-late';

-- Objects defined over the view, here by a role that may only read it.
-- When the new columns keep the old ones (same names and types, in the same
-- order; new ones may follow), the switch keeps the relation itself (its
-- OID, privileges and comments) and they read the new version; a change of
-- columns that would leave them on the old version is refused up front
-- (2BP01) and changes nothing.
GRANT CREATE ON SCHEMA public TO lv_alter_reader;
SET ROLE lv_alter_reader;
CREATE VIEW busy_boards AS SELECT board, n FROM taps_by_board WHERE n > 100;
RESET ROLE;
CREATE TABLE relation_before AS SELECT 'taps_by_board'::regclass::oid AS relid;
DROP TABLE catalog_before;
CREATE TABLE catalog_before AS SELECT view_id, view_schema, view_name, definition FROM lambda_views.views;
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, avg(ms) AS n FROM taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('taps_by_board', 'SELECT board, count(*) AS taps FROM taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
SELECT lambda_views.alter_view('taps_by_board', 'SELECT count(*) AS n, board FROM taps GROUP BY board');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS changed_rows FROM (
  (SELECT view_id, view_schema, view_name, definition FROM lambda_views.views EXCEPT SELECT * FROM catalog_before)
  UNION ALL (SELECT * FROM catalog_before EXCEPT SELECT view_id, view_schema, view_name, definition FROM lambda_views.views)) d;
SELECT count(*) AS storage_tables FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace AND relkind IN ('r', 'p', 'v');
-- q2 keeps board and n and adds two columns: the switch keeps the relation
SELECT lambda_views.alter_view('taps_by_board', :'q2');
INSERT INTO taps (board, ms) SELECT 'b' || (i % 3), 100 + i FROM generate_series(1, 200) i;
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded;
SELECT version, role FROM lambda_views.status ORDER BY version;
SELECT 'taps_by_board'::regclass::oid = relid AS same_relation FROM relation_before;
SELECT lv_diff('taps_by_board', :'q2') AS differing_rows;
-- busy_boards reads the new version (with its owner's privileges)
SELECT count(*) AS differing_rows_busy_boards FROM (
  (SELECT * FROM busy_boards EXCEPT ALL SELECT board, n FROM (:q2) q WHERE n > 100)
  UNION ALL (SELECT board, n FROM (:q2) q WHERE n > 100 EXCEPT ALL SELECT * FROM busy_boards)) d;
SELECT count(*) > 0 AS busy_boards_has_rows FROM busy_boards;
SELECT obj_description('taps_by_board'::regclass, 'pg_class') AS comment,
       col_description('taps_by_board'::regclass, 2) AS n_comment,
       has_table_privilege('lv_alter_reader', 'taps_by_board', 'SELECT') AS reader_may_select;
-- rolling back would drop columns busy_boards does not even read: refused
SELECT lambda_views.rollback_view('taps_by_board');
\echo :LAST_ERROR_SQLSTATE
SELECT version, role FROM lambda_views.status ORDER BY version;
-- A dependent object created while a replay that changes the columns runs:
-- the replay keeps up, the switch waits and says so (in fold() and in
-- status), and happens once the object is gone.
SET ROLE lv_alter_reader;
DROP VIEW busy_boards;
RESET ROLE;
\set q3 'SELECT board, avg(ms)::numeric(10,3) AS n FROM taps GROUP BY board'
SELECT lambda_views.alter_view('taps_by_board', :'q3');
SET ROLE lv_alter_reader;
CREATE VIEW busy_boards AS SELECT board, n FROM taps_by_board WHERE n > 100;
RESET ROLE;
INSERT INTO taps (board, ms) VALUES ('b-mid', 11);
SET client_min_messages = notice;
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded_without_switch;
SET client_min_messages = warning;
SELECT version, role, last_error FROM lambda_views.status ORDER BY version;
SELECT lv_diff('taps_by_board', :'q2') AS differing_rows_still_q2;
SET ROLE lv_alter_reader;
DROP VIEW busy_boards;
RESET ROLE;
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded;
SELECT version, role, last_error FROM lambda_views.status ORDER BY version;
SELECT lv_diff('taps_by_board', :'q3') AS differing_rows_q3;
-- a new relation this time; privileges and comments came along
SELECT 'taps_by_board'::regclass::oid = relid AS same_relation FROM relation_before;
SELECT obj_description('taps_by_board'::regclass, 'pg_class') AS comment,
       col_description('taps_by_board'::regclass, 2) AS n_comment,
       has_table_privilege('lv_alter_reader', 'taps_by_board', 'SELECT') AS reader_may_select;
REVOKE CREATE ON SCHEMA public FROM lv_alter_reader;

-- A retired version past keep_old that some object depends on (here a
-- column of its row type) is kept, with a notice, instead of failing the
-- fold (or the worker's round); it goes once the object is gone.
SELECT view_name AS retired_v FROM lambda_views.views WHERE role = 'retired' ORDER BY view_id DESC LIMIT 1 \gset
CREATE TABLE holds_retired (r lambda_views_data.:"retired_v");
UPDATE lambda_views.views SET retired_at = now() - keep_old - interval '1 second' WHERE role = 'retired';
SET client_min_messages = notice;
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded;
SET client_min_messages = warning;
SELECT version, role FROM lambda_views.status ORDER BY version;
DROP TABLE holds_retired;
SELECT lambda_views.fold('taps_by_board') >= 0 AS folded;
SELECT version, role FROM lambda_views.status ORDER BY version;

-- drop_view drops every version.
SELECT lambda_views.drop_view('taps_by_board');
SELECT count(*) AS views_left FROM lambda_views.views;
SELECT count(*) AS storage_left FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace;
DROP TABLE taps, other_taps, catalog_before, relation_before;
DROP ROLE lv_alter_reader;
