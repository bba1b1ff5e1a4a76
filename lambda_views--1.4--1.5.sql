-- lambda_views 1.4 -> 1.5: a point lookup aggregates only its groups' rows
-- of the real-time tail.
--
-- When a query filters a lambda view by "group key = constant or
-- parameter", the planner hook (src/layers/quiet.c) has the view's
-- real-time tail call tail_where with those keys and values instead of
-- tail: the tail then aggregates only the unfolded source rows of the
-- groups asked for, not every unfolded row (src/layers/serving.c).
-- Relations of existing views are unchanged: the hook finds their tail.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.5'" to load this file. \quit

CREATE FUNCTION lambda_views.tail_where(view_id int, source regclass, key_numbers int[],
                                       VARIADIC key_values "any")
RETURNS SETOF record AS 'MODULE_PATHNAME', 'lv_tail_where' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION lambda_views.tail_where(int, regclass, int[], "any") IS
  'serving layer, internal: the real-time tail (as tail) of only the groups whose group key number key_numbers[i] equals key_values[i]; a read of the view filtered on group keys calls it, for roles with SELECT on the view';
