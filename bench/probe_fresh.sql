-- Freshness probe, run with lambda_views.realtime = off.  For :seconds it
-- inserts marker rows about every :gap_ms milliseconds (uniform 0.5x..1.5x,
-- so markers fall anywhere in the fold cycle), round robin over the sources
-- of bench_targets (src, view, kind), each in its own committed transaction,
-- and meanwhile polls every 5 ms each target view of each marker not seen
-- yet.  A marker has a url nobody else uses and a user_id above every other
-- (increasing): kind 'url' looks its url up, kind 'maxuser' (a view grouped
-- by hour with max(user_id) AS max_user) waits until its hour's max_user
-- reaches it.  Commit-to-visible times go to bench_fresh under the tag :run;
-- a marker still not seen :timeout seconds after the last one was inserted
-- is recorded with ms NULL.
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS bench_fresh (run text, marker int, src text, view text, ms float8);
DELETE FROM bench_fresh WHERE run = :'run';
SET bench.seconds = :seconds;
SET bench.gap_ms = :gap_ms;
SET bench.timeout = :timeout;
SET bench.run = :'run';
SET lambda_views.realtime = off;
DO $$
DECLARE
    secs     float8 := current_setting('bench.seconds')::float8;
    gap      float8 := current_setting('bench.gap_ms')::float8 / 1000;
    tmo      float8 := current_setting('bench.timeout')::float8;
    tag      text := current_setting('bench.run');
    srcs     text[];
    t_end    timestamptz;
    next_at  timestamptz;
    now_     timestamptz;
    c        timestamptz;
    n        int := 0;
    s        text;
    u        text;
    uid      bigint;
    ts_      timestamptz;
    t        record;
    found_   bool;
    first_   int := 1;
    -- one entry per (marker, target view)
    p_marker int[] := '{}';
    p_src    text[] := '{}';
    p_view   text[] := '{}';
    p_kind   text[] := '{}';
    p_url    text[] := '{}';
    p_uid    bigint[] := '{}';
    p_ts     timestamptz[] := '{}';
    p_commit timestamptz[] := '{}';
    p_ms     float8[] := '{}';
    p_done   bool[] := '{}';
    np       int := 0;
BEGIN
    SELECT array_agg(DISTINCT src ORDER BY src) INTO srcs FROM bench_targets;
    t_end := clock_timestamp() + secs * interval '1 second';
    next_at := clock_timestamp();
    LOOP
        now_ := clock_timestamp();
        IF now_ < t_end AND now_ >= next_at THEN
            n := n + 1;
            s := srcs[1 + (n - 1) % array_length(srcs, 1)];
            u := '/fresh/' || tag || '/' || n || '/' || floor(random() * 1e9);
            uid := 2000000000000 + (extract(epoch FROM now_) * 1000)::bigint;
            ts_ := now_;
            EXECUTE format('INSERT INTO %s (url, user_id, ts) VALUES ($1, $2, $3)', s)
                USING u, uid, ts_;
            COMMIT;
            c := clock_timestamp();
            FOR t IN SELECT b.view, b.kind FROM bench_targets b WHERE b.src = s ORDER BY b.view LOOP
                np := np + 1;
                p_marker[np] := n; p_src[np] := s; p_view[np] := t.view; p_kind[np] := t.kind;
                p_url[np] := u; p_uid[np] := uid; p_ts[np] := ts_; p_commit[np] := c;
                p_ms[np] := NULL; p_done[np] := false;
            END LOOP;
            next_at := c + gap * (0.5 + random()) * interval '1 second';
        END IF;
        FOR i IN first_ .. np LOOP
            CONTINUE WHEN p_done[i];
            IF p_kind[i] = 'url' THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE url = $1)', p_view[i])
                    INTO found_ USING p_url[i];
            ELSE
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE hour = date_trunc(''hour'', $2) AND max_user >= $1)',
                               p_view[i])
                    INTO found_ USING p_uid[i], p_ts[i];
            END IF;
            IF found_ THEN
                p_done[i] := true;
                p_ms[i] := extract(epoch FROM clock_timestamp() - p_commit[i]) * 1000;
            END IF;
        END LOOP;
        WHILE first_ <= np AND p_done[first_] LOOP first_ := first_ + 1; END LOOP;
        now_ := clock_timestamp();
        EXIT WHEN now_ >= t_end AND (first_ > np OR now_ >= t_end + tmo * interval '1 second');
        PERFORM pg_sleep(0.005);
    END LOOP;
    INSERT INTO bench_fresh
    SELECT tag, m, sr, v, ms
      FROM unnest(p_marker, p_src, p_view, p_ms) AS x(m, sr, v, ms);
END
$$;
