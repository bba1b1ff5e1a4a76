# A range-partitioned source (identity on the parent, one partition itself
# partitioned) fed at the same time through the parent and straight into
# the partitions, with random aborts, while folds and recomputes run (the
# background workers are off).  In PostgreSQL 15 a partition does not
# inherit the parent's identity, so a direct insert draws its key from the
# parent's sequence with nextval(), under the partition's lock.  The view is
# compared row for row with its own query on the source (EXCEPT ALL in both
# directions) during the run and at the end, with lambda_views.realtime on
# and off.  UPDATE, DELETE and TRUNCATE on partitions are refused.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $seconds = 12;

my $query = 'SELECT g, b / 50 AS bucket, count(*) AS n, sum(x) AS s, '
  . 'min(x) AS lo, max(x) AS hi FROM public.pev';
my $group_by = ' GROUP BY g, b / 50';

my $node = start_node('partitioned_source', qq{
lambda_views.workers_enabled = off
max_connections = 30
});

$node->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE TABLE public.pev (
    id  bigint GENERATED ALWAYS AS IDENTITY,
    b   int NOT NULL,
    g   text,
    x   int
) PARTITION BY RANGE (b);
CREATE INDEX ON public.pev (id);
CREATE TABLE public.pev_0 PARTITION OF public.pev FOR VALUES FROM (0) TO (100);
CREATE TABLE public.pev_1 PARTITION OF public.pev FOR VALUES FROM (100) TO (200);
CREATE TABLE public.pev_2 PARTITION OF public.pev FOR VALUES FROM (200) TO (300)
    PARTITION BY RANGE (b);
CREATE TABLE public.pev_2a PARTITION OF public.pev_2 FOR VALUES FROM (200) TO (250);
CREATE TABLE public.pev_2b PARTITION OF public.pev_2 FOR VALUES FROM (250) TO (300);
INSERT INTO public.pev (b, g, x)
SELECT i % 300, CASE WHEN i % 7 = 0 THEN NULL ELSE 'g' || (i % 5) END, i
  FROM generate_series(1, 1500) i;
});
$node->safe_psql('postgres', qq{
SELECT lambda_views.create_view(
    name => 'pev_v',
    query => \$\$$query$group_by\$\$,
    append_key => 'id',
    speed_interval => '1 second',
    batch_interval => NULL,
    initial_batch => true);
});

# check_now compares the view with the source; see 001_random_inserts.pl.
sub check_now
{
	my ($what, $full_off) = @_;

	is($node->safe_psql('postgres', diff_sql('public.pev_v', $query . $group_by)),
		'0', "$what: realtime on, view equals its query");
	my $upto = $query
	  . ' WHERE ' . folded_sql('public.pev_v') . $group_by;
	is( $node->safe_psql('postgres', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL lambda_views.realtime = off;
@{[ diff_sql('public.pev_v', $upto) ]};
COMMIT;}),
		'0',
		"$what: realtime off, view equals its query over the rows it folded (up to the speed watermark, not its holes)");
	if ($full_off)
	{
		is( $node->safe_psql('postgres', qq{
SET lambda_views.realtime = off;
@{[ diff_sql('public.pev_v', $query . $group_by) ]};}),
			'0', "$what: realtime off after a fold, view equals its query");
	}
}

# Writers: through the parent (any partition), and straight into each leaf
# partition with the key drawn from the parent's sequence.  A fifth of the
# transactions roll back, a savepoint is rolled back now and then.
my $seq = "pg_get_serial_sequence('public.pev', 'id')";
my %scripts = (
	'via_parent.sql' => qq{
\\set b random(0, 299)
\\set x random(-500, 500)
\\set r random(1, 100)
BEGIN;
INSERT INTO public.pev (b, g, x)
SELECT (:b + i * 37) % 300, CASE WHEN :r % 6 = 0 THEN NULL ELSE 'g' || (:x % 5) END, :x + i
  FROM generate_series(1, 3) i;
\\if :r > 80
ROLLBACK;
\\else
COMMIT;
\\endif
},
	'direct.sql' => qq{
\\set p random(0, 3)
\\set off random(0, 49)
\\set x random(-500, 500)
\\set r random(1, 100)
BEGIN;
\\if :p = 0
INSERT INTO public.pev_0 (id, b, g, x) VALUES (nextval($seq), :off, 'g' || (:x % 5), :x);
\\elif :p = 1
INSERT INTO public.pev_1 (id, b, g, x) VALUES (nextval($seq), 100 + :off * 2, NULL, :x);
\\elif :p = 2
INSERT INTO public.pev_2a (id, b, g, x) VALUES (nextval($seq), 200 + :off, 'g' || (:x % 5), :x);
\\else
INSERT INTO public.pev_2b (id, b, g, x) VALUES (nextval($seq), 250 + :off, 'g2b', :x);
\\endif
SAVEPOINT s;
INSERT INTO public.pev_0 (id, b, g, x) VALUES (nextval($seq), :off, NULL, 0 - :x);
\\if :r <= 10
ROLLBACK TO SAVEPOINT s;
\\endif
\\if :r > 80
ROLLBACK;
\\else
COMMIT;
\\endif
});
my @writers;
for my $name (sort keys %scripts)
{
	my $file = $node->basedir . "/$name";
	PostgreSQL::Test::Utils::append_to_file($file, $scripts{$name});
	my %w = (name => $name, out => '', err => '');
	$w{h} = IPC::Run::start(
		[
			$node->installed_command('pgbench'), '-n',
			'-h', $node->host, '-p', $node->port,
			'-c', 2, '-j', 1, '-T', $seconds, '-R', 400,
			'-f', $file, 'postgres'
		],
		'>', \$w{out}, '2>', \$w{err});
	push @writers, \%w;
}

my ($rounds, $recomputes, $checks) = (0, 0, 0);
my $start = time();
my $next_check = $start + 1;
while (grep { $_->{h}->pumpable } @writers)
{
	$rounds++;
	$node->safe_psql('postgres', "SELECT lambda_views.fold('pev_v')");
	if ($rounds % 6 == 0)
	{
		$node->safe_psql('postgres', "SELECT lambda_views.recompute('pev_v')");
		$recomputes++;
	}
	if (time() >= $next_check)
	{
		$checks++;
		check_now(sprintf('during the inserts, at %.1fs', time() - $start), 0);
		$next_check = time() + 2;
	}
	$_->{h}->pumpable and $_->{h}->pump_nb for @writers;
	usleep(20_000);
}
for my $w (@writers)
{
	$w->{h}->finish;
	is($w->{h}->result(0), 0, "pgbench $w->{name} finished without error")
	  or diag("stdout:\n$w->{out}\nstderr:\n$w->{err}");
	note("$w->{name}: $1")
	  if $w->{out} =~ /(number of transactions actually processed: \S+)/;
}
note(sprintf('writers ran %.1fs: %d rounds, %d recomputes, %d checks',
		time() - $start, $rounds, $recomputes, $checks));
cmp_ok($checks, '>=', 3, 'the view was compared several times during the inserts');

# Every leaf got rows both ways, and some keys were thrown away by aborts.
is( $node->safe_psql('postgres', q{
SELECT count(DISTINCT tableoid) = 4 AND max(id) > count(*) FROM public.pev}),
	't', 'rows reached every leaf partition, and aborts left gaps in the keys');

check_now('after the inserts, before the last fold', 0);
$node->safe_psql('postgres', "SELECT lambda_views.fold('pev_v')");
check_now('after the last fold', 1);
$node->safe_psql('postgres', "SELECT lambda_views.recompute('pev_v')");
check_now('after a final recompute', 1);

# A partition created while the view exists is part of the source too.
$node->safe_psql('postgres', qq{
CREATE TABLE public.pev_3 PARTITION OF public.pev FOR VALUES FROM (300) TO (400);
INSERT INTO public.pev (b, g, x) VALUES (310, 'new', 1), (399, NULL, 2);
INSERT INTO public.pev_3 (id, b, g, x) VALUES (nextval($seq), 350, 'new', 3);
});
check_now('rows in a new partition, not folded yet', 0);
$node->safe_psql('postgres', "SELECT lambda_views.fold('pev_v')");
check_now('rows in a new partition, folded', 1);

# The source is append-only, partitions included.
my $rows_before = $node->safe_psql('postgres',
	'SELECT count(*) || \'/\' || sum(x) FROM public.pev');
for my $t (
	[ 'UPDATE a partition',        'UPDATE public.pev_1 SET x = x + 1' ],
	[ 'UPDATE a sub-partition',    'UPDATE public.pev_2a SET g = \'changed\'' ],
	[ 'UPDATE a new partition',    'UPDATE public.pev_3 SET x = 0' ],
	[ 'UPDATE through the parent', 'UPDATE public.pev SET x = 0 WHERE b = 5' ],
	[ 'DELETE from a partition',   'DELETE FROM public.pev_0 WHERE b < 10' ],
	[ 'DELETE from a sub-partition', 'DELETE FROM public.pev_2b' ],
	[ 'DELETE through the parent', 'DELETE FROM public.pev WHERE b = 150' ],
	[ 'TRUNCATE a partition',      'TRUNCATE public.pev_1' ],
	[ 'TRUNCATE a sub-partition',  'TRUNCATE public.pev_2b' ],
	[ 'TRUNCATE a partition parent', 'TRUNCATE public.pev_2' ],
	[ 'TRUNCATE the source',       'TRUNCATE public.pev' ],
	[ 'DETACH PARTITION',          'ALTER TABLE public.pev DETACH PARTITION public.pev_1' ],
	[ 'DROP TABLE of a sub-partition', 'DROP TABLE public.pev_2b' ])
{
	my ($what, $sql) = @$t;
	my ($rc, $out, $err) = $node->psql('postgres', $sql);
	isnt($rc, 0, "$what is refused");
	like($err, qr/source of lambda view/, "$what: the error says why");
}
is( $node->safe_psql('postgres',
		'SELECT count(*) || \'/\' || sum(x) FROM public.pev'),
	$rows_before, 'the refused statements changed nothing');
check_now('after the refused modifications', 1);

$node->stop;
done_testing();
