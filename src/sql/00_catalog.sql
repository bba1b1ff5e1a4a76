-- lambda_views 0.1: the Lambda Architecture inside PostgreSQL.
\echo Use "CREATE EXTENSION lambda_views" to load this file. \quit

-- Per-view storage (batch partitions, speed tables, generation sequences)
-- lives in lambda_views_data, owned by each view's owner.
CREATE SCHEMA lambda_views_data;
GRANT USAGE, CREATE ON SCHEMA lambda_views_data TO PUBLIC;
GRANT USAGE ON SCHEMA lambda_views TO PUBLIC;

-- One row per lambda view: its definition as SQL text (schema-qualified, so
-- pg_dump and pg_upgrade keep it) and the SQL derived from it.
CREATE TABLE lambda_views.views (
    view_id         serial PRIMARY KEY,
    view_schema     name NOT NULL,
    view_name       name NOT NULL,
    source          regclass NOT NULL,
    append_key      name NOT NULL,
    key_sequence    regclass NOT NULL,
    definition      text NOT NULL,
    settings        text[] NOT NULL,
    speed_interval  interval NOT NULL,
    batch_interval  interval,
    owner           regrole NOT NULL DEFAULT current_user::regrole,
    partial_sql     text NOT NULL,
    fold_sql        text NOT NULL,
    batch_sql       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- versions (alter_view): every version of one view shares its family;
    -- one serves under the view's name, at most one replays the source
    -- from the first row, older ones are retired and kept for rollback.
    family          int,
    version         int NOT NULL DEFAULT 1,
    role            text NOT NULL DEFAULT 'serving'
                    CHECK (role IN ('serving', 'replaying', 'retired')),
    replay_rows_per_second int CHECK (replay_rows_per_second > 0),
    replay_total    bigint,
    replay_started_at timestamptz,
    keep_old        interval NOT NULL DEFAULT '1 day',
    retired_at      timestamptz,
    UNIQUE (view_schema, view_name)
);
CREATE INDEX ON lambda_views.views (family);
CREATE INDEX ON lambda_views.views (source);
COMMENT ON TABLE lambda_views.views IS
  'lambda views: definition (schema-qualified SQL), pinned settings and the SQL derived from it';

-- Watermarks and generations; updated by every fold and recompute.
CREATE TABLE lambda_views.view_state (
    view_id          int PRIMARY KEY REFERENCES lambda_views.views ON DELETE CASCADE,
    owner            regrole NOT NULL DEFAULT current_user::regrole,
    speed_watermark  bigint NOT NULL,
    batch_watermark  bigint NOT NULL,
    batch_gen        int NOT NULL,
    batch_swap_xid   xid8,
    speed_gen        bigint NOT NULL,
    gen_start_watermark bigint NOT NULL,
    last_fold_at     timestamptz,
    last_fold_ms     float8,
    rows_folded      bigint NOT NULL DEFAULT 0,
    last_recompute_at timestamptz,
    last_recompute_ms float8,
    rows_recomputed  bigint NOT NULL DEFAULT 0,
    last_error       text,
    last_error_at    timestamptz
);
COMMENT ON TABLE lambda_views.view_state IS
  'lambda views: speed and batch watermarks, batch generation, last fold and recompute';

SELECT pg_catalog.pg_extension_config_dump('lambda_views.views', '');
SELECT pg_catalog.pg_extension_config_dump('lambda_views.views_view_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lambda_views.view_state', '');

-- Everyone may read the metadata (views read their watermarks from it);
-- only a view's owner (or a member of the owning role) may change its rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON lambda_views.views, lambda_views.view_state TO PUBLIC;
GRANT USAGE ON SEQUENCE lambda_views.views_view_id_seq TO PUBLIC;
ALTER TABLE lambda_views.views ENABLE ROW LEVEL SECURITY;
ALTER TABLE lambda_views.view_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON lambda_views.views FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.views FOR ALL
    USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY read_all ON lambda_views.view_state FOR SELECT USING (true);
CREATE POLICY owner_writes ON lambda_views.view_state FOR ALL
    USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));

