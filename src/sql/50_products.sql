----------------------------------------------------------------------------
-- Data products: owner, description, SLAs and tags of each view.
----------------------------------------------------------------------------
CREATE TABLE lambda_views.products (
    view_id          int PRIMARY KEY REFERENCES lambda_views.views ON DELETE CASCADE,
    owner_role       regrole,
    description      text,
    freshness_sla    interval,
    completeness_sla numeric,
    tags             text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE lambda_views.products IS
  'data products: accountable owner role, description, freshness and completeness SLAs, tags of each lambda view';
SELECT pg_catalog.pg_extension_config_dump('lambda_views.products', '');
GRANT SELECT, INSERT, UPDATE, DELETE ON lambda_views.products TO PUBLIC;
ALTER TABLE lambda_views.products ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON lambda_views.products FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.products FOR ALL
    USING (EXISTS (SELECT 1 FROM lambda_views.views v
                    WHERE v.view_id = products.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')))
    WITH CHECK (EXISTS (SELECT 1 FROM lambda_views.views v
                         WHERE v.view_id = products.view_id AND pg_catalog.pg_has_role(v.owner, 'MEMBER')));

-- product_on_create records a new view's product metadata; create_view
-- calls it inside its own transaction, so a refusal here undoes the view.
CREATE FUNCTION lambda_views.product_on_create(view regclass, owner_role regrole, description text,
                                               freshness_sla interval, completeness_sla numeric, tags text[])
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO lambda_views.products (view_id, owner_role, description, freshness_sla, completeness_sla, tags)
    SELECT v.view_id, product_on_create.owner_role, product_on_create.description,
           product_on_create.freshness_sla, product_on_create.completeness_sla,
           COALESCE(product_on_create.tags, '{}')
      FROM lambda_views.views v
      JOIN pg_catalog.pg_class c ON c.relname = v.view_name
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = v.view_schema
     WHERE c.oid = view;
END $$;
COMMENT ON FUNCTION lambda_views.product_on_create(regclass, regrole, text, interval, numeric, text[]) IS
  'internal: records the data-product metadata given to create_view and applies governance policies';
