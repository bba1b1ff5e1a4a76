-- Read-your-writes with lambda_views.realtime = on: insert, commit, and read
-- the row's group on the very next query.  psql variable :samples.
CREATE TABLE IF NOT EXISTS bench_realtime (sample int, seen bool);
TRUNCATE bench_realtime;
SET bench.samples = :samples;
SET lambda_views.realtime = on;
DO $$
DECLARE
    u text;
BEGIN
    FOR i IN 1 .. current_setting('bench.samples')::int LOOP
        u := '/rt/' || i || '/' || pg_backend_pid() || '/' || floor(random() * 1e9);
        INSERT INTO public.pageviews (url, user_id, ts) VALUES (u, 1, now());
        COMMIT;
        PERFORM 1 FROM public.view_a WHERE url = u AND views = 1;
        INSERT INTO bench_realtime VALUES (i, FOUND);
        COMMIT;
        PERFORM pg_sleep(random() * 0.1);
    END LOOP;
END
$$;
