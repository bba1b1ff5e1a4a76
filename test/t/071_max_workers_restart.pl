# lambda_views.max_workers holds across a launcher restart.  Three databases
# have the extension and a view, max_workers is 2: two folding workers run
# and the third database waits.  The launcher is terminated (SIGTERM: a
# background worker that exits with status 1 is restarted after its
# bgw_restart_time, 5 s, while the workers it started go on; SIGKILL would
# make the postmaster restart the whole server and reset shared memory).
# The restarted launcher must not take the running workers for gone: no
# more than two lambda_views workers ever run, sampled over many naptimes,
# and the two keep folding their views exactly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $q = 'SELECT kind, count(*) AS n, sum(amount) AS total FROM public.items GROUP BY kind';
my @dbs = qw(db1 db2 db3);
my $naptime_ms = 100;

my $t0 = time();
my $node = start_node('max_workers', qq{
max_worker_processes = 16
lambda_views.max_workers = 2
lambda_views.naptime = $naptime_ms
});

for my $db (@dbs)
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION lambda_views');
	$node->safe_psql($db, qq{
CREATE TABLE items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text NOT NULL,
    amount  int NOT NULL
);
INSERT INTO items (kind, amount) SELECT 'k' || (i % 7), i FROM generate_series(1, 1000) i;
SELECT lambda_views.create_view('items_by_kind', \$\$$q\$\$, append_key => 'id',
                                speed_interval => '200 milliseconds');
});
}

# running returns the lambda_views workers (folding and batch) as
# "count|databases".
sub running
{
	return $node->safe_psql('postgres', q{
		SELECT count(*) || '|' || coalesce(string_agg(datname, ',' ORDER BY datname), '')
		  FROM pg_stat_activity
		 WHERE backend_type IN ('lambda_views worker', 'lambda_views batch')});
}

# sample_workers samples the running workers every 20 ms for $secs seconds
# and returns the most seen at once and what ran then.
sub sample_workers
{
	my ($secs) = @_;
	my ($max, $at) = (0, '');
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		my $r = running();
		my ($n) = split /\|/, $r;
		($max, $at) = ($n, $r) if $n > $max;
		usleep(20_000);
	}
	return ($max, $at);
}

# worker_pids returns the pids of the folding workers, sorted.
sub worker_pids
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity
		 WHERE backend_type = 'lambda_views worker'});
}

sub launcher_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'lambda_views launcher'");
}

ok(wait_for($node, 'postgres', q{
	SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'}, 30),
	'two folding workers run');
# a database's second worker gives its place up to another's first one
ok(wait_for($node, 'postgres', q{
	SELECT count(DISTINCT datid) = 2 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'}, 30),
	'the two places serve two databases');
my ($max, $at) = sample_workers(1);
cmp_ok($max, '<=', 2, "before the restart at most 2 workers run (most seen: $at)");
my (undef, $served) = split /\|/, running();
my @served = split /,/, $served;
is(scalar(@served), 2, "two databases are served: $served");

# folded_exactly inserts rows in a served database, waits for its worker
# to fold them and compares the folded view with its query.
sub folded_exactly
{
	my ($db, $what) = @_;
	$node->safe_psql($db,
		"INSERT INTO items (kind, amount) SELECT 'k' || (i % 11), i * 3 FROM generate_series(1, 300) i");
	my $last = $node->safe_psql($db, 'SELECT max(id) FROM items');
	ok(wait_for($node, $db,
		"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.items_by_kind'", 30),
		"$what: the worker folds new rows in $db");
	is($node->safe_psql($db, 'SET lambda_views.realtime = off; ' . diff_sql('items_by_kind', $q)),
		'0', "$what: the folded view equals its query in $db");
}
folded_exactly($_, 'before the restart') for @served;

# Terminate the launcher while the two workers fold.
my $old_launcher = launcher_pid();
my $old_workers = worker_pids();
ok($old_launcher =~ /^\d+$/, "the launcher runs (pid $old_launcher)");
my $log_offset = -s $node->logfile;
kill 'TERM', $old_launcher;
my $new_launcher;
my $deadline = time() + 30;
while (time() < $deadline)
{
	$new_launcher = launcher_pid();
	last if $new_launcher =~ /^\d+$/ && $new_launcher != $old_launcher;
	usleep(50_000);
}
ok($new_launcher =~ /^\d+$/ && $new_launcher != $old_launcher,
	"the postmaster restarted the launcher (pid $new_launcher)");
like(slurp_file($node->logfile, $log_offset),
	qr/background worker "lambda_views launcher" \(PID $old_launcher\) exited with exit code 1/,
	'the launcher exited with status 1, not as a crash');

# Many naptimes of the restarted launcher: never a third worker.
($max, $at) = sample_workers(4);
cmp_ok($max, '<=', 2, "after the restart at most 2 workers run (most seen: $at)");
is(running(), "2|$served", 'two workers still run, in the same databases');
is(worker_pids(), $old_workers, 'they are the workers that ran before the restart');
folded_exactly($_, 'after the restart') for @served;

# The database left without a worker is exact with realtime on.
for my $db (@dbs)
{
	next if grep { $_ eq $db } @served;
	is($node->safe_psql($db, 'SET lambda_views.realtime = on; ' . diff_sql('items_by_kind', $q)),
		'0', "the view of $db (not folded by a worker) equals its query with realtime");
}

note(sprintf('total %.1f s', time() - $t0));
$node->stop;
done_testing();
