-- The pageview example of the Lambda Architecture, run by scripts/demo.
-- Master dataset: an append-only table whose identity column is the append key.
\set ECHO queries
CREATE EXTENSION hll;
CREATE EXTENSION lambda_views;

CREATE TABLE pageviews (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL DEFAULT now()
);

-- One GROUP BY query defines the batch layer, the speed layer and the
-- serving layer alike: page views per url and day, plus distinct users.
SELECT lambda_views.create_view('pageviews_daily',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views,
           hll_add_agg(hll_hash_bigint(user_id)) AS users
      FROM pageviews GROUP BY url, date_trunc('day', ts)$$,
  append_key => 'id', speed_interval => '1 second', batch_interval => '1 minute');
