# Crash safety: SIGKILL of the per-database worker in the middle of folding a
# large backlog, and SIGKILL of the whole server in the middle of a batch
# recompute, each repeated.  After every crash the server comes back, the
# worker resumes folding, and the view equals its query on the source: no
# row lost, none counted twice.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

$SIG{PIPE} = 'IGNORE';

my $q = 'SELECT grp, count(*) AS n, sum(val) AS total, min(val) AS lo, max(val) AS hi FROM public.big GROUP BY grp';

# exact checks the view against its query in both read modes.
sub exact
{
	my ($node, $what) = @_;
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('big_v', $q)),
		'0', "$what: folded view (batch + speed) equals its query");
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('big_v', $q)),
		'0', "$what: realtime view equals its query");
}

# caught_up waits until the worker has folded every committed row.
sub caught_up
{
	my ($node, $what) = @_;
	my $last = $node->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM big');
	ok(wait_for($node, 'postgres',
		"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.big_v'", 40),
		"$what: the worker folded up to the last committed row");
}

my $node = start_node('crash', qq{
max_worker_processes = 16
restart_after_crash = on
lambda_views.fold_chunk_rows = 20000
lambda_views.naptime = 200
lambda_views.fold_workers = 1
});

$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');
$node->safe_psql('postgres', qq{
CREATE TABLE big (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grp  int NOT NULL,
    val  int NOT NULL
);
INSERT INTO big (grp, val) SELECT i % 1000, i % 7919 FROM generate_series(1, 600000) i;
SELECT lambda_views.create_view('big_v', \$\$$q\$\$, append_key => 'id', speed_interval => '1 second');
});
ok(wait_for($node, 'postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'", 30),
	'the worker runs');
caught_up($node, 'start');
exact($node, 'start');

# catch_fold(before) waits (up to 30 s) until the worker is running a fold
# and the speed watermark has moved beyond before; returns "pid|watermark".
$node->safe_psql('postgres', q{
CREATE FUNCTION catch_fold(before bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    FOR i IN 1..30000 LOOP
        PERFORM pg_stat_clear_snapshot();
        -- view_state, not the status view: its pending_rows counts the
        -- backlog, and a slow poll can miss every chunk but the last
        SELECT a.pid || '|' || s.speed_watermark INTO r
          FROM pg_stat_activity a, lambda_views.view_state s
          JOIN lambda_views.views v USING (view_id)
         WHERE a.backend_type = 'lambda_views worker' AND a.state = 'active'
           AND a.query LIKE 'lambda_views: fold%'
           AND v.view_name = 'big_v'
           AND s.speed_watermark > before;
        IF r IS NOT NULL THEN
            RETURN r;
        END IF;
        PERFORM pg_sleep(0.001);
    END LOOP;
    RETURN NULL;
END $$;
});

#
# 1. SIGKILL of the folding worker while it works through a backlog.
#
for my $round (1 .. 3)
{
	my $before = $node->safe_psql('postgres',
		"SELECT speed_watermark FROM lambda_views.status WHERE view = 'public.big_v'");
	$node->safe_psql('postgres', 'ALTER SYSTEM SET lambda_views.workers_enabled = off');
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	$node->safe_psql('postgres',
		"INSERT INTO big (grp, val) SELECT (i * $round) % 1000, i % 104729 FROM generate_series(1, 400000) i");
	my $target = $node->safe_psql('postgres', 'SELECT max(id) FROM big');

	# Let the worker loose on the backlog and catch it folding, part of the
	# way through: polled inside the server, from the session that wakes the
	# worker, so no chunk is missed (a new session can take longer to start
	# than the whole fold).
	$node->safe_psql('postgres', 'CHECKPOINT');
	$node->safe_psql('postgres', 'ALTER SYSTEM SET lambda_views.workers_enabled = on');
	my $row = $node->safe_psql('postgres',
		"SELECT pg_reload_conf(), coalesce(catch_fold($before), '')");
	my ($reloaded, $pid, $wm) = split /\|/, $row;
	ok(defined $pid, "round $round: caught the worker folding");
	ok(defined $wm && $wm < $target, "round $round: the backlog was partly folded when the worker was killed")
	  or diag("watermark $wm, target $target");
	kill 'KILL', $pid if defined $pid;

	# The postmaster treats the killed worker as a crash and reinitializes.
	ok(wait_for($node, 'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND pid <> "
		  . ($pid // 0), 60),
		"round $round: server back and a new worker started");
	# Right after the restart, before catch-up, the merged view is already exact.
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('big_v', $q)),
		'0', "round $round: realtime view exact right after the crash");
	caught_up($node, "round $round");
	exact($node, "round $round after worker crash");
}
ok($node->log_contains('terminated by signal 9'), 'the server log shows the killed worker');

#
# 2. SIGKILL of the postmaster (and with it the whole server) in the middle
#    of a recompute.
#
$node->safe_psql('postgres',
	'INSERT INTO big (grp, val) SELECT i % 1000, i % 7907 FROM generate_series(1, 1000000) i');
caught_up($node, 'before the recompute rounds');
$node->safe_psql('postgres', 'CHECKPOINT');
my $t0 = time();
my $rows = $node->safe_psql('postgres', "SELECT lambda_views.recompute('big_v')");
my $recompute_s = time() - $t0;
note(sprintf('a recompute of %d rows takes %.2f s', $rows, $recompute_s));

for my $round (1 .. 2)
{
	$node->safe_psql('postgres',
		"INSERT INTO big (grp, val) SELECT (i * 7 + $round) % 1000, i % 65521 FROM generate_series(1, 200000) i");
	caught_up($node, "recompute round $round: before");
	my $gen = $node->safe_psql('postgres',
		"SELECT batch_gen FROM lambda_views.status WHERE view = 'public.big_v'");

	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-d', $node->connstr('postgres'),
			'-c', "SELECT lambda_views.recompute('big_v')"
		],
		'>', \$out, '2>', \$err);
	ok(wait_for($node, 'postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE state = 'active' AND query LIKE 'SELECT lambda_views.recompute%'
		   AND now() - query_start > interval '200 milliseconds'}, 30),
		"recompute round $round: recompute running");
	# Kill in the middle: the postmaster first, then every process it had
	# started, as a power loss would.
	my $pm = $node->{_pid};
	my @kids = children($pm);
	$node->kill9;
	kill 'KILL', @kids;
	my $deadline = time() + 30;
	usleep(50_000) while (grep { kill(0, $_) } ($pm, @kids)) && time() < $deadline;
	$h->finish;
	# The recompute is killed well before its usual duration; should a slow
	# machine have let it finish anyway, its swap must be complete instead.
	my $completed = ($out =~ /^\d+$/);
	note("recompute round $round: the recompute completed before the kill") if $completed;

	$node->start;
	is($node->safe_psql('postgres', "SELECT batch_gen FROM lambda_views.status WHERE view = 'public.big_v'"),
		$completed ? $gen + 1 : $gen,
		"recompute round $round: the batch is the old one, or wholly the new one if the recompute committed");
	exact($node, "recompute round $round right after restart");

	# Folding resumes after the restart.
	$node->safe_psql('postgres',
		"INSERT INTO big (grp, val) SELECT i % 1500, i FROM generate_series(1, 5000) i");
	ok(wait_for($node, 'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'", 30),
		"recompute round $round: the worker runs again");
	caught_up($node, "recompute round $round after restart");
	exact($node, "recompute round $round after restart");

	# A recompute after the crash completes, reads every row up to the
	# speed watermark, and the view stays exact.
	my $wm = $node->safe_psql('postgres',
		"SELECT speed_watermark FROM lambda_views.status WHERE view = 'public.big_v'");
	my $read = $node->safe_psql('postgres', "SELECT lambda_views.recompute('big_v')");
	is($read, $node->safe_psql('postgres', "SELECT count(*) FROM big WHERE id <= $wm"),
		"recompute round $round: a new recompute reads every row up to the watermark");
	cmp_ok($node->safe_psql('postgres',
		"SELECT batch_gen FROM lambda_views.status WHERE view = 'public.big_v'"), '>', $gen,
		"recompute round $round: the new recompute swapped in a new batch");
	exact($node, "recompute round $round after a new recompute");
}

is($node->safe_psql('postgres', 'SELECT last_error FROM lambda_views.status'), '',
	'no fold or recompute error recorded');

$node->stop;
done_testing();
