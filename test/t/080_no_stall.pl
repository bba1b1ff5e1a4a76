# No stall: a writer left open on a source never delays the views of
# another source, nor the other rows of its own.  Two sources, a (page
# views) and b (sensor readings), each with two views; rows are events
# stamped near now(), a few of them late.  While each kind of open writer
# holds b, rows committed into a and into b itself become visible in a's
# views and in b_by_device (lambda_views.realtime = off) within
# speed_interval + 100 ms, measured row by row: the workers fold around the
# open writer, whose keys become b's views' holes (src/layers/speed.c).
# The views are never wrong meanwhile (batch + speed equal the rows up to
# the speed watermark but its holes, the open writer's keys are never
# folded; with realtime on they equal the query), and once the writer ends
# they catch up and equal their query exactly: committed rows folded once,
# aborted ones never.  The kinds of open writer:
#   1. sessions idle in transaction after one INSERT (one commits, one rolls
#      back), while an alter_view replay of a b view is pending: it must not
#      switch in while the writer is open, and does once it has ended;
#   2. a role with only INSERT on b that ran BEGIN; PREPARE ... AS INSERT and
#      stays idle: it holds b's write lock but never inserts;
#   3. PREPARE TRANSACTION left prepared (its backend gone), one committed
#      and one rolled back at the end; the first was open a second before
#      the second began;
#   4. a COPY into b in one transaction, fed slowly.
# Each writer is held 10 s, not the issue's 60 s: a worker that waits for
# b's writers stalls the views from its first round, and 10 s are some 70
# rounds.  One folding worker (lambda_views.fold_workers = 1), so a worker
# that waited for b's writers would stall a's views whatever the pool's size.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use IO::Handle;
use POSIX qw(strftime);
use Time::HiRes qw(time usleep);

my $t_start = time();
my $speed_ms = 200;
my $bar_ms = $speed_ms + 100;    # the bar of the issue: speed_interval + 100 ms

# The scheduling margin on top of the bar.  What is measured is commit to
# seen by a poll, so it also holds the poll period (5 ms), the poll's own
# reads (two index lookups, ~1 ms) and the time the measuring backend waits
# for a core when it wakes: on a 2-core machine the worker, the measuring
# backend, the writer's backend and the test's psql share two cores, and a
# woken process can wait a few scheduler slices (4 ms each) for one.
my $margin_ms = 40;
my $hold_chunks = 4;      # each open writer is held for 4 measuring chunks
my $chunk_s = 2.5;        # of 2.5 s each: 10 s, ~70 folds of each view
my $min_marks = 12;       # rows measured per writer, at the least

my $node = start_node('no_stall', qq{
max_worker_processes = 16
max_prepared_transactions = 10
lambda_views.naptime = 100
lambda_views.fold_workers = 1
});
$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');

# Queries, with %s where a WHERE clause goes: '' for the view's own query,
# or a restriction to the rows up to the view's speed watermark.
my %q = (
	a_by_url => q{SELECT url, date_trunc('minute', ts) AS minute, count(*) AS hits, sum(ms) AS total_ms
	    FROM public.a %s GROUP BY url, date_trunc('minute', ts)},
	a_by_user => q{SELECT user_id, count(*) AS n, max(ts) AS last_seen, min(ms) AS fastest
	    FROM public.a %s GROUP BY user_id},
	b_by_device => q{SELECT device, count(*) AS n, avg(reading) AS avg_reading, max(ts) AS last_ts
	    FROM public.b %s GROUP BY device},
	b_by_hour => q{SELECT date_trunc('hour', ts) AS hour, count(*) AS n, sum(reading) AS total,
	    bool_or(reading > 900) AS hot FROM public.b %s GROUP BY date_trunc('hour', ts)},
);
# the new query alter_view gives b_by_hour
my $b_by_hour_v2 = q{SELECT date_trunc('hour', ts) AS hour, device % 10 AS bucket, count(*) AS n,
    max(reading) AS top FROM public.b %s GROUP BY date_trunc('hour', ts), device % 10};
my @views = sort keys %q;

$node->safe_psql('postgres', q{
CREATE TABLE a (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts      timestamptz NOT NULL,
    url     text NOT NULL,
    user_id int NOT NULL,
    ms      int NOT NULL
);
CREATE TABLE b (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts      timestamptz NOT NULL,
    device  int NOT NULL,
    reading int NOT NULL
);
-- an event time: within 2 s of now, or up to 3 days late for 1% of rows
CREATE FUNCTION event_ts() RETURNS timestamptz VOLATILE LANGUAGE sql AS $$
    SELECT now() - CASE WHEN random() < 0.01 THEN random() * interval '3 days'
                        ELSE random() * interval '2 seconds' END $$;
INSERT INTO a (ts, url, user_id, ms)
    SELECT now() - i * interval '1 second' - CASE WHEN i % 100 = 0 THEN interval '1 day' ELSE interval '0' END,
           '/page/' || (i * 7919) % 200, (i * 104729) % 5000, (i * 31) % 1000
      FROM generate_series(1, 20000) i;
INSERT INTO b (ts, device, reading)
    SELECT now() - i * interval '1 second' - CASE WHEN i % 100 = 0 THEN interval '2 days' ELSE interval '0' END,
           i % 50, (i * 37) % 1000
      FROM generate_series(1, 20000) i;
CREATE ROLE b_writer LOGIN;
GRANT INSERT ON b TO b_writer;
CREATE TABLE marks (phase text, n int, ms float8, seen bool);
CREATE SEQUENCE marker_seq;

-- measure(phase, secs) runs for secs seconds: it commits a few ordinary
-- rows into b with a marker row whose device is a new group of b_by_device,
-- then a few into a together with a marker row whose url and user_id are
-- new groups of a's two views, starts a clock once each commit returned,
-- and polls the views every 5 ms (in the caller's setting of
-- lambda_views.realtime) until they show both markers, for at most 2 s; it
-- records the delays (phase for a, phase || ' (b)' for b), then pauses
-- 50-250 ms so that commits fall at every point of the fold schedule.
-- Each statement takes a new snapshot.
CREATE PROCEDURE measure(phase text, secs float8) LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => secs);
    t0 timestamptz;
    tb timestamptz;
    m int;
    seen bool;
    seen_b bool;
    ms_b float8;
BEGIN
    WHILE clock_timestamp() < deadline LOOP
        m := nextval('marker_seq');
        INSERT INTO b (ts, device, reading)
            SELECT event_ts(), (random() * 49)::int, (random() * 999)::int FROM generate_series(1, 3)
            UNION ALL
            SELECT now(), -m, m % 1000;
        COMMIT;
        tb := clock_timestamp();
        INSERT INTO a (ts, url, user_id, ms)
            SELECT event_ts(), '/page/' || (random() * 199)::int, (random() * 4999)::int, (random() * 999)::int
              FROM generate_series(1, 3)
            UNION ALL
            SELECT now(), 'marker-' || m, -m, m % 1000;
        COMMIT;
        t0 := clock_timestamp();
        seen_b := false;
        LOOP
            IF NOT seen_b AND EXISTS (SELECT 1 FROM b_by_device WHERE device = -m) THEN
                seen_b := true;
                ms_b := extract(epoch FROM clock_timestamp() - tb) * 1000;
            END IF;
            seen := EXISTS (SELECT 1 FROM a_by_url WHERE url = 'marker-' || m)
                AND EXISTS (SELECT 1 FROM a_by_user WHERE user_id = -m);
            EXIT WHEN (seen AND seen_b) OR clock_timestamp() > t0 + interval '2 seconds';
            PERFORM pg_sleep(0.005);
        END LOOP;
        INSERT INTO marks VALUES (phase, m, extract(epoch FROM clock_timestamp() - t0) * 1000, seen);
        INSERT INTO marks VALUES (phase || ' (b)', m, coalesce(ms_b, 2000), seen_b);
        COMMIT;
        PERFORM pg_sleep(0.05 + random() * 0.2);
    END LOOP;
END $$;
});
for my $v (@views)
{
	my $qv = sprintf($q{$v}, '');
	$node->safe_psql('postgres', qq{
SELECT lambda_views.create_view('$v', \$\$$qv\$\$, speed_interval => '$speed_ms milliseconds')});
}
ok(wait_for($node, 'postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND datname = 'postgres'", 30),
	'one lambda_views folding worker runs in the database');

# A session for the checks (starting psql for each would take longer than
# the checks themselves); sql runs one query in it, wait_until polls one.
my $checker = $node->background_psql('postgres');
$checker->set_query_timer_restart();

sub sql
{
	my ($query) = @_;
	return $checker->query_safe($query);
}

sub wait_until
{
	my ($query, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if sql($query) eq 't';
		usleep(20_000);
	}
	diag("timed out after ${secs}s waiting for: $query");
	return 0;
}

# the speed watermark of the view serving under a name, as a subquery
sub watermark_sql
{
	my ($v) = @_;
	return "(SELECT s.speed_watermark FROM lambda_views.view_state s JOIN lambda_views.views w USING (view_id)"
	  . " WHERE w.view_schema = 'public' AND w.view_name = '$v')";
}

# check_views compares every view with its query while writers may be open;
# it returns the disagreements found, each as a line of text.  Each check is
# one statement, so the view, the watermark and the source are read in one
# snapshot.  With realtime off a view is its batch and speed layers: the
# rows up to the speed watermark but its holes; the lowest key an open
# writer of b holds ($open_key, if it holds keys) is never among them.
sub check_views
{
	my ($label, $open_key) = @_;
	my @bad;
	for my $v (@views)
	{
		sql('SET lambda_views.realtime = off');
		my $off = sql(diff_sql($v, sprintf($q{$v}, 'WHERE ' . folded_sql("public.$v"))));
		push @bad, "$label: $v (realtime off) differs from the rows it folded in $off rows"
		  if $off ne '0';
		sql('SET lambda_views.realtime = on');
		my $on = sql(diff_sql($v, sprintf($q{$v}, '')));
		push @bad, "$label: $v (realtime on) differs from its query in $on rows" if $on ne '0';
		if (defined $open_key && $v =~ /^b_/)
		{
			push @bad, "$label: $v counts the open writer's key $open_key as folded"
			  if sql('SELECT ' . folded_sql("public.$v", $open_key)) eq 't';
		}
	}
	return @bad;
}

# since_fold returns the longest time (ms) since a fold of one of a's views.
sub since_fold
{
	return sql(q{
		SELECT round(max(extract(epoch FROM clock_timestamp() - s.last_fold_at) * 1000))
		  FROM lambda_views.view_state s JOIN lambda_views.views w USING (view_id)
		 WHERE w.source = 'public.a'::regclass AND w.role = 'serving'});
}

# b_locked says whether some transaction holds a write lock on b.
sub b_locked
{
	return sql(q{
		SELECT count(*) > 0 FROM pg_locks
		 WHERE locktype = 'relation' AND relation = 'public.b'::regclass
		   AND mode = 'RowExclusiveLock' AND granted});
}

# The session that measures reads with realtime off.
my $reader = $node->background_psql('postgres');
$reader->set_query_timer_restart();
$reader->query_safe('SET lambda_views.realtime = off');

# hold measures a's freshness in $hold_chunks chunks while a writer holds b,
# checking every view after each chunk (and running $between, if given);
# then it reports and checks the figures of the phase.
sub hold
{
	my ($phase, $open_key, $between) = @_;
	my @bad;
	my $since = 0;
	for my $c (1 .. $hold_chunks)
	{
		$reader->query_safe("CALL measure('$phase', $chunk_s)");
		push @bad, check_views("$phase, chunk $c", $open_key);
		my $s = since_fold();
		$since = $s if $s > $since;
		$between->($c) if $between;
	}
	is(b_locked(), 't', "$phase: b's writer was still open at the end of the hold");
	is_deeply(\@bad, [], "$phase: every view agreed with its query in every check while b's writer was open");
	ok($since <= $bar_ms + $margin_ms,
		"$phase: a's views folded on schedule (longest since a fold: $since ms)");
	my $max = figures($phase);
	my $max_b = figures("$phase (b)");
	return $max > $max_b ? $max : $max_b;
}

# figures notes and checks the delays measured in a phase.
sub figures
{
	my ($phase) = @_;
	my ($n, $seen, $p50, $p90, $max) = split /\|/, sql(qq{
		SELECT count(*), count(*) FILTER (WHERE seen),
		       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)),
		       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)), round(max(ms))
		  FROM marks WHERE phase = '$phase'});
	my $src = $phase =~ / \(b\)$/ ? 'b' : 'a';
	note(sprintf('%-26s commit-to-visible in %s (realtime off): %d rows, %d seen, p50 %s ms, p90 %s ms, p100 %s ms',
		$phase, $src, $n, $seen, $p50, $p90, $max));
	ok($n >= $min_marks, "$phase: $n rows of $src measured (at least $min_marks)");
	is($seen, $n, "$phase: every row committed into $src became visible in $src\'s views");
	ok($max <= $bar_ms + $margin_ms,
		"$phase: p100 $max ms <= speed_interval + 100 ms + $margin_ms ms margin");
	return $max;
}

# caught_up waits until b's views have folded every committed row of b,
# then checks that every view equals its query exactly, with realtime off
# and on.
sub caught_up
{
	my ($phase) = @_;
	my $last = sql('SELECT max(id) FROM b');
	ok( wait_until(
			'SELECT NOT EXISTS (SELECT 1 FROM b WHERE '
			  . join(' OR ', map { 'NOT ' . folded_sql("public.$_") } grep { /^b_/ } @views) . ')', 20),
		"$phase: b's views fold every row of b once the writer ended");
	for my $v (@views)
	{
		my $qv = sprintf($q{$v}, '');
		sql('SET lambda_views.realtime = off');
		is(sql(diff_sql($v, $qv)), '0', "$phase: $v (batch + speed) equals its query");
		sql('SET lambda_views.realtime = on');
		is(sql(diff_sql($v, $qv)), '0', "$phase: $v (realtime) equals its query");
	}
}

# device_count returns "rows in b|count in b_by_device (realtime off)" for a device.
sub device_count
{
	my ($device) = @_;
	sql('SET lambda_views.realtime = off');
	return sql(qq{
		SELECT (SELECT count(*) FROM b WHERE device = $device) || '|'
		    || coalesce((SELECT n FROM b_by_device WHERE device = $device), 0)});
}

#
# 0. No writer open: the same measurement, for comparison.
#
caught_up('start');
$reader->query_safe("CALL measure('no writer', 5)");
my %p100 = ('no writer' => figures('no writer'));
figures('no writer (b)');

#
# 1. Sessions idle in transaction after one INSERT each, and an alter_view
#    replay of b_by_hour pending meanwhile.
#
my $w1 = $node->background_psql('postgres');
my $w1r = $node->background_psql('postgres');
$_->set_query_timer_restart() for ($w1, $w1r);
my $k1 = $w1->query_safe(
	'BEGIN; INSERT INTO b (ts, device, reading) VALUES (event_ts(), 9001, 1) RETURNING id');
my $k1r = $w1r->query_safe(
	'BEGIN; INSERT INTO b (ts, device, reading) VALUES (event_ts(), 9011, 2) RETURNING id');
my $v2 = sprintf($b_by_hour_v2, '');
my ($rc, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '10s'; SELECT lambda_views.alter_view('b_by_hour', \$\$$v2\$\$) IS NOT NULL");
is($rc, 0, 'idle in transaction: alter_view of b_by_hour starts a replay while the writers are open')
  or diag($err);
my $replay_role = q{SELECT role FROM lambda_views.views
	 WHERE family = (SELECT family FROM lambda_views.views WHERE view_schema = 'public' AND view_name = 'b_by_hour')
	   AND version = 2};
my @roles;
$p100{'idle in transaction'} = hold('idle in transaction', $k1 < $k1r ? $k1 : $k1r,
	sub { push @roles, sql($replay_role) });
is_deeply(\@roles, [('replaying') x $hold_chunks],
	'idle in transaction: the replay does not switch in while b has an open writer');
ok(sql("SELECT clock_timestamp() - s.last_fold_at < interval '2 seconds'"
	  . " FROM lambda_views.view_state s JOIN lambda_views.views w USING (view_id)"
	  . " WHERE w.role = 'replaying'") eq 't',
	'idle in transaction: the worker kept visiting the pending replay');
$w1->query_safe('COMMIT');
$w1r->query_safe('ROLLBACK');
$_->quit for ($w1, $w1r);
ok(wait_until("SELECT ($replay_role) = 'serving'", 20),
	'idle in transaction: the replay switches in once the writers ended');
$q{b_by_hour} = $b_by_hour_v2;
caught_up('idle in transaction');
is(device_count(9001), '1|1', 'idle in transaction: the committed row is folded once');
is(device_count(9011), '0|0', 'idle in transaction: the rolled-back row is never folded');

#
# 2. A role with only INSERT on b prepares an INSERT and stays idle: it holds
#    b's write lock without ever drawing a key.
#
my $w2 = $node->background_psql('postgres', extra_params => [ '-U', 'b_writer' ]);
$w2->set_query_timer_restart();
my $w2pid = $w2->query_safe('SELECT pg_backend_pid()');
$w2->query_safe('BEGIN; PREPARE ins (timestamptz, int, int) AS '
	  . 'INSERT INTO b (ts, device, reading) VALUES ($1, $2, $3)');
is(sql(qq{
	SELECT count(*) FROM pg_locks WHERE pid = $w2pid AND relation = 'public.b'::regclass
	   AND mode = 'RowExclusiveLock' AND granted}),
	'1', 'prepared statement: the INSERT-only role holds the write lock on b');
$p100{'prepared statement'} = hold('prepared statement', undef);
$w2->query_safe('COMMIT');
$w2->quit;
caught_up('prepared statement');

#
# 3. Prepared transactions outliving their backends.  The first one is held
#    as an ordinary open transaction for a second (the worker notes it as a
#    writer of b under its session) before it is prepared.
#
my $w3 = $node->background_psql('postgres');
my $k3 = $w3->query_safe('BEGIN; WITH i AS (INSERT INTO b (ts, device, reading) '
	  . 'SELECT event_ts(), 9031, g FROM generate_series(1, 3) g RETURNING id) SELECT min(id) FROM i');
$reader->query_safe("CALL measure('prepared transaction', 1)");
$w3->query_safe("PREPARE TRANSACTION 'lv_w3_commit'");
$w3->quit;
$w3 = $node->background_psql('postgres');
my $k3r = $w3->query_safe('BEGIN; WITH i AS (INSERT INTO b (ts, device, reading) '
	  . 'SELECT event_ts(), 9032, g FROM generate_series(1, 3) g RETURNING id) SELECT min(id) FROM i');
$w3->query_safe("PREPARE TRANSACTION 'lv_w3_rollback'");
$w3->quit;
is(sql('SELECT count(*) FROM pg_prepared_xacts'), '2',
	'prepared transaction: two transactions are left prepared');
$p100{'prepared transaction'} = hold('prepared transaction', $k3);
sql("COMMIT PREPARED 'lv_w3_commit'");
# The committed one's rows fold while the other is still prepared.
sql('SET lambda_views.realtime = off');
ok(wait_until('SELECT (SELECT count(*) FROM b WHERE device = 9031) = 3 '
	  . 'AND (SELECT n FROM b_by_device WHERE device = 9031) = 3', 10),
	'prepared transaction: the committed one is folded while the other is still prepared');
my @bad = check_views('one prepared transaction left', $k3r);
is_deeply(\@bad, [], 'prepared transaction: views agree with their queries, the one left is not folded');
sql("ROLLBACK PREPARED 'lv_w3_rollback'");
caught_up('prepared transaction');
is(device_count(9031), '3|3', 'prepared transaction: the committed rows are folded once');
is(device_count(9032), '0|0', 'prepared transaction: the rolled-back rows are never folded');

#
# 4. A COPY into b in one transaction, fed a few thousand rows at a time.
#
# copy_rows returns n lines of COPY text for b (ts, device, reading) with
# event times near now, 1% up to 3 days late.
sub copy_rows
{
	my ($n) = @_;
	my $text = '';
	for (1 .. $n)
	{
		my $t = time() - (rand() < 0.01 ? rand(3 * 86400) : rand(2));
		$text .= strftime('%Y-%m-%d %H:%M:%S', gmtime($t))
		  . sprintf('.%06d+00', ($t - int($t)) * 1e6) . "\t9041\t" . int(rand(1000)) . "\n";
	}
	return $text;
}
my $copied = 0;
my $seq_before = sql(
	"SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('b', 'id')), 0)");
my ($copy_out, $copy_err) = ('', '');
# a pipe (IPC::Run opens it non-blocking: made blocking, a print returns
# once psql has read all it wrote)
my $copy = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', '-' ],
	'<pipe', \*COPY_IN, '>', \$copy_out, '2>', \$copy_err);
COPY_IN->blocking(1);
COPY_IN->autoflush(1);
# send writes the text to the COPY, all of it
sub send_copy
{
	my ($text) = @_;
	print COPY_IN $text or die "could not write to the COPY: $!";
}
send_copy("BEGIN;\nCOPY b (ts, device, reading) FROM STDIN;\n" . copy_rows(20000));
$copied += 20000;
# (psql keeps the last few kB in its buffer until more come)
ok(wait_until(
	"SELECT pg_sequence_last_value(pg_get_serial_sequence('b', 'id')) >= $seq_before + 19000", 20),
	'copy: the COPY has drawn keys for the rows sent so far');
$p100{'copy'} = hold('copy', $seq_before + 1, sub {
	send_copy(copy_rows(5000));
	$copied += 5000;
});
is(sql(q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY b %' AND state = 'active'}),
	'1', 'copy: the COPY was still running at the end of the hold');
send_copy("\\.\nCOMMIT;\n");
close(COPY_IN);
$copy->finish;
is($copy_err, '', 'copy: the COPY committed without error');
caught_up('copy');
is(device_count(9041), "$copied|$copied", "copy: the $copied copied rows are folded once");

is(sql('SELECT count(*) FROM lambda_views.status WHERE last_error IS NOT NULL'),
	'0', 'no fold error recorded');
note(sprintf('p100 (ms) per open writer on b, bar %d ms + %d ms margin: %s', $bar_ms, $margin_ms,
	join(', ', map { "$_ $p100{$_}" } sort keys %p100)));
$reader->quit;
$checker->quit;
$node->stop;
note(sprintf('run time %.0f s', time() - $t_start));
done_testing();
