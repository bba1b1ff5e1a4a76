-- The three lambda views on pageviews (each built from all rows at once:
-- initial_batch => true).  view_a is the figure's subject; view_b adds
-- distinct users; view_c is a third, coarser view so that the workers fold
-- three views during the ingest figures.
\timing on
SELECT lambda_views.create_view('view_a',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views
      FROM public.pageviews GROUP BY url, date_trunc('day', ts)$$,
  append_key => 'id', speed_interval => '1 second', batch_interval => NULL,
  initial_batch => true);
SELECT lambda_views.create_view('view_b',
  $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views,
           public.hll_add_agg(public.hll_hash_bigint(user_id)) AS users
      FROM public.pageviews GROUP BY url, date_trunc('day', ts)$$,
  append_key => 'id', speed_interval => '1 second', batch_interval => NULL,
  initial_batch => true);
SELECT lambda_views.create_view('view_c',
  $$SELECT date_trunc('hour', ts) AS hour, count(*) AS views,
           max(user_id) AS max_user
      FROM public.pageviews GROUP BY date_trunc('hour', ts)$$,
  append_key => 'id', speed_interval => '1 second', batch_interval => NULL,
  initial_batch => true);
