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
-- every version there is, serving or kept for rollback.  Speed tables of
-- Citus distributed tables keep theirs (their shards are Citus' to alter).
--
-- A fold statement kept its groups aside (a WITH query) to sum their rows
-- after inserting them, a set written to temporary files past work_mem;
-- it now passes each group's row count through lambda_views.fold_tally on
-- the way in.  The fold statement of every local version is written again.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.7'" to load this file. \quit

-- fold_tally(rows): adds a group's rows to the running fold's count, returns them.
CREATE FUNCTION lambda_views.fold_tally(bigint)
RETURNS bigint AS 'MODULE_PATHNAME', 'lv_fold_tally' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION lambda_views.fold_tally(bigint) IS
    'Adds a group''s rows to the count of the fold that runs; returns them (used by fold statements).';

CREATE FUNCTION lambda_views.upgrade_1_7_fold(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_7_fold' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_7_fold(int) FROM PUBLIC;

SELECT lambda_views.upgrade_1_7_fold(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_7_fold(int);

DO $$
DECLARE
    speed regclass;
    distributed boolean;
BEGIN
    FOR speed IN
        SELECT to_regclass(format('%I.%I', storage_schema, 'v' || view_id || '_speed'))
          FROM lambda_views.views ORDER BY view_id
    LOOP
        CONTINUE WHEN speed IS NULL;
        distributed := false;
        -- (Citus' catalog exists only where Citus is installed)
        IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
            EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
               INTO distributed USING speed;
        END IF;
        CONTINUE WHEN distributed;
        EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 8160)', speed);
    END LOOP;
END
$$;
