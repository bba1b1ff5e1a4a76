----------------------------------------------------------------------------
-- Immutable source and drop handling.
----------------------------------------------------------------------------
CREATE FUNCTION lambda_views.refuse_modification()
RETURNS trigger AS 'MODULE_PATHNAME', 'lv_refuse_modification' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.refuse_modification() IS
  'trigger: refuses UPDATE, DELETE and TRUNCATE on the source of a lambda view';

CREATE FUNCTION lambda_views.on_sql_drop()
RETURNS event_trigger AS 'MODULE_PATHNAME', 'lv_on_sql_drop' LANGUAGE C;
COMMENT ON FUNCTION lambda_views.on_sql_drop() IS
  'event trigger: forgets a lambda view whose relation was dropped and drops its storage';
CREATE EVENT TRIGGER lambda_views_sql_drop ON sql_drop
    EXECUTE FUNCTION lambda_views.on_sql_drop();

