# Random concurrent inserts with random aborts (whole transactions and
# savepoints) while folds and recomputes run, with the background workers
# off so that every fold is the test's own.  During the run and at the end
# the view is compared row for row with its own query on the source
# (EXCEPT ALL in both directions): with lambda_views.realtime on it must
# equal the query at every moment; with it off it must equal the query over
# the rows up to the speed watermark, read in the same snapshot, and the
# whole query once a fold has run after the last insert.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

# pgbench writers: clients, seconds, and total transactions per second.
my $clients = 4;
my $seconds = 20;
my $rate = 1000;

my $query = 'SELECT g, h, count(*) AS n, count(x) AS nx, sum(x) AS s, '
  . 'min(x) AS lo, max(x) AS hi, avg(x) AS mean FROM public.ev';
my $group_by = ' GROUP BY g, h';

my $node = start_node('random_inserts', qq{
lambda_views.workers_enabled = off
max_connections = 30
});

$node->safe_psql('postgres', qq{
CREATE EXTENSION lambda_views;
CREATE TABLE public.ev (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    g   int,
    h   text,
    x   int
);
INSERT INTO public.ev (g, h, x)
SELECT nullif(i % 9, 0), CASE WHEN i % 4 = 0 THEN NULL ELSE 'h' || (i % 4) END, i % 1000
  FROM generate_series(1, 2000) i;
SELECT lambda_views.create_view(
    name => 'ev_v',
    query => \$\$$query$group_by\$\$,
    append_key => 'id',
    speed_interval => '1 second',
    batch_interval => NULL,
    initial_batch => true);
});

# checks compares the view with the source; returns the number of failures.
sub check_now
{
	my ($what, $full_off) = @_;
	my $fails = 0;

	my $on = $node->safe_psql('postgres', diff_sql('public.ev_v', $query . $group_by));
	$fails++ unless is($on, '0', "$what: realtime on, view equals its query");

	# realtime off: batch + speed, which is the query over the rows up to
	# the speed watermark, both read in one snapshot.
	my $upto = $query
	  . ' WHERE ' . folded_sql('public.ev_v') . $group_by;
	my $off = $node->safe_psql('postgres', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL lambda_views.realtime = off;
@{[ diff_sql('public.ev_v', $upto) ]};
COMMIT;});
	$fails++
	  unless is($off, '0',
		"$what: realtime off, view equals its query over the rows it folded (up to the speed watermark, not its holes)");

	if ($full_off)
	{
		my $all = $node->safe_psql('postgres', qq{
SET lambda_views.realtime = off;
@{[ diff_sql('public.ev_v', $query . $group_by) ]};});
		$fails++
		  unless is($all, '0', "$what: realtime off after a fold, view equals its query");
	}
	return $fails;
}

# The writers: pgbench clients inserting 1 to 4 rows, then one more row in a
# savepoint rolled back 15% of the time; a quarter of the transactions roll
# back altogether.  Group keys are NULL now and then.
my $script = $node->basedir . '/random_insert.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set g random(0, 12)
\set x random(-1000, 1000)
\set n random(1, 4)
\set r random(1, 100)
BEGIN;
INSERT INTO public.ev (g, h, x)
SELECT nullif(:g, 0), CASE WHEN (:x + i) % 3 = 0 THEN NULL ELSE 'h' || ((:x + i) % 3) END,
       CASE WHEN :r % 10 = 0 THEN NULL ELSE :x + i END
  FROM generate_series(1, :n) i;
SAVEPOINT s;
INSERT INTO public.ev (g, h, x) VALUES (:g % 5, 'sp', :x * 2);
\if :r <= 15
ROLLBACK TO SAVEPOINT s;
\endif
\if :r > 75
ROLLBACK;
\else
COMMIT;
\endif
});

# A second maintenance session folds and recomputes at the same time as
# the test's own loop, so folds race each other and swaps race the readers
# of the loop's checks.
my $fold_script = $node->basedir . '/fold.sql';
PostgreSQL::Test::Utils::append_to_file($fold_script,
	"SELECT lambda_views.fold('ev_v');\n");
my $recompute_script = $node->basedir . '/recompute.sql';
PostgreSQL::Test::Utils::append_to_file($recompute_script,
	"SELECT lambda_views.recompute('ev_v');\n");

my ($bench_out, $bench_err, $maint_out, $maint_err) = ('', '', '', '');
my $start = time();
my $bench = IPC::Run::start(
	[
		$node->installed_command('pgbench'), '-n',
		'-h', $node->host, '-p', $node->port,
		'-c', $clients, '-j', 2, '-T', $seconds, '-R', $rate,
		'-f', $script, 'postgres'
	],
	'>', \$bench_out, '2>', \$bench_err);
my $maint = IPC::Run::start(
	[
		$node->installed_command('pgbench'), '-n',
		'-h', $node->host, '-p', $node->port,
		'-c', 1, '-T', $seconds, '-R', 15,
		'-f', "$fold_script\@9", '-f', "$recompute_script\@1", 'postgres'
	],
	'>', \$maint_out, '2>', \$maint_err);

# The test's own maintenance loop: fold over and over, recompute every
# eighth round, compare about every two seconds, until the writers are done.
my ($rounds, $recomputes, $checks, $fails) = (0, 0, 0, 0);
my $next_check = time() + 1;
while ($bench->pumpable)
{
	$rounds++;
	$node->safe_psql('postgres', "SELECT lambda_views.fold('ev_v')");
	if ($rounds % 8 == 0)
	{
		$node->safe_psql('postgres', "SELECT lambda_views.recompute('ev_v')");
		$recomputes++;
	}
	if (time() >= $next_check)
	{
		$checks++;
		$fails += check_now(sprintf('during the inserts, at %.1fs', time() - $start), 0);
		$next_check = time() + 2;
	}
	$bench->pump_nb;
	usleep(20_000);
}
$bench->finish;
$maint->finish;
is($bench->result(0), 0, 'pgbench writers finished without error')
  or diag("pgbench stdout:\n$bench_out\npgbench stderr:\n$bench_err");
is($maint->result(0), 0, 'pgbench fold session finished without error')
  or diag("pgbench stdout:\n$maint_out\npgbench stderr:\n$maint_err");
note(sprintf('writers ran %.1fs: %d rounds, %d recomputes, %d checks',
		time() - $start, $rounds, $recomputes, $checks));
note("writers: $1") if $bench_out =~ /(number of transactions actually processed: \S+)/;
note("fold session: $1") if $maint_out =~ /(number of transactions actually processed: \S+)/;
cmp_ok($checks, '>=', 3, 'the view was compared several times during the inserts');
cmp_ok($recomputes, '>=', 1, 'at least one recompute ran during the inserts');

# Aborts happened (keys were drawn and thrown away) and rows were committed.
is( $node->safe_psql('postgres',
		'SELECT max(id) > count(*) AND count(*) > 2000 FROM public.ev'),
	't', 'the workload committed rows and aborted others');

# Rows committed since the last fold: realtime on is exact right away.
check_now('after the inserts, before the last fold', 0);
$node->safe_psql('postgres', "SELECT lambda_views.fold('ev_v')");
check_now('after the last fold', 1);
$node->safe_psql('postgres', "SELECT lambda_views.recompute('ev_v')");
check_now('after a final recompute', 1);
is( $node->safe_psql('postgres',
		"SELECT pending_keys FROM lambda_views.status WHERE view = 'public.ev_v'"),
	'0', 'nothing is pending after the last fold');

$node->stop;
done_testing();
