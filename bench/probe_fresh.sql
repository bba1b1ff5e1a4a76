-- Freshness probe, run with lambda_views.realtime = off while pgbench ingests.
-- Each sample inserts one row with a url nobody else uses, commits, then polls
-- view_a every 5 ms until the row's group appears; the commit-to-visible time
-- goes to bench_fresh.  psql variable :samples.
CREATE TABLE IF NOT EXISTS bench_fresh (sample int, ms float8, seen bool);
TRUNCATE bench_fresh;
SET bench.samples = :samples;
SET lambda_views.realtime = off;
DO $$
DECLARE
    u      text;
    t0     timestamptz;
    found_ bool;
BEGIN
    FOR i IN 1 .. current_setting('bench.samples')::int LOOP
        u := '/fresh/' || i || '/' || pg_backend_pid() || '/' || floor(random() * 1e9);
        INSERT INTO public.pageviews (url, user_id, ts) VALUES (u, 1, now());
        COMMIT;
        t0 := clock_timestamp();
        found_ := false;
        WHILE clock_timestamp() - t0 < interval '10 seconds' LOOP
            PERFORM 1 FROM public.view_a WHERE url = u;
            IF FOUND THEN found_ := true; EXIT; END IF;
            PERFORM pg_sleep(0.005);
        END LOOP;
        INSERT INTO bench_fresh
        VALUES (i, extract(epoch FROM clock_timestamp() - t0) * 1000, found_);
        COMMIT;
        -- spread the samples over the fold cycle
        PERFORM pg_sleep(random() * 0.3);
    END LOOP;
END
$$;
