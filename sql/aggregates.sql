-- Generic partial aggregation: any aggregate with a combine function, built-in
-- or from another extension, driven through its own transition, combine,
-- serialize, deserialize and final functions.  Each view is compared with its
-- own query on the source after a batch, after a fold and with the real-time
-- tail, so every aggregate is combined across all three layers.
SET client_min_messages = warning;
CREATE EXTENSION hll;
CREATE EXTENSION tdigest;

CREATE TABLE m (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grp    text,
    i4     int,
    i8     bigint,
    num    numeric,
    f8     float8,
    f4     real,
    label  text COLLATE "C",
    ts     timestamptz,
    flag   bool,
    bits   int
);

-- load appends n rows; about one value in seven is NULL.
CREATE FUNCTION load(n int) RETURNS void LANGUAGE sql AS $$
INSERT INTO m (grp, i4, i8, num, f8, f4, label, ts, flag, bits)
SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE 'g' || (g % 5) END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 37) % 1000 - 300 END,
       (g::bigint * 104729) % 100000007,
       CASE WHEN g % 7 = 1 THEN NULL ELSE round(((g * 7919) % 10007) / 7.0, 3) END,
       ((g * 31) % 997) / 8.0,
       ((g * 13) % 101) / 4.0,
       CASE WHEN g % 7 = 2 THEN NULL ELSE md5(g::text) END,
       timestamptz '2026-03-01 00:00+00' + ((g * 7727) % 5000) * interval '37 minutes',
       CASE WHEN g % 7 = 3 THEN NULL ELSE g % 13 <> 0 END,
       (g * 2654435) % 65536
  FROM generate_series((SELECT coalesce(max(id), 0) + 1 FROM m), (SELECT coalesce(max(id), 0) FROM m) + n) g
$$;
SELECT load(3000);

-- check compares every view below with its query on the source.
CREATE TABLE defs (name text PRIMARY KEY, query text NOT NULL);
INSERT INTO defs VALUES
 ('a_counts', $$SELECT grp, count(*) AS n, count(i4) AS n_i4, count(label) AS n_label FROM m GROUP BY grp$$),
 ('a_sums', $$SELECT grp, sum(i4) AS s_i4, sum(i8) AS s_i8, sum(num) AS s_num, sum(f4) AS s_f4 FROM m GROUP BY grp$$),
 ('a_avgs', $$SELECT grp, avg(i4) AS a_i4, avg(i8) AS a_i8, avg(num) AS a_num FROM m GROUP BY grp$$),
 ('a_minmax', $$SELECT grp, min(label) AS min_label, max(label) AS max_label, min(ts) AS first_ts, max(ts) AS last_ts, min(num) AS min_num, max(i8) AS max_i8 FROM m GROUP BY grp$$),
 ('a_bool_bits', $$SELECT grp, bool_and(flag) AS all_flag, bool_or(flag) AS any_flag, every(flag) AS every_flag, bit_and(bits) AS band, bit_or(bits) AS bor FROM m GROUP BY grp$$),
 ('a_filter', $$SELECT grp, count(*) FILTER (WHERE flag) AS n_flag, sum(i4) FILTER (WHERE i4 > 0) AS pos FROM m WHERE label IS DISTINCT FROM 'x' GROUP BY grp$$),
 ('a_having', $$SELECT grp, count(*) AS n, sum(i4) AS s FROM m GROUP BY grp HAVING count(*) > 500 AND sum(i4) IS NOT NULL$$),
 ('a_daily', $$SELECT date_trunc('day', ts) AS day, grp, count(*) AS n, max(num) AS top FROM m GROUP BY date_trunc('day', ts), grp$$),
 ('a_exprs', $$SELECT lower(grp) || '!' AS k, i4 % 3 AS r, count(*) AS n, sum(i8) + 1 AS s1, (sum(num) / NULLIF(count(num), 0))::numeric(20,4) AS mean FROM m GROUP BY 1, 2$$),
 ('a_global', $$SELECT count(*) AS n, sum(num) AS total, min(ts) AS first_ts, max(label) AS last_label FROM m$$),
 ('a_global_filtered', $$SELECT count(*) AS n, sum(i4) AS s FROM m WHERE grp = 'no such group'$$),
 ('a_sketches', $$SELECT grp, hll_add_agg(hll_hash_bigint(i8)) AS users, hll_cardinality(hll_add_agg(hll_hash_bigint(i8))) AS n_users, tdigest_percentile(f8, 100, 0.5) AS median FROM m GROUP BY grp$$);
-- float aggregates: compared after rounding, the order of additions differs.
INSERT INTO defs VALUES
 ('a_float', $$SELECT grp, sum(f8) AS s, avg(f8) AS a, stddev(f8) AS sd, stddev_pop(f8) AS sdp, variance(i4) AS v, var_pop(num) AS vp, var_samp(i8) AS vs, corr(f8, i4) AS c, regr_slope(f8, i4) AS slope, covar_pop(f8, f4) AS cov FROM m GROUP BY grp$$);

SELECT lambda_views.create_view(name, query) FROM defs ORDER BY name;

CREATE FUNCTION check_all() RETURNS TABLE (name text, differing_rows bigint) LANGUAGE plpgsql AS $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM defs WHERE defs.name NOT IN ('a_float', 'a_sketches') ORDER BY 1 LOOP
        name := d.name;
        differing_rows := lv_diff(d.name, d.query);
        RETURN NEXT;
    END LOOP;
    -- sketches: hll states are exact unions, so they compare byte for byte.
    -- A t-digest is an approximation whose centroids depend on the order of
    -- merges, so its median is compared with the digest of the source to
    -- within 1% of the value range (0 .. 124.5).
    name := 'a_sketches';
    SELECT count(*) INTO differing_rows
      FROM a_sketches v FULL JOIN
           (SELECT grp, hll_add_agg(hll_hash_bigint(i8)) AS users, tdigest_percentile(f8, 100, 0.5) AS median FROM m GROUP BY grp) q
           ON coalesce(v.grp, '~') = coalesce(q.grp, '~')
     WHERE v.users IS DISTINCT FROM q.users
        OR v.n_users IS DISTINCT FROM hll_cardinality(q.users)
        OR abs(v.median - q.median) > 1.25;
    RETURN NEXT;
    name := 'a_float';
    SELECT count(*) INTO differing_rows FROM (
      (SELECT grp, round(s::numeric, 6), round(a::numeric, 9), round(sd::numeric, 9), round(sdp::numeric, 9),
              round(v, 6), round(vp, 6), round(vs, 3), round(c::numeric, 9), round(slope::numeric, 9), round(cov::numeric, 6)
         FROM a_float
       EXCEPT ALL
       SELECT grp, round(sum(f8)::numeric, 6), round(avg(f8)::numeric, 9), round(stddev(f8)::numeric, 9),
              round(stddev_pop(f8)::numeric, 9), round(variance(i4), 6), round(var_pop(num), 6), round(var_samp(i8), 3),
              round(corr(f8, i4)::numeric, 9), round(regr_slope(f8, i4)::numeric, 9), round(covar_pop(f8, f4)::numeric, 6)
         FROM m GROUP BY grp)
      UNION ALL
      (SELECT grp, round(sum(f8)::numeric, 6), round(avg(f8)::numeric, 9), round(stddev(f8)::numeric, 9),
              round(stddev_pop(f8)::numeric, 9), round(variance(i4), 6), round(var_pop(num), 6), round(var_samp(i8), 3),
              round(corr(f8, i4)::numeric, 9), round(regr_slope(f8, i4)::numeric, 9), round(covar_pop(f8, f4)::numeric, 6)
         FROM m GROUP BY grp
       EXCEPT ALL
       SELECT grp, round(s::numeric, 6), round(a::numeric, 9), round(sd::numeric, 9), round(sdp::numeric, 9),
              round(v, 6), round(vp, 6), round(vs, 3), round(c::numeric, 9), round(slope::numeric, 9), round(cov::numeric, 6)
         FROM a_float)) d;
    RETURN NEXT;
END $$;

-- The relations have the queries' output types.
SELECT attrelid::regclass AS view, attname, format_type(atttypid, atttypmod)
  FROM pg_attribute
 WHERE attrelid IN ('a_avgs'::regclass, 'a_exprs'::regclass, 'a_sketches'::regclass, 'a_minmax'::regclass)
   AND attnum > 0
 ORDER BY attrelid::regclass::text, attnum;

-- 1. batch only
SELECT * FROM check_all();
-- 2. batch + real-time tail (no fold yet)
SELECT load(1500);
SELECT * FROM check_all();
-- 3. batch + speed (folded), realtime off
SELECT count(*) FROM (SELECT lambda_views.fold(name) FROM defs) f;
SET lambda_views.realtime = off;
SELECT * FROM check_all();
-- 4. batch + speed + tail, with several speed generations and a recompute
RESET lambda_views.realtime;
SELECT load(700);
SELECT count(*) FROM (SELECT lambda_views.fold(name) FROM defs) f;
SELECT load(300);
SELECT count(*) FROM (SELECT lambda_views.recompute(name) FROM defs) r;
SELECT load(200);
SELECT count(*) FROM (SELECT lambda_views.fold(name) FROM defs) f;
SELECT load(100);
SELECT * FROM check_all();
SET lambda_views.realtime = off;
SELECT count(*) FROM (SELECT lambda_views.fold(name) FROM defs) f;
SELECT * FROM check_all();
RESET lambda_views.realtime;

-- A few values, to see they are the finalized aggregates and not states.
SELECT grp, n, n_i4 FROM a_counts ORDER BY grp NULLS FIRST;
SELECT * FROM a_global_filtered;
SELECT grp, n FROM a_having ORDER BY grp NULLS FIRST;

-- The building blocks, used directly: partial states of any aggregate
-- combine and finalize to the plain aggregate.
SELECT lambda_views.finalize('pg_catalog.avg(numeric)'::regprocedure,
         lambda_views.combine_states('pg_catalog.avg(numeric)'::regprocedure, a, b, NULL::numeric),
         NULL::numeric) = (SELECT avg(num) FROM m) AS avg_matches
  FROM (SELECT lambda_views.partial('pg_catalog.avg(numeric)'::regprocedure, num) FILTER (WHERE id % 2 = 0) AS a,
               lambda_views.partial('pg_catalog.avg(numeric)'::regprocedure, num) FILTER (WHERE id % 2 = 1) AS b
          FROM m) s;

SELECT count(*) FROM (SELECT lambda_views.drop_view(name) FROM defs) d;
DROP TABLE m, defs;
DROP FUNCTION load(int);
DROP FUNCTION check_all();
