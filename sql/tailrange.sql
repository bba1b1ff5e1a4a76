-- A filtered read of a view whose group key buckets a source column
-- (date_trunc(unit, col), date_bin(stride, col, origin)) has the tail find
-- the group's rows through the column's range for the bucket: an index on
-- the source that leads with the other keys and then that column finds
-- them, however many rows are unfolded.  The range is only ever wider than
-- the bucket: in a time zone with transitions, truncation to days and
-- longer takes the offset of the bucket's start, and the range is widened.
-- Every lookup is compared with the view's query on the source under the
-- same filter, EXCEPT ALL both ways, for every group, with the buckets
-- around the transitions of three zones: São Paulo (midnight skipped and
-- repeated), Berlin (an hour repeated), Apia (a whole day skipped).
SET client_min_messages = warning;
CREATE TABLE ev (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    k    int NOT NULL,
    ts   timestamptz NOT NULL,
    lts  timestamp NOT NULL
);
CREATE INDEX ev_k_ts ON ev (k, ts);
CREATE INDEX ev_k_lts ON ev (k, lts);
-- rows every 37 minutes (every 5 in the tail, later) across each window
CREATE FUNCTION ev_rows(step interval, n_k int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ev (k, ts, lts)
    SELECT 1 + i % n_k, t, t AT TIME ZONE 'UTC'
      FROM (VALUES (timestamptz '2018-02-15 12:00+00', timestamptz '2018-02-20 12:00+00'),
                   (timestamptz '2018-11-02 12:00+00', timestamptz '2018-11-06 12:00+00'),
                   (timestamptz '2026-10-23 12:00+00', timestamptz '2026-10-27 12:00+00'),
                   (timestamptz '2011-12-28 12:00+00', timestamptz '2012-01-02 12:00+00'))
           AS w(lo, hi),
           LATERAL generate_series(lo, hi, step) WITH ORDINALITY AS g(t, i);
$$;
SELECT ev_rows('37 minutes', 3);
INSERT INTO ev (k, ts, lts) VALUES (1, 'infinity', 'infinity'), (1, '-infinity', '-infinity');
ANALYZE ev;

-- one view per bucket, each made in the zone its keys are computed in
SET TimeZone = 'America/Sao_Paulo';
SELECT lambda_views.create_view('ev_day_sp',
  $$SELECT k, date_trunc('day', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('day', ts)$$);
SELECT lambda_views.create_view('ev_month_sp',
  $$SELECT k, date_trunc('month', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('month', ts)$$);
SELECT lambda_views.create_view('ev_bin',
  $$SELECT k, date_bin('25 minutes', ts, '2001-01-01 00:07+00') AS b, count(*) AS n FROM ev
     GROUP BY k, date_bin('25 minutes', ts, '2001-01-01 00:07+00')$$);
SET TimeZone = 'Europe/Berlin';
SELECT lambda_views.create_view('ev_hour_berlin',
  $$SELECT k, date_trunc('hour', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('hour', ts)$$);
SELECT lambda_views.create_view('ev_week_berlin',
  $$SELECT k, date_trunc('week', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('week', ts)$$);
SET TimeZone = 'Pacific/Apia';
SELECT lambda_views.create_view('ev_day_apia',
  $$SELECT k, date_trunc('day', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('day', ts)$$);
SELECT lambda_views.create_view('ev_lday',
  $$SELECT k, date_trunc('day', lts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('day', lts)$$);
SET TimeZone = 'UTC';
SELECT lambda_views.create_view('ev_day_utc',
  $$SELECT k, date_trunc('day', ts) AS b, count(*) AS n FROM ev GROUP BY k, date_trunc('day', ts)$$);
RESET TimeZone;

-- the tail: far more keys than a lookup reads one by one
SELECT ev_rows('5 minutes', 3);
INSERT INTO ev (k, ts, lts) VALUES (1, 'infinity', 'infinity'), (2, '-infinity', '-infinity');
ANALYZE ev;

-- lookups_differing(view): the rows in which "k = $1 AND b = $2" on the
-- view and on its query differ, over every group of the query and, for
-- k = 1, values no group has (inside buckets, far off, near the ends of
-- the type's range); and the rows in which the whole view and its query
-- differ.  The query runs in the view's own zone, as its keys were
-- computed.
CREATE FUNCTION lookups_differing(view_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    query text;
    btype text;
    r record;
    d bigint;
    n bigint := 0;
BEGIN
    SELECT v.definition INTO query FROM lambda_views.views v WHERE v.view_name = lookups_differing.view_name;
    SELECT format_type(atttypid, atttypmod) INTO btype FROM pg_attribute
     WHERE attrelid = view_name::regclass AND attname = 'b';
    PERFORM set_config('TimeZone', (SELECT split_part(s, '=', 2) FROM lambda_views.views v,
                                     unnest(v.settings) s
                                    WHERE v.view_name = lookups_differing.view_name
                                      AND s LIKE 'TimeZone=%'), true);
    FOR r IN EXECUTE format('SELECT DISTINCT k, b::text AS b FROM (%s) q
                             UNION SELECT 1, v FROM unnest(ARRAY[''2018-02-17 23:30:00'', ''2018-11-04 00:30:00'',
                               ''2011-12-30 00:00:00'', ''1999-01-01 00:00:00'', ''200001-01-01 00:00:00'',
                               ''4500-01-01 00:00:00 BC'', ''294276-12-30 00:00:00'', ''4700-01-01 00:00:00 BC'']) v', query)
    LOOP
        EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %1$s WHERE k = $1 AND b = $2::%3$s
                          EXCEPT ALL SELECT * FROM (%2$s) q WHERE k = $1 AND b = $2::%3$s)
                        UNION ALL (SELECT * FROM (%2$s) q WHERE k = $1 AND b = $2::%3$s
                          EXCEPT ALL SELECT * FROM %1$s WHERE k = $1 AND b = $2::%3$s)) d',
                       view_name, query, btype)
            USING r.k, r.b INTO d;
        n := n + d;
    END LOOP;
    RETURN n + lv_diff(view_name, query);
END $$;
SELECT v AS view_name, lookups_differing(v) AS differing_rows
  FROM unnest(ARRAY['ev_day_sp', 'ev_month_sp', 'ev_bin', 'ev_hour_berlin', 'ev_week_berlin',
                    'ev_day_apia', 'ev_lday', 'ev_day_utc']) v;

-- idx_scans(index): scans of an index so far, this backend's included
CREATE FUNCTION idx_scans(index_name text) RETURNS bigint LANGUAGE sql AS $$
    SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = index_name
$$;
-- The lookup of one day found its rows through ev (k, ts); a tail of a few
-- hundred keys is read through the append key's index alone, however the
-- key buckets.
SELECT pg_stat_force_next_flush();
SELECT idx_scans('ev_k_ts') AS k_ts0, idx_scans('ev_pkey') AS pkey0 \gset
SELECT n FROM ev_day_utc WHERE k = 2 AND b = '2018-11-03 00:00+00';
SELECT pg_stat_force_next_flush();
SELECT idx_scans('ev_k_ts') - :k_ts0 AS k_ts_scans, idx_scans('ev_pkey') - :pkey0 AS pkey_scans;
SELECT lambda_views.fold('ev_day_utc') > 0 AS folded;
INSERT INTO ev (k, ts, lts) VALUES (2, '2018-11-03 05:00+00', '2018-11-03 05:00');
SELECT pg_stat_force_next_flush();
SELECT idx_scans('ev_k_ts') AS k_ts0, idx_scans('ev_pkey') AS pkey0 \gset
SELECT n FROM ev_day_utc WHERE k = 2 AND b = '2018-11-03 00:00+00';
SELECT pg_stat_force_next_flush();
SELECT idx_scans('ev_k_ts') - :k_ts0 AS k_ts_scans, idx_scans('ev_pkey') - :pkey0 AS pkey_scans;
SELECT lookups_differing('ev_day_utc') AS differing_rows;

SELECT lambda_views.drop_view(v)
  FROM unnest(ARRAY['ev_day_sp', 'ev_month_sp', 'ev_bin', 'ev_hour_berlin', 'ev_week_berlin',
                    'ev_day_apia', 'ev_lday', 'ev_day_utc']) v;
DROP FUNCTION lookups_differing(text);
DROP FUNCTION idx_scans(text);
DROP FUNCTION ev_rows(interval, int);
DROP TABLE ev;
