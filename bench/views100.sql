-- The 100-view figure: ten sources lv100_1 .. lv100_10 shaped like pageviews,
-- each with ten lambda views lv100_<s>_v1 .. _v10 (different groupings and
-- aggregates, every one grouped by url so that a probe row's url shows up in
-- all of them).  bench100 keeps each view's query for the exactness check,
-- and the columns to compare (an hll sketch by its cardinality: hll has no
-- equality operator).
CREATE TABLE bench100 (view text, src text, query text, cols text);
SELECT format($c$CREATE TABLE lv100_%s (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL)$c$, s)
  FROM generate_series(1, 10) s
\gexec
INSERT INTO bench100
SELECT format('public.lv100_%s_v%s', s, n), format('public.lv100_%s', s),
       format(t.q, format('public.lv100_%s', s)),
       CASE WHEN n = 4 THEN 'url, day, views, public.hll_cardinality(users)' ELSE '*' END
  FROM generate_series(1, 10) s,
       unnest(ARRAY[
         $q$SELECT url, date_trunc('day', ts) AS day, count(*) AS views FROM %s GROUP BY url, date_trunc('day', ts)$q$,
         $q$SELECT url, date_trunc('hour', ts) AS hour, count(*) AS views FROM %s GROUP BY url, date_trunc('hour', ts)$q$,
         $q$SELECT url, count(*) AS views, max(ts) AS last_seen FROM %s GROUP BY url$q$,
         $q$SELECT url, date_trunc('day', ts) AS day, count(*) AS views, public.hll_add_agg(public.hll_hash_bigint(user_id)) AS users FROM %s GROUP BY url, date_trunc('day', ts)$q$,
         $q$SELECT url, date_trunc('minute', ts) AS minute, count(*) AS views FROM %s GROUP BY url, date_trunc('minute', ts)$q$,
         $q$SELECT url, date_trunc('day', ts) AS day, sum(user_id) AS user_sum, avg(user_id) AS user_avg FROM %s GROUP BY url, date_trunc('day', ts)$q$,
         $q$SELECT url, date_trunc('week', ts) AS week, count(*) FILTER (WHERE user_id %% 2 = 0) AS even_views FROM %s GROUP BY url, date_trunc('week', ts)$q$,
         $q$SELECT url, date_trunc('day', ts) AS day, min(user_id) AS first_user, max(user_id) AS last_user FROM %s GROUP BY url, date_trunc('day', ts)$q$,
         $q$SELECT url, date_trunc('month', ts) AS month, count(*) AS views, stddev(user_id) AS user_sd FROM %s GROUP BY url, date_trunc('month', ts)$q$,
         $q$SELECT url, date_trunc('day', ts) AS day, bool_and(user_id > 0) AS all_known, count(*) AS views FROM %s GROUP BY url, date_trunc('day', ts)$q$
       ]) WITH ORDINALITY AS t(q, n);
SELECT format($c$SELECT lambda_views.create_view(%L, %L, append_key => 'id',
                  speed_interval => '1 second', batch_interval => NULL, initial_batch => false)$c$,
              split_part(view, '.', 2), query)
  FROM bench100 ORDER BY view
\gexec
