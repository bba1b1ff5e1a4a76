# The launcher and the folding workers live as long as the server: a round
# of their loop may not leave memory behind.  With naptime at 10 ms both
# loop about a hundred times a second; the bytes in use in their
# TopMemoryContext (pg_log_backend_memory_contexts) must stay the same over
# some 500 rounds.  The launcher used to leave its list of wanted databases
# in TopMemoryContext every round (committing the transaction that lists the
# databases left TopMemoryContext current): about 100 bytes a round, 50 kB
# here, 8 MB a day at the default naptime.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(usleep);

my $node = start_node('worker_memory', q{
lambda_views.naptime = 10
lambda_views.fold_workers = 1
log_line_prefix = '%m [%p] '
});
$node->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE TABLE items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text NOT NULL,
    amount  int NOT NULL
);
INSERT INTO items (kind, amount) SELECT 'k' || (i % 7), i FROM generate_series(1, 1000) i;
SELECT lambda_views.create_view('items_by_kind',
    $$SELECT kind, count(*) AS n, sum(amount) AS total FROM public.items GROUP BY kind$$,
    append_key => 'id', speed_interval => '100 milliseconds');
});
ok(wait_for($node, 'postgres', q{
	SELECT count(*) = 2 FROM pg_stat_activity
	 WHERE backend_type IN ('lambda_views launcher', 'lambda_views worker')}, 60),
	'the launcher and a folding worker run');
$node->safe_psql('postgres', q{INSERT INTO items (kind, amount) VALUES ('k1', 1)});
ok(wait_for($node, 'postgres', q{SELECT pending_keys = 0 FROM lambda_views.status}, 60),
	'the worker folded');

my %pids = map { split /\|/ } split /\n/, $node->safe_psql('postgres', q{
	SELECT backend_type, pid FROM pg_stat_activity
	 WHERE backend_type IN ('lambda_views launcher', 'lambda_views worker')});

# top_used returns the bytes in use in the TopMemoryContext of $pid, from a
# dump pg_log_backend_memory_contexts writes to the server log.
sub top_used
{
	my ($pid) = @_;
	my $pattern = qr/\[$pid\] LOG:  level: 0; TopMemoryContext: .*; (\d+) used$/m;
	my $before = () = slurp_file($node->logfile) =~ /$pattern/g;
	$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
	for (my $i = 0; $i < 1000; $i++)
	{
		my @used = slurp_file($node->logfile) =~ /$pattern/g;
		return $used[-1] if @used > $before;
		usleep(10_000);
	}
	die "no memory context dump of process $pid";
}

sleep 1;
my %first = map { ($_ => top_used($pids{$_})) } keys %pids;
sleep 5;
for my $type (sort keys %pids)
{
	my $growth = top_used($pids{$type}) - $first{$type};
	cmp_ok($growth, '<', 8192,
		"$type: TopMemoryContext in use grew by $growth bytes over 5 s of 10-ms rounds");
}
is($node->safe_psql('postgres', q{
	SELECT string_agg(backend_type || ' ' || pid, ', ' ORDER BY backend_type) FROM pg_stat_activity
	 WHERE backend_type IN ('lambda_views launcher', 'lambda_views worker')}),
	join(', ', map { "$_ $pids{$_}" } sort keys %pids), 'the same processes ran throughout');

$node->stop;
done_testing();
