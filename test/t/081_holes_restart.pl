# Holes across a crash: a fold passes the keys of writers still open (they
# become the view's holes, src/layers/speed.c) and keeps them across a
# kill -9 of the postmaster and every process it started.  After the
# restart the open session's rows are gone (its transaction aborted with the
# crash) and never counted, the prepared transactions are still prepared and
# their keys still holes; one is committed and folded exactly once, the other
# rolled back and never counted.  The committed rows around them are folded
# before and after the crash.  Every check compares the view with its query
# on the source (EXCEPT ALL both ways), with lambda_views.realtime on, and
# off (the rows up to the speed watermark but its holes).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $node = start_node('holes_restart', q{
max_prepared_transactions = 5
restart_after_crash = on
lambda_views.naptime = 100
});
my %q = (
	'public.by_dev' => 'SELECT device, count(*) AS n, sum(reading) AS total FROM public.r %s GROUP BY device',
	'public.all_r'  => 'SELECT count(*) AS n, max(reading) AS top FROM public.r %s');
$node->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE TABLE r (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device int NOT NULL, reading int NOT NULL);
INSERT INTO r (device, reading) SELECT i % 20, i FROM generate_series(1, 2000) i;
});
for my $v (sort keys %q)
{
	my $qv = sprintf($q{$v}, '');
	$node->safe_psql('postgres',
		"SELECT lambda_views.create_view('$v', \$\$$qv\$\$, speed_interval => '200 milliseconds')");
}

# exact checks both views, realtime on and off, each in one statement
sub exact
{
	my ($label) = @_;
	for my $v (sort keys %q)
	{
		is($node->safe_psql('postgres', diff_sql($v, sprintf($q{$v}, ''))),
			'0', "$label: $v equals its query");
		is( $node->safe_psql('postgres', 'SET lambda_views.realtime = off; '
				  . diff_sql($v, sprintf($q{$v}, 'WHERE ' . folded_sql($v)))),
			'0', "$label: $v without the real-time tail equals its query over the rows it folded");
	}
}

# folded waits until every committed row of r up to key $k is folded in both views
sub folded
{
	my ($k, $label) = @_;
	ok( wait_for($node, 'postgres',
			"SELECT NOT EXISTS (SELECT 1 FROM r WHERE id <= $k AND NOT ("
			  . join(' AND ', map { folded_sql($_) } sort keys %q) . '))', 30),
		"$label: every committed row up to key $k is folded");
}

# the writers: one session left open, two prepared transactions
my $open = $node->background_psql('postgres');
my $k_open = $open->query_safe('BEGIN; WITH i AS (INSERT INTO r (device, reading) '
	  . 'SELECT 901, g FROM generate_series(1, 5) g RETURNING id) SELECT min(id) FROM i');
for my $p ('p_commit', 'p_rollback')
{
	my $dev = $p eq 'p_commit' ? 902 : 903;
	$node->safe_psql('postgres', "BEGIN; INSERT INTO r (device, reading) SELECT $dev, g "
		  . "FROM generate_series(1, 7) g; PREPARE TRANSACTION '$p'");
}
$node->safe_psql('postgres', 'INSERT INTO r (device, reading) SELECT i % 20, i FROM generate_series(1, 300) i');
my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM r');
folded($last, 'writers open');
is( $node->safe_psql('postgres',
		"SELECT bool_and(NOT isempty(holes)) FROM lambda_views.status"),
	't', 'writers open: both views folded around them (their keys are holes)');
exact('writers open');

# kill -9: the postmaster first, then every process it had started
my $pm = $node->{_pid};
my @kids = children($pm);
$node->kill9;
kill 'KILL', @kids;
my $deadline = time() + 30;
usleep(50_000) while (grep { kill(0, $_) } ($pm, @kids)) && time() < $deadline;
eval { $open->quit };
$node->start;
is($node->safe_psql('postgres', 'SELECT string_agg(gid, \',\' ORDER BY gid) FROM pg_prepared_xacts'),
	'p_commit,p_rollback', 'after the crash: both transactions are still prepared');
exact('after the crash');
$node->safe_psql('postgres', 'INSERT INTO r (device, reading) SELECT i % 20, -i FROM generate_series(1, 200) i');
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM r');
folded($last, 'after the crash');
is( $node->safe_psql('postgres', "SELECT bool_and(NOT isempty(holes)) FROM lambda_views.status"),
	't', 'after the crash: the prepared transactions\' keys are still holes');
exact('after the crash, folded');

$node->safe_psql('postgres', "COMMIT PREPARED 'p_commit'");
$node->safe_psql('postgres', "ROLLBACK PREPARED 'p_rollback'");
ok( wait_for($node, 'postgres', 'SELECT bool_and(isempty(holes)) FROM lambda_views.status', 30),
	'prepared transactions ended: the holes are gone');
exact('prepared transactions ended');
$node->safe_psql('postgres', 'SET lambda_views.realtime = off');
is( $node->safe_psql('postgres',
		'SET lambda_views.realtime = off; SELECT string_agg(device || \':\' || n, \',\' ORDER BY device) '
		  . 'FROM public.by_dev WHERE device > 900'),
	'902:7', 'the committed prepared rows are folded once; the open session\'s and the rolled-back ones never');
is($node->safe_psql('postgres', "SELECT count(*) FROM r WHERE id >= $k_open AND device = 901"),
	'0', 'the open session\'s rows did not survive the crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lambda_views.status WHERE last_error IS NOT NULL'),
	'0', 'no fold error recorded');
$node->stop;
done_testing();
