# Kappa replay under load: alter_view builds version 2 of a view over a
# source of a million rows, throttled, while inserts stream in and readers
# check in every snapshot that the view agrees with the source.  A clean
# restart and a SIGKILL of the whole server part way through the replay
# resume it from its committed watermark, not from 0; the worker then switches
# the view's name to version 2 (new columns), and once folding settles the
# view equals its new query on the source row for row, with and without the
# real-time tail.  No reader ever saw a disagreement.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $q1 = 'SELECT k, count(*) AS n FROM public.src GROUP BY k';
my $q2 = 'SELECT k % 10 AS k, count(*) AS n, sum(v) AS s FROM public.src GROUP BY k % 10';
my $source_rows = 1_000_000;
# about 20 s for the whole source: the replay is throttled to this rate
# whichever worker of the pool folds it, however often
my $rows_per_second = 50_000;

my $node = start_node('replay', qq{
max_worker_processes = 16
max_connections = 30
lambda_views.naptime = 200
restart_after_crash = on
max_wal_size = 2GB
});

$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');

my $t0 = time();
$node->safe_psql('postgres', qq{
CREATE TABLE src (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    k   int,
    v   int
);
INSERT INTO src (k, v) SELECT i % 1000, i % 97 FROM generate_series(1, $source_rows) i;
VACUUM ANALYZE src;
});
$node->safe_psql('postgres', qq{
SELECT lambda_views.create_view('v', \$\$$q1\$\$, speed_interval => '200 milliseconds');
});
note(sprintf('source of %d rows and view v created in %.1f s', $source_rows, time() - $t0));

ok(wait_for($node, 'postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND datname = 'postgres'", 30),
	'a lambda_views worker runs in the database');
is($node->safe_psql('postgres', diff_sql('v', $q1)), '0', 'version 1 equals its query before the replay');

# The load: two inserting clients at a fixed rate, and two readers whose
# script fails whenever the view, read in the reader's snapshot, disagrees
# with the source: the cast of the message to int raises an error that shows
# both numbers (the CASE arm is not a constant, so the planner cannot fold it
# into an error of its own).  sum(n) is the row count under both versions.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $insert_script = "$dir/insert.sql";
my $read_script = "$dir/read.sql";
open(my $fh, '>', $insert_script) or die "could not write $insert_script: $!";
print $fh "\\set k random(0, 1999)\n\\set v random(1, 100)\n"
  . "INSERT INTO src (k, v) VALUES (:k, :v);\n";
close($fh);
open($fh, '>', $read_script) or die "could not write $read_script: $!";
print $fh "SELECT CASE WHEN a IS DISTINCT FROM b THEN ('view disagrees: sum(n) ' || coalesce(a::text, 'NULL')"
  . " || ' <> count(*) ' || b)::int END\n"
  . "  FROM (SELECT (SELECT sum(n) FROM v) AS a, (SELECT count(*) FROM src) AS b) x;\n";
close($fh);

my @phases;    # every pgbench run, checked when it ends

# start_load starts the inserters and the readers for $secs seconds.
sub start_load
{
	my ($name, $secs) = @_;
	my @runs;
	for my $kind (['insert', $insert_script, 400], ['read', $read_script, 10])
	{
		my ($what, $script, $rate) = @$kind;
		my $run = { name => "$name $what", out => '', err => '' };
		$run->{h} = IPC::Run::start(
			[
				'pgbench', '-n', '-c', '2', '-j', '2', '-R', $rate, '-T', $secs,
				'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres'
			],
			'>', \$run->{out}, '2>', \$run->{err});
		push @runs, $run;
	}
	note("load '$name' started for $secs s");
	return \@runs;
}

# finish_load waits for a load to end and checks that pgbench saw no error.
sub finish_load
{
	my ($runs) = @_;
	for my $run (@$runs)
	{
		$run->{h}->finish;
		my $rc = ($run->{h}->results)[0];
		my ($tx) = $run->{out} =~ /number of transactions actually processed: (\d+)/;
		my ($failed) = $run->{out} =~ /number of failed transactions: (\d+)/;
		$tx //= -1;
		note("pgbench $run->{name}: exit $rc, $tx transactions, " . ($failed // '?') . ' failed');
		note("pgbench $run->{name}: $_") for grep { /ERROR|abort/ } split /\n/, $run->{err};
		is($rc, 0, "pgbench $run->{name}: exit status 0")
		  or diag("pgbench $run->{name} stdout:\n$run->{out}\nstderr:\n$run->{err}");
		ok($tx > 0 && defined $failed && $failed == 0 && $run->{err} !~ /ERROR|aborted/,
			"pgbench $run->{name}: $tx transactions, none failed")
		  or diag("pgbench $run->{name} stdout:\n$run->{out}\nstderr:\n$run->{err}");
	}
}

sub progress
{
	my $row = $node->safe_psql('postgres',
		"SELECT replay_keys_done, replay_keys_total, round(replay_rows_per_second), replay_eta "
		  . "FROM lambda_views.status WHERE version = 2 AND role = 'replaying'");
	return split /\|/, $row;
}

# Phase A: load running, alter_view starts the replay.
my $load = start_load('before restart', 5);
usleep(500_000);
my $replay_rel = $node->safe_psql('postgres', qq{
SELECT lambda_views.alter_view('v', \$\$$q2\$\$, rows_per_second => $rows_per_second)});
my $t_alter = time();
note("alter_view returned $replay_rel");
is($node->safe_psql('postgres',
	"SELECT string_agg(version || ':' || role, ',' ORDER BY version) FROM lambda_views.status WHERE view_id IN "
	  . "(SELECT view_id FROM lambda_views.views)"),
	'1:serving,2:replaying', 'version 1 serves while version 2 replays');
finish_load($load);

is($node->safe_psql('postgres', diff_sql('v', $q1)), '0', 'version 1 still equals its query during the replay');
my ($done, $total, $rate, $eta) = progress();
note(sprintf('%.1f s after alter_view: replay %s of %s keys, %s rows/s, eta %s',
	time() - $t_alter, $done, $total, $rate, $eta));
ok($done > 0 && $done < $total, "the replay is part way through ($done of $total keys)");
ok($rate <= $rows_per_second * 1.1, "the replay keeps to rows_per_second ($rate <= $rows_per_second rows/s)");

# Clean restart part way through: the replay resumes from its watermark.
$node->restart;
my ($after) = progress();
note("replay before restart: $done keys; right after restart: $after keys");
ok(defined $after && $after >= $done, "after the restart the replay resumes at $after >= $done keys, not at 0");
ok(wait_for($node, 'postgres', "SELECT replay_keys_done > $after FROM lambda_views.status WHERE version = 2 AND role = 'replaying'", 20),
	'after the restart the replay keeps growing');

# SIGKILL of the postmaster and every process it had started, mid-fold.
($done, $total) = progress();
my $pm = $node->{_pid};
my @kids = children($pm);
$node->kill9;
kill 'KILL', @kids;
my $deadline = time() + 30;
usleep(50_000) while (grep { kill(0, $_) } ($pm, @kids)) && time() < $deadline;
$node->start;
($after) = progress();
note("replay before kill -9: $done keys; right after the crash restart: $after keys");
ok(defined $after && $after >= $done && $after > 0,
	"after kill -9 the replay resumes at $after >= $done keys, not at 0");
ok(wait_for($node, 'postgres', "SELECT replay_keys_done > $after FROM lambda_views.status WHERE version = 2 AND role = 'replaying'", 20),
	'after the crash the replay keeps growing');
is($node->safe_psql('postgres', diff_sql('v', $q1)), '0', 'version 1 equals its query after the crash');

# Phase B: load again, long enough to span the switch.
($done, $total) = progress();
my $remaining = int(($total - $done) / $rows_per_second) + 5;
$remaining = 25 if $remaining > 25;
$load = start_load('across the switch', $remaining);
ok(wait_for($node, 'postgres', "SELECT count(*) = 1 FROM lambda_views.status WHERE view = 'public.v' AND version = 2 AND role = 'serving'", 60),
	'the worker switches: version 2 serves under the name v');
my $switched_at = time();
note(sprintf('switched %.1f s after alter_view', $switched_at - $t_alter));
my $load_running = grep { $_->{h}->pumpable } @$load;
note($load_running ? 'the load was still running at the switch' : 'the load had ended before the switch');
# Right after the switch the worker builds version 2's first batch (a
# recompute) while the readers go on: a reader planned before that swap
# commits and run after it must still see every row once.
finish_load($load);

is($node->safe_psql('postgres',
	"SELECT string_agg(version || ':' || role, ',' ORDER BY version) FROM lambda_views.status"),
	'1:retired,2:serving', 'version 1 is retired, version 2 serves');
is($node->safe_psql('postgres',
	"SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'v'::regclass AND attnum > 0 AND NOT attisdropped"),
	'k,n,s', 'v has the columns of the new query');

# Load stopped: the worker gives version 2 its first batch and folding
# settles, then the view is exactly the new query.
ok(wait_for($node, 'postgres', "SELECT batch_gen > 0 FROM lambda_views.status WHERE view = 'public.v'", 30),
	'the worker built the first batch of version 2');
ok(wait_for($node, 'postgres', "SELECT pending_rows = 0 AND speed_watermark >= (SELECT max(id) FROM src) FROM lambda_views.status WHERE view = 'public.v'", 30),
	'the worker folded every committed row into version 2');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('v', $q2)),
	'0', 'realtime view equals the new query on the source');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('v', $q2)),
	'0', 'folded view (batch + speed) equals the new query on the source');
is($node->safe_psql('postgres', 'SELECT count(*) FROM v'), '10', 'version 2 has its 10 groups');
is($node->safe_psql('postgres', 'SELECT sum(n) = (SELECT count(*) FROM src) FROM v'), 't',
	'every source row is counted once in version 2');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM lambda_views.status WHERE last_error IS NOT NULL"),
	'0', 'no fold error recorded for either version');
note(sprintf('total %.1f s', time() - $t0));

$node->stop;
done_testing();
