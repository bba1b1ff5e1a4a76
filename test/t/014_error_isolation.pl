# Error isolation: two views in one database, both owned by a non-superuser.
# Revoking the owner's SELECT on one view's source breaks only that view: the
# worker (which acts as the view's owner, so the revoke bites) records the
# error in lambda_views.status and backs off, while the other view keeps
# folding exactly.  Granting SELECT again lets the broken view recover.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $qa = 'SELECT cat, count(*) AS n, sum(amount) AS total FROM public.src_a GROUP BY cat';
my $qb = 'SELECT cat, count(*) AS n, sum(amount) AS total, min(amount) AS lo FROM public.src_b GROUP BY cat';

# folded_exactly waits until the worker folded every row of the view's
# source, then compares batch + speed with the query.
sub folded_exactly
{
	my ($node, $view, $src, $query, $what) = @_;
	my $last = $node->safe_psql('postgres', "SELECT max(id) FROM $src");
	ok(wait_for($node, 'postgres',
		"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.$view'", 30),
		"$what: the worker folded $view up to the last row");
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql($view, $query)),
		'0', "$what: $view (batch + speed) equals its query");
}

sub insert_rows
{
	my ($node, $n) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO src_a (cat, amount) SELECT 'a' || (i % 5), i FROM generate_series(1, $n) i;
		INSERT INTO src_b (cat, amount) SELECT 'b' || (i % 6), i * 2 FROM generate_series(1, $n) i;
	});
}

my $node = start_node('errors', qq{
max_worker_processes = 16
lambda_views.naptime = 200
});

$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');

# The sources belong to the superuser; the views' owner only has SELECT.
$node->safe_psql('postgres', q{
CREATE ROLE lv_owner LOGIN;
GRANT CREATE ON SCHEMA public TO lv_owner;
CREATE TABLE src_a (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, cat text NOT NULL, amount int NOT NULL);
CREATE TABLE src_b (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, cat text NOT NULL, amount int NOT NULL);
GRANT SELECT, TRIGGER ON src_a, src_b TO lv_owner;   -- TRIGGER: the immutability guard
});
insert_rows($node, 1000);
$node->safe_psql('postgres', qq{
SET ROLE lv_owner;
SELECT lambda_views.create_view('va', \$\$$qa\$\$, append_key => 'id', speed_interval => '1 second');
SELECT lambda_views.create_view('vb', \$\$$qb\$\$, append_key => 'id', speed_interval => '1 second',
                                batch_interval => '2 seconds');
});
is($node->safe_psql('postgres', "SELECT string_agg(view || ':' || owner, ',' ORDER BY view) FROM lambda_views.status"),
	'public.va:lv_owner,public.vb:lv_owner', 'both views belong to lv_owner');

insert_rows($node, 500);
folded_exactly($node, 'va', 'src_a', $qa, 'healthy');
folded_exactly($node, 'vb', 'src_b', $qb, 'healthy');

# The batch worker recomputes vb as its owner: the partition it creates
# belongs to lv_owner, not to the superuser the worker connects as.
my $gen0 = $node->safe_psql('postgres', "SELECT batch_gen FROM lambda_views.status WHERE view = 'public.vb'");
ok(wait_for($node, 'postgres',
	"SELECT batch_gen > $gen0 FROM lambda_views.status WHERE view = 'public.vb'", 30),
	'the batch worker recomputed vb on its schedule');
is($node->safe_psql('postgres', q{
	SELECT c.relowner::regrole
	  FROM lambda_views.status s
	  JOIN pg_class c ON c.relname = format('v%s_batch_%s', s.view_id, s.batch_gen)
	 WHERE s.view = 'public.vb'}),
	'lv_owner', 'the batch partition built by the worker belongs to the view owner');

#
# Break va: its owner may no longer read the source.
#
my $log_offset = -s $node->logfile;
my $t_break = time();
$node->safe_psql('postgres', 'REVOKE SELECT ON src_a FROM lv_owner');
insert_rows($node, 300);
ok(wait_for($node, 'postgres',
	"SELECT last_error IS NOT NULL FROM lambda_views.status WHERE view = 'public.va'", 20),
	'the failing fold of va is recorded in status');
my ($err, $err_at_set, $wm_broken) = split /\|/, $node->safe_psql('postgres', q{
	SELECT last_error, last_error_at IS NOT NULL, speed_watermark FROM lambda_views.status WHERE view = 'public.va'});
like($err, qr/permission denied for table src_a/,
	'last_error says why: the worker acts as lv_owner, who lost SELECT (a superuser would not)');
is($err_at_set, 't', 'last_error_at is set');
is($node->safe_psql('postgres', "SELECT last_error IS NULL FROM lambda_views.status WHERE view = 'public.vb'"),
	't', 'the healthy view has no error');

# While va stays broken, vb keeps folding exactly, round after round.
for my $round (1 .. 3)
{
	insert_rows($node, 200);
	folded_exactly($node, 'vb', 'src_b', $qb, "va broken, round $round");
}
is($node->safe_psql('postgres', "SELECT speed_watermark FROM lambda_views.status WHERE view = 'public.va'"),
	$wm_broken, 'the broken view did not advance');
# Stay broken for 8 s: at one retry per speed_interval (1 s) that would be
# about 8 failures; with exponential backoff (2 s, 4 s, 8 s, ...) at most 4.
my $pause = 8 - (time() - $t_break);
usleep(int($pause * 1_000_000)) if $pause > 0;
my $broken_s = time() - $t_break;

# Retries back off: far fewer failures than one per speed_interval.
my $log = slurp_file($node->logfile, $log_offset);
my $failures = () = $log =~ /lambda_views: fold of view \d+ failed: permission denied/g;
note(sprintf('%d failed folds of va in %.1f s of breakage', $failures, $broken_s));
cmp_ok($failures, '>=', 1, 'the failure is logged');
cmp_ok($failures, '<=', 4, 'retries back off (far fewer failures than one per speed_interval)');

#
# Fix va: it recovers on its next retry and is exact again; vb was never disturbed.
#
$node->safe_psql('postgres', 'GRANT SELECT ON src_a TO lv_owner');
insert_rows($node, 100);
my $last_a = $node->safe_psql('postgres', 'SELECT max(id) FROM src_a');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last_a FROM lambda_views.status WHERE view = 'public.va'", 40),
	'after GRANT the worker folds va again, including the rows inserted while it was broken');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('va', $qa)),
	'0', 'recovered: va (batch + speed) equals its query');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('va', $qa)),
	'0', 'recovered: va with realtime equals its query');
is($node->safe_psql('postgres', "SELECT last_fold_at > last_error_at FROM lambda_views.status WHERE view = 'public.va'"),
	't', 'status shows a successful fold after the last error');
note('va last_error after recovery: '
	  . $node->safe_psql('postgres', "SELECT coalesce(last_error, '<null>') FROM lambda_views.status WHERE view = 'public.va'"));
folded_exactly($node, 'vb', 'src_b', $qb, 'after the fix');
is($node->safe_psql('postgres', "SELECT last_error IS NULL FROM lambda_views.status WHERE view = 'public.vb'"),
	't', 'vb never recorded an error');

$node->stop;
done_testing();
