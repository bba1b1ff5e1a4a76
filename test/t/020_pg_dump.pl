# pg_dump / pg_restore: a database with lambda views, data products, checks
# and a policy is dumped (custom format) and restored into a new database on
# the same node.  The restored views are exact against their queries on the
# restored source, fold and recompute keep them exact, and the products,
# comments, checks, policies and the source's immutability come back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;

my $q_kind = 'SELECT kind, count(*) AS n, sum(amount) AS total FROM public.items GROUP BY kind';
my $q_big =
  "SELECT date_trunc('day', ts) AS day, count(*) AS n, max(amount) AS top FROM public.items WHERE amount > 50 GROUP BY 1";
my $q_all = 'SELECT count(*) AS n, avg(amount) AS mean FROM public.items';
my %views = (
	'public.items_by_kind' => $q_kind,
	'public.big_items'     => $q_big,
	'public.items_total'   => $q_all);

# all_exact checks every view against its query; once everything is
# folded, also without the real-time tail (batch + speed alone).
sub all_exact
{
	my ($node, $db, $label, $folded) = @_;
	foreach my $view (sort keys %views)
	{
		is($node->safe_psql($db, diff_sql($view, $views{$view})),
			'0', "$label: $view equals its query on the source");
		next unless $folded;
		is( $node->safe_psql(
				$db, "SET lambda_views.realtime = off; " . diff_sql($view, $views{$view})),
			'0',
			"$label: $view equals its query without the real-time tail");
	}
}

sub fold_all
{
	my ($node, $db) = @_;
	$node->safe_psql($db, "SELECT lambda_views.fold('$_')") foreach sort keys %views;
}

my $node = start_node('pg_dump', qq{
max_worker_processes = 16
lambda_views.workers_enabled = off
});

# ---------------------------------------------------------------- source db
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION lambda_views;
CREATE ROLE data_team;
CREATE TABLE items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text NOT NULL,
    amount  int NOT NULL,
    ts      timestamptz NOT NULL
);
INSERT INTO items (kind, amount, ts)
SELECT 'k' || (i % 7), i % 100, timestamptz '2026-01-01 00:00+00' + i * interval '10 minutes'
  FROM generate_series(1, 3000) i;
});
$node->safe_psql('src', qq{
SELECT lambda_views.create_view('public.items_by_kind', \$\$$q_kind\$\$,
    owner_role => 'data_team', description => 'Items per kind',
    freshness_sla => '5 minutes', completeness_sla => 1, tags => '{inventory,gold}');
SELECT lambda_views.create_view('public.big_items', \$\$$q_big\$\$, description => 'Big items per day', tags => '{inventory}');
SELECT lambda_views.create_view('public.items_total', \$\$$q_all\$\$, initial_batch => false);
SELECT lambda_views.set_product('public.items_by_kind', column_comments => '{"kind": "Kind of item", "total": "Sum of amounts"}',
                                check_interval => '10 minutes');
SELECT lambda_views.add_check('public.items_by_kind', 'no_negative', 'SELECT * FROM public.items_by_kind WHERE total < 0');
SELECT lambda_views.add_check('public.big_items', 'top_in_range', 'SELECT * FROM public.big_items WHERE top > 99');
INSERT INTO lambda_views.policies (policy_name, require_description) VALUES ('describe_everything', false);
});

# state spread over batch, speed and the unfolded tail
$node->safe_psql('src', q{
INSERT INTO items (kind, amount, ts)
SELECT 'k' || (i % 9), i % 100, timestamptz '2026-02-01 00:00+00' + i * interval '10 minutes'
  FROM generate_series(1, 500) i;
});
fold_all($node, 'src');
$node->safe_psql('src', "SELECT lambda_views.recompute('public.big_items')");
$node->safe_psql('src', q{
INSERT INTO items (kind, amount, ts)
SELECT 'k' || (i % 3), i % 100, timestamptz '2026-03-01 00:00+00' + i * interval '10 minutes'
  FROM generate_series(1, 300) i;
});
fold_all($node, 'src');
$node->safe_psql('src', q{
INSERT INTO items (kind, amount, ts) VALUES ('new', 7, '2026-04-01'), ('k1', 70, '2026-04-01');
});
$node->safe_psql('src', "SELECT lambda_views.check('$_')") foreach sort keys %views;
all_exact($node, 'src', 'source', 0);

my $products_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), p.owner_role, p.description, p.freshness_sla,
       p.completeness_sla, p.tags, p.column_comments, p.check_interval
  FROM lambda_views.products p JOIN lambda_views.views v USING (view_id) ORDER BY 1};
my $checks_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), c.check_name, c.sql, c.search_path
  FROM lambda_views.checks c JOIN lambda_views.views v USING (view_id) ORDER BY 1, 2};
my $results_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), r.check_name, r.passed, r.detail
  FROM lambda_views.check_results r JOIN lambda_views.views v USING (view_id) ORDER BY 1, 2};
my $comments_sql = q{
SELECT c.relname, obj_description(c.oid, 'pg_class'), col_description(c.oid, 1), col_description(c.oid, 3)
  FROM pg_class c WHERE c.relname IN ('items_by_kind', 'big_items', 'items_total') ORDER BY 1};
my $state_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), s.speed_watermark, s.batch_watermark, s.batch_gen
  FROM lambda_views.views v JOIN lambda_views.view_state s USING (view_id) ORDER BY 1};
my $products_before = $node->safe_psql('src', $products_sql);
my $checks_before   = $node->safe_psql('src', $checks_sql);
my $results_before  = $node->safe_psql('src', $results_sql);
my $comments_before = $node->safe_psql('src', $comments_sql);
my $state_before    = $node->safe_psql('src', $state_sql);

# ---------------------------------------------------------- dump, restore
my $dump = $node->basedir . '/src.dump';
my ($stdout, $stderr) = ('', '');
my $dump_ok = IPC::Run::run([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'>', \$stdout, '2>', \$stderr);
# Each view's generation sequence is OWNED BY its speed table's gen column;
# pg_dump reads an ownership without a column as column 0 and crashes, so
# this also guards that.
ok($dump_ok, 'pg_dump of a database with lambda views') or diag($stderr);
$node->safe_psql('postgres', 'CREATE DATABASE dst');
my @restore = ('pg_restore', '-d', $node->connstr('dst'), $dump);
($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run(\@restore, '>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore into a new database succeeds') or diag($stderr);
is($stderr, '', 'pg_restore reports no errors');

# ------------------------------------------------------------- restored db
is($node->safe_psql('dst', $state_sql), $state_before, 'watermarks and batch generations restored');
all_exact($node, 'dst', 'restored', 0);
is($node->safe_psql('dst', $products_sql), $products_before, 'products restored');
is($node->safe_psql('dst', $checks_sql),   $checks_before,   'checks restored');
is($node->safe_psql('dst', $results_sql),  $results_before,  'last check results restored');
is($node->safe_psql('dst', $comments_sql), $comments_before, 'view and column comments restored');
is( $node->safe_psql('dst', 'SELECT policy_name FROM lambda_views.policies'),
	'describe_everything', 'policies restored');
is( $node->safe_psql('dst', 'SELECT string_agg(name, \',\' ORDER BY name) FROM lambda_views.search_catalog(\'inventory\')'),
	'public.big_items,public.items_by_kind', 'catalog of the restored database');

# fold and recompute work on the restored storage
fold_all($node, 'dst');
all_exact($node, 'dst', 'restored, after fold', 1);
$node->safe_psql('dst', q{
INSERT INTO items (kind, amount, ts)
SELECT 'k' || (i % 11), i % 100, timestamptz '2026-05-01 00:00+00' + i * interval '10 minutes'
  FROM generate_series(1, 400) i;
});
fold_all($node, 'dst');
$node->safe_psql('dst', "SELECT lambda_views.recompute('$_')") foreach sort keys %views;
$node->safe_psql('dst', "INSERT INTO items (kind, amount, ts) VALUES ('k2', 1, '2026-06-01')");
all_exact($node, 'dst', 'restored, after new rows, fold and recompute', 0);
fold_all($node, 'dst');
all_exact($node, 'dst', 'restored, all folded', 1);

# the checks run and pass on the restored database
foreach my $view (sort keys %views)
{
	is( $node->safe_psql(
			'dst', "SELECT string_agg(check_name || '=' || passed, ',' ORDER BY check_name) FROM lambda_views.check('$view')"),
		$view eq 'public.items_by_kind' ? 'completeness=true,freshness=true,no_negative=true'
		: $view eq 'public.big_items' ? 'completeness=true,top_in_range=true'
		:                               'completeness=true',
		"restored checks of $view pass");
}

# the source is still immutable, and the governed purge works
my ($rc, $out, $err) = $node->psql('dst', "DELETE FROM items WHERE ts < '2026-02-01'");
like($err, qr/append-only source of lambda view/, 'restored source refuses DELETE');
is( $node->safe_psql('dst', "SELECT lambda_views.purge('items', '2026-02-01', 'ts')"),
	'3000', 'purge on the restored database');
all_exact($node, 'dst', 'restored, after purge', 1);

# the original database is untouched by all this
all_exact($node, 'src', 'source after restore', 0);

$node->stop;
done_testing();
