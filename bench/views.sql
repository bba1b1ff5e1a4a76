-- Three lambda views on the table :src, named :prefix_a, :prefix_b and
-- :prefix_c (psql variables; :initial is the initial_batch flag;
-- :batch_interval, optional, the batch_interval as an SQL literal such as
-- "'5 seconds'", by default NULL: no built-in recompute schedule).
\if :{?batch_interval}
\else
\set batch_interval NULL
\endif
-- _a is the figures' subject; _b adds distinct users (hll); _c is a third,
-- coarser view, so that the workers fold three views during the ingest figure.
\timing on
SELECT lambda_views.create_view(:'prefix' || '_a', format(
  $q$SELECT url, date_trunc('day', ts) AS day, count(*) AS views
       FROM public.%I GROUP BY url, date_trunc('day', ts)$q$, :'src'),
  append_key => 'id', speed_interval => '1 second', batch_interval => :batch_interval,
  initial_batch => :initial);
SELECT lambda_views.create_view(:'prefix' || '_b', format(
  $q$SELECT url, date_trunc('day', ts) AS day, count(*) AS views,
            public.hll_add_agg(public.hll_hash_bigint(user_id)) AS users
       FROM public.%I GROUP BY url, date_trunc('day', ts)$q$, :'src'),
  append_key => 'id', speed_interval => '1 second', batch_interval => :batch_interval,
  initial_batch => :initial);
SELECT lambda_views.create_view(:'prefix' || '_c', format(
  $q$SELECT date_trunc('hour', ts) AS hour, count(*) AS views,
            max(user_id) AS max_user
       FROM public.%I GROUP BY date_trunc('hour', ts)$q$, :'src'),
  append_key => 'id', speed_interval => '1 second', batch_interval => :batch_interval,
  initial_batch => :initial);
