-- pgbench: the same point lookup computed from the source with GROUP BY,
-- through the index on pageviews (url, ts).
\set n random(0, 999)
SELECT url, date_trunc('day', ts) AS day, count(*) AS views
  FROM pageviews
 WHERE url = '/p/' || :n
   AND ts >= to_timestamp(:day) AND ts < to_timestamp(:day) + interval '1 day'
 GROUP BY url, date_trunc('day', ts);
