-- The benchmark dataset (psql variable :rows) and the objects every figure uses.
CREATE EXTENSION hll;
CREATE EXTENSION lambda_views;

-- The source of the lambda views: urls '/p/0'..'/p/99999', skewed towards
-- small numbers; users uniform in 1..1M; timestamps over the last 30 days.
CREATE TABLE pageviews (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);

-- The ingest figure: pageviews_ingest gets three lambda views, pageviews_plain
-- (the baseline) none; both start empty and are otherwise the same table
-- (columns, identity, primary key).
CREATE TABLE pageviews_ingest (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);
CREATE TABLE pageviews_plain (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);

-- The "another source" of the open-writer figure: three lambda views, no load.
CREATE TABLE pageviews_other (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);

INSERT INTO pageviews (url, user_id, ts)
SELECT '/p/' || floor(100000 * random() ^ 3)::int,
       1 + floor(random() * 1000000)::bigint,
       now() - random() * interval '30 days'
  FROM generate_series(1, :rows);

VACUUM (ANALYZE) pageviews;
VACUUM (ANALYZE) pageviews_plain;
VACUUM (ANALYZE) pageviews_ingest;
VACUUM (ANALYZE) pageviews_other;
