-- lambda_views 1.6 -> 1.7: a speed table keeps its rows inline and
-- uncompressed up to a page (toast_tuple_target = 8160), and a fold counts
-- its rows as its groups go into the speed table.
--
-- A fold rewrites the speed row of every group it touches.  A row longer
-- than about 2 kB (a group's hll state once many distinct values have
-- reached it) went through pglz on every rewrite, which compresses an hll
-- state little: 13 % of the folding workers' CPU under a steady ingest of
-- events into a view with hll_add_agg (src/layers/speed.c).  New speed
-- tables are made with the setting; this gives it to the speed table of
-- every local version, serving or kept for rollback (versions over Citus
-- distributed tables keep theirs: their shards are Citus' to alter).
--
-- A fold statement kept its groups aside (a WITH query) to sum their rows
-- after inserting them, a set written to temporary files past work_mem;
-- it now passes each group's row count through lambda_views.fold_tally on
-- the way in.  The fold statement of every local version is written again
-- (over Citus the statement is pushed down whole and does not change).
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.7'" to load this file. \quit

-- fold_tally(rows): adds a group's rows to the running fold's count, returns them.
CREATE FUNCTION lambda_views.fold_tally(bigint)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_fold_tally' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION lambda_views.fold_tally(bigint) IS
    'Adds a group''s rows to the count of the fold that runs; returns them (used by fold statements).';

CREATE FUNCTION lambda_views.upgrade_1_7_speed(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_7_speed' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_7_speed(int) FROM PUBLIC;

SELECT lambda_views.upgrade_1_7_speed(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_7_speed(int);
