-- lambda_views 1.5 -> 1.6: a read with folds pending leaves out the batch
-- groups the speed layer or the tail touched with two anti joins, one
-- against each, instead of one against both together.
--
-- Behind the union of the two the planner saw no statistics of the speed
-- table, costed a hash of the touched keys far above what it costs, and
-- read a view's whole batch along its key index for a merge anti join, one
-- heap page per row (src/layers/serving.c). The relation of every local
-- version is built again; versions over Citus distributed tables keep
-- their routed read, which does not change.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.6'" to load this file. \quit

CREATE FUNCTION lambda_views.upgrade_1_6_relation(int) RETURNS void
AS 'MODULE_PATHNAME', 'lv_upgrade_1_6_relation' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION lambda_views.upgrade_1_6_relation(int) FROM PUBLIC;

SELECT lambda_views.upgrade_1_6_relation(view_id) FROM lambda_views.views ORDER BY view_id;

DROP FUNCTION lambda_views.upgrade_1_6_relation(int);
