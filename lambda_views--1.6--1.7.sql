-- lambda_views 1.6 -> 1.7: a speed table keeps its rows inline and
-- uncompressed up to a page (toast_tuple_target = 8160).
--
-- A fold rewrites the speed row of every group it touches.  A row longer
-- than about 2 kB (a group's hll state once many distinct values have
-- reached it) went through pglz on every rewrite, which compresses an hll
-- state little: 13 % of the folding workers' CPU under a steady ingest of
-- events into a view with hll_add_agg (src/layers/speed.c).  New speed
-- tables are made with the setting; this gives it to the speed table of
-- every version there is, serving or kept for rollback.  Speed tables of
-- Citus distributed tables keep theirs (their shards are Citus' to alter).
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.7'" to load this file. \quit

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
