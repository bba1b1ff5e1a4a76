-- lambda_views 1.3 -> 1.4: routed reads of views over Citus distributed tables.
--
-- The relation of such a view reads the view's read mark (batch generation
-- and the key ranges of the real-time tail) on the coordinator, then the
-- batch, speed and tail rows in one query that Citus pushes down to the
-- shards, and to one shard for a filter on the distribution column
-- (src/layers/serving.c); the fold of every node's new keys is one
-- pushed-down statement (src/layers/speed.c).  Views over local tables are
-- unchanged.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.4'" to load this file. \quit

CREATE FUNCTION lambda_views.serving_mark(view_id int, OUT gen bigint, OUT lo bigint, OUT hi bigint)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'lv_serving_mark' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 3;
COMMENT ON FUNCTION lambda_views.serving_mark(int) IS
  'the read mark of a lambda view over a Citus distributed table: its batch generation and the append key ranges [lo, hi] of its real-time tail, read under the lock its folds commit with';

----------------------------------------------------------------------------
-- Existing views over Citus distributed tables get the routed relation.
-- The relations are the users' objects: the C function replaces them
-- outside this script (src/operations/upgrade.c).
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.upgrade_1_4_route(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_4_route' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_4_route(int) FROM PUBLIC;

SELECT lambda_views.upgrade_1_4_route(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_4_route(int);
