# Upgrade of a live installation: the released version (0.1, frozen as 1.0)
# is built from the repository's history into a private copy of PostgreSQL
# and runs views with live workers, data products and checks, a retired
# version kept for rollback and an alter_view replay half done, with rows
# in the batch, the speed layer and the unfolded tail.  Then the package is
# replaced as a DBA would: the server stops, the current tree is built and
# installed over the old one, the server starts and runs the new library
# against the old catalog, and ALTER EXTENSION lambda_views UPDATE follows.
#
# Before the update nothing may change: the workers leave the database
# alone (one LOG line each), fold() and recompute() refuse with SQLSTATE 55000,
# reads either answer as before or fail.  The update keeps every view's
# data exact: batch and speed (states converted to lambda_views.state)
# finalize to the values 1.0 read, with and without the real-time tail, and
# every view equals its query on the source.  Afterwards the worker and
# fold() fold, recompute() rebuilds, the replay switches, rollback_view
# serves the retired version, products, checks, comments and grants are
# kept.  CREATE EXTENSION ... VERSION '1.0' followed by the update gives the
# same objects as a fresh install, and pg_dump of the updated database
# restores into a database whose views are exact and fold.
#
# The previous release (1.1, where the owners of lambda views shared USAGE
# on lambda_views_data) is built too and runs views of a role and of the
# extension's owner, one with a retired version, on a cluster of its own;
# after the new package its update moves the role's storage into the
# role's own schema and takes back its USAGE on the shared one, and the
# views stay exact, fold, recompute and roll back.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use LambdaViewsBuild;
use Time::HiRes qw(time);

# the last commit of the release before the install script was frozen
my $released = 'ebb7938';
# the last commit of release 1.1 (storage in one schema for every owner)
my $released11 = 'e8616b1';
my $srcdir   = dirname(dirname(dirname(abs_path(__FILE__))));
my ($current) = slurp_file("$srcdir/lambda_views.control") =~ /^default_version\s*=\s*'([^']+)'/m
  or die "no default_version in lambda_views.control";
my $repo     = $ENV{LAMBDA_VIEWS_REPO} // $srcdir;
my $tmp      = PostgreSQL::Test::Utils::tempdir('upgrade');

# every kind of stored state: by-value (count, sum(int)), arrays (avg(int)),
# internal with serialization (numeric sum, avg and stddev, hll, tdigest),
# varlena (min(text)), NULL states (a filter that never passes) and a NULL
# group key
my %q = (
	'public.by_kind' => 'SELECT kind, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, '
	  . 'min(amount) AS lo, max(price) AS top, stddev_samp(amount) AS sd, '
	  . 'max(price) FILTER (WHERE amount > 1000) AS never FROM public.events GROUP BY kind',
	'public.by_day' => "SELECT date_trunc('day', ts) AS day, count(*) FILTER (WHERE amount > 50) AS big, "
	  . 'sum(price) AS revenue, avg(price) AS mean_price, min(kind) AS first_kind, max(ts) AS last_ts, '
	  . 'bool_and(amount >= 0) AS all_positive FROM public.events WHERE grp <> 3 GROUP BY 1',
	'public.users_by_grp' => 'SELECT nullif(grp, 0) AS grp, count(*) AS n, '
	  . 'hll_cardinality(hll_add_agg(hll_hash_bigint(user_id))) AS users FROM public.events GROUP BY 1',
	'public.median_by_kind' => 'SELECT kind, count(*) AS n, '
	  . 'tdigest_percentile(amount::float8, 100, 0.5) AS median FROM public.events GROUP BY kind',
	'public.replayed' => 'SELECT grp, count(*) AS n FROM public.events GROUP BY grp',
	'public.switched' => 'SELECT kind, sum(amount) AS total FROM public.events GROUP BY kind');
# alter_view: replayed is half way to version 2 when the package changes;
# switched serves version 2, version 1 is kept for rollback_view
my %q2 = (
	'public.replayed' => 'SELECT grp % 5 AS g, count(*) AS n, sum(amount) AS total, '
	  . 'max(kind) AS top_kind FROM public.events GROUP BY grp % 5',
	'public.switched' => 'SELECT kind, sum(amount) AS total, count(*) AS n FROM public.events GROUP BY kind');
my %speed = (
	'public.by_kind'        => '1 day',
	'public.by_day'         => '1 day',
	'public.users_by_grp'   => '200 milliseconds',
	'public.median_by_kind' => '1 day',
	'public.replayed'       => '1 second',
	'public.switched'       => '1 day');
my @views = sort keys %q;
# the query each view serves (the replay has not switched yet)
my %serving = (%q, 'public.switched' => $q2{'public.switched'});

my $node;
my $next_row = 1;
# the source of every database of the test
my $events_ddl = q{CREATE TABLE public.events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text NOT NULL,
    grp     int NOT NULL,
    amount  int NOT NULL,
    price   numeric(10,2) NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
)};

# insert_rows appends $n rows; any 130 consecutive ones touch every group
# of every view (7 kinds, 13 grps, 10 days).
sub insert_rows
{
	my ($db, $n) = @_;
	my ($lo, $hi) = ($next_row, $next_row + $n - 1);
	$next_row += $n;
	$node->safe_psql($db, qq{
INSERT INTO public.events (kind, grp, amount, price, user_id, ts)
SELECT 'k' || (i % 7), i % 13, (i * 37) % 101, ((i * 7) % 1000) / 10.0, i % 503,
       timestamptz '2026-01-01 00:00+00' + (i % 10) * interval '1 day' + (i % 3600) * interval '1 second'
  FROM generate_series($lo, $hi) i});
}

sub as_analyst
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, "SET ROLE analyst; $sql");
}

# mismatch_sql counts the rows in which a view and its query differ; the
# tdigest median is approximate and depends on the merge order, so it is
# compared within a tolerance (the counts exactly).
sub mismatch_sql
{
	my ($view, $query) = @_;
	return diff_sql($view, $query) unless $view eq 'public.median_by_kind';
	return "SELECT count(*) FROM $view v FULL JOIN ($query) q USING (kind) "
	  . 'WHERE v.n IS DISTINCT FROM q.n OR NOT abs(v.median - q.median) <= 0.5';
}

# on_rows_upto: the query on the source rows up to append key $w (SQL),
# which is what a view reads without the real-time tail when folded up to $w
sub on_rows_upto
{
	my ($query, $w) = @_;
	$query =~ s/FROM public\.events/FROM (SELECT * FROM public.events WHERE id <= $w) events/
	  or die "no source in $query";
	return $query;
}

# exact checks every serving view against its query with the real-time
# tail and, without it, against the rows up to its speed watermark, read
# in the same statement (a worker may fold meanwhile).
sub exact
{
	my ($db, $label, $queries) = @_;
	foreach my $view (sort keys %$queries)
	{
		my $query = $queries->{$view};
		my $w = '(SELECT s.speed_watermark FROM lambda_views.views v JOIN lambda_views.view_state s '
		  . "USING (view_id) WHERE format('%I.%I', v.view_schema, v.view_name) = '$view')";
		# from 1.2 the watermark may pass keys not folded yet (holes)
		$w = "$w AND NOT (SELECT s.speed_holes FROM lambda_views.views v JOIN lambda_views.view_state s "
		  . "USING (view_id) WHERE format('%I.%I', v.view_schema, v.view_name) = '$view') "
		  . 'OPERATOR(pg_catalog.@>) id'
		  if $node->safe_psql($db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'lambda_views.view_state'::regclass AND attname = 'speed_holes'") eq '1';
		is($node->safe_psql($db, mismatch_sql($view, $query)),
			'0', "$label: $view equals its query");
		is( $node->safe_psql(
				$db, 'SET lambda_views.realtime = off; ' . mismatch_sql($view, on_rows_upto($query, $w))),
			'0', "$label: $view without the real-time tail equals its query up to the speed watermark");
	}
}

sub snap_table
{
	my ($view, $realtime) = @_;
	(my $t = $view) =~ s/^public\./snap.${realtime}_/;
	return $t;
}

sub sqlstate_of
{
	my ($err) = @_;
	return $err =~ /ERROR:  ([0-9A-Z]{5}):/ ? $1 : 'none';
}

my $state_sql = 'SELECT * FROM lambda_views.view_state ORDER BY view_id';
my $products_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), p.owner_role, p.description, p.freshness_sla,
       p.completeness_sla, p.tags, p.column_comments, p.check_interval
  FROM lambda_views.products p JOIN lambda_views.views v USING (view_id) ORDER BY 1};
my $checks_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), c.check_name, c.sql, c.search_path
  FROM lambda_views.checks c JOIN lambda_views.views v USING (view_id) ORDER BY 1, 2};
my $results_sql = q{
SELECT format('%I.%I', v.view_schema, v.view_name), r.check_name, r.passed, r.detail, r.checked_at
  FROM lambda_views.check_results r JOIN lambda_views.views v USING (view_id) ORDER BY 1, 2};
my $comments_sql = q{
SELECT c.relname, obj_description(c.oid, 'pg_class'), col_description(c.oid, 1), col_description(c.oid, 3)
  FROM pg_class c WHERE c.relname IN ('by_kind', 'by_day') ORDER BY 1};
my $grants_sql = q{
SELECT c.relname, c.relacl FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' ORDER BY 1};
# the extension's objects with their privileges (leaving out the grants the
# test's roles got with their views) and the initial privileges pg_dump
# takes CREATE EXTENSION to make
my $members_sql = q{
SELECT string_agg(o.ident || ' acl ' || coalesce(o.acl, '-') || ' init ' || coalesce(o.init, '-'),
                  E'\n' ORDER BY o.ident)
  FROM (SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS ident,
               (SELECT string_agg(coalesce(g.rolname, 'PUBLIC') || '=' || x.privilege_type, ','
                                  ORDER BY 1)
                  FROM aclexplode(CASE d.classid
                         WHEN 'pg_class'::regclass THEN (SELECT relacl FROM pg_class WHERE oid = d.objid)
                         WHEN 'pg_proc'::regclass THEN (SELECT proacl FROM pg_proc WHERE oid = d.objid)
                         WHEN 'pg_namespace'::regclass THEN (SELECT nspacl FROM pg_namespace WHERE oid = d.objid)
                         WHEN 'pg_type'::regclass THEN (SELECT typacl FROM pg_type WHERE oid = d.objid)
                       END) x
                  LEFT JOIN pg_roles g ON g.oid = x.grantee
                 WHERE g.rolname IS NULL OR g.rolname NOT IN ('analyst', 'data_team', 'reader')) AS acl,
               (SELECT string_agg(i.privtype::text || ':' || i.initprivs::text, ',' ORDER BY i.objsubid)
                  FROM pg_init_privs i
                 WHERE i.classoid = d.classid AND i.objoid = d.objid) AS init
          FROM pg_depend d
         WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
           AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lambda_views')) o};
my $version_sql = "SELECT extversion FROM pg_extension WHERE extname = 'lambda_views'";

# ------------------------------------------------------------------ builds
my $t0 = time();
my $pg = copy_postgres("$tmp/root");
my $exported = eval { export_release($repo, $released, "$tmp/old"); 1 };
ok($exported, "the released version ($released) is exported from the repository at $repo")
  or diag($@);
if (!$exported)
{
	done_testing();
	exit;
}
copy_working_tree($srcdir, "$tmp/new");

# ------------------------------------------------------------ release 1.1
export_release($repo, $released11, "$tmp/v11");
build_install($pg, "$tmp/v11");
my $node11 = PostgreSQL::Test::Cluster->new('upgrade11', install_path => $pg->{install_path});
$node11->init;
$node11->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lambda_views'
lambda_views.naptime = 200
});
$node11->start;
my %q11 = (
	'public.by_grp'  => 'SELECT grp, count(*) AS n, sum(amount) AS total FROM public.events GROUP BY grp',
	'public.by_kind' => 'SELECT kind, count(*) AS n, avg(price) AS mean FROM public.events GROUP BY kind');
my $by_grp_v2 = 'SELECT grp, count(*) AS n, sum(amount) AS total, max(kind) AS top FROM public.events GROUP BY grp';
$node11->safe_psql('postgres', qq{
CREATE ROLE analyst LOGIN;
GRANT CREATE ON SCHEMA public TO analyst;
$events_ddl;
ALTER TABLE public.events OWNER TO analyst;
CREATE EXTENSION lambda_views;
});
# rows11 appends $n rows to release 1.1's events (its own row count)
my $next_row11 = 1;
sub rows11
{
	my ($n) = @_;
	my ($lo, $hi) = ($next_row11, $next_row11 + $n - 1);
	$next_row11 += $n;
	$node11->safe_psql('postgres', qq{
INSERT INTO public.events (kind, grp, amount, price, user_id, ts)
SELECT 'k' || (i % 7), i % 13, (i * 37) % 101, ((i * 7) % 1000) / 10.0, i % 503, now()
  FROM generate_series($lo, $hi) i});
}
my $su = $node11->safe_psql('postgres', 'SELECT current_user');
{
	rows11(3000);
	$node11->safe_psql('postgres',
		"SET ROLE analyst; SELECT lambda_views.create_view('public.by_grp', \$\$$q11{'public.by_grp'}\$\$, speed_interval => '1 day')");
	# the extension's owner has a view of its own
	$node11->safe_psql('postgres',
		"SELECT lambda_views.create_view('public.by_kind', \$\$$q11{'public.by_kind'}\$\$, speed_interval => '1 day')");
	$node11->safe_psql('postgres', "SET ROLE analyst; SELECT lambda_views.alter_view('public.by_grp', \$\$$by_grp_v2\$\$)");
	$node11->safe_psql('postgres', "SET ROLE analyst; SELECT lambda_views.fold('public.by_grp')");
	rows11(500);
	$node11->safe_psql('postgres', "SET ROLE analyst; SELECT lambda_views.fold('public.by_grp')");
	$node11->safe_psql('postgres', "SELECT lambda_views.fold('public.by_kind')");
	rows11(200);
}
is( $node11->safe_psql('postgres',
		"SELECT has_schema_privilege('analyst', 'lambda_views_data', 'USAGE'), "
		  . "string_agg(DISTINCT pg_get_userbyid(relowner), ',' ORDER BY pg_get_userbyid(relowner)) "
		  . "FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace AND relkind IN ('r', 'p')"),
	"t|analyst,$su",
	'release 1.1: the storage of every owner shares lambda_views_data, where the analyst has USAGE');
is($node11->safe_psql('postgres', diff_sql('public.by_grp', $by_grp_v2)), '0', 'release 1.1: by_grp equals its query');
$node11->stop;
uninstall($pg, "$tmp/v11");
note(sprintf('release 1.1 built and run in %.1f s', time() - $t0));

build_install($pg, "$tmp/old");
note(sprintf('released version built and installed in %.1f s', time() - $t0));

# --------------------------------------------------------- released version
$node = PostgreSQL::Test::Cluster->new('upgrade', install_path => $pg->{install_path});
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lambda_views'
max_worker_processes = 16
lambda_views.naptime = 200
lambda_views.fold_chunk_rows = 1000
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', qq{
CREATE EXTENSION hll;
CREATE EXTENSION tdigest;
CREATE EXTENSION lambda_views;
CREATE ROLE analyst LOGIN;
CREATE ROLE data_team;
CREATE ROLE reader LOGIN;
GRANT CREATE ON SCHEMA public TO analyst;
$events_ddl;
ALTER TABLE public.events OWNER TO analyst;
INSERT INTO lambda_views.policies (policy_name, require_description) VALUES ('describe_everything', false);
});
is($node->safe_psql('app', $version_sql), '0.1', 'the released version installs as 0.1');

insert_rows('app', 30000);
as_analyst('app', "SELECT lambda_views.create_view('$_', \$\$$q{$_}\$\$, speed_interval => '$speed{$_}')")
  foreach @views;
as_analyst('app', q{
SELECT lambda_views.set_product('public.by_kind', owner_role => 'data_team',
    description => 'Events per kind', freshness_sla => '1 hour', completeness_sla => 1,
    tags => '{sales,gold}', column_comments => '{"kind": "Kind of event", "total": "Sum of amounts"}',
    check_interval => '1 hour');
SELECT lambda_views.set_product('public.by_day', description => 'Events per day', tags => '{sales}');
SELECT lambda_views.add_check('public.by_kind', 'no_negative', 'SELECT * FROM public.by_kind WHERE total < 0');
SELECT lambda_views.add_check('public.by_day', 'positive', 'SELECT * FROM public.by_day WHERE NOT all_positive');
GRANT SELECT ON public.by_kind TO reader;
CREATE VIEW public.top_kinds AS SELECT kind, total FROM public.by_kind WHERE kind <> 'k0';
GRANT SELECT ON public.top_kinds TO reader;
});
# a DBA's view over the extension's status view
$node->safe_psql('app',
	'CREATE VIEW public.fold_monitor AS SELECT view, role, speed_watermark FROM lambda_views.status');
as_analyst('app', "SELECT lambda_views.alter_view('public.switched', \$\$$q2{'public.switched'}\$\$)");
as_analyst('app', "SELECT lambda_views.fold('public.switched')");
is( $node->safe_psql('app',
		"SELECT string_agg(version || ':' || role, ',' ORDER BY version) FROM lambda_views.status WHERE family = "
		  . "(SELECT family FROM lambda_views.status WHERE view = 'public.switched')"),
	'1:retired,2:serving', 'released version: switched serves version 2, version 1 is kept');

# rows in the batch (recomputed), the speed layer (folded by hand, and
# by the worker for users_by_grp and replayed) and the tail
insert_rows('app', 2000);
as_analyst('app', "SELECT lambda_views.fold('$_')")
  foreach ('public.by_kind', 'public.by_day', 'public.median_by_kind');
as_analyst('app', "SELECT lambda_views.recompute('public.by_day')");
insert_rows('app', 1000);
as_analyst('app', "SELECT lambda_views.fold('$_')")
  foreach ('public.by_kind', 'public.by_day', 'public.median_by_kind');
as_analyst('app',
	"SELECT lambda_views.alter_view('public.replayed', \$\$$q2{'public.replayed'}\$\$, rows_per_second => 500)");
ok( wait_for(
		$node, 'app',
		"SELECT replay_keys_done > 0 FROM lambda_views.status WHERE role = 'replaying'", 60),
	'released version: the worker replays version 2 of replayed');
ok( wait_for(
		$node, 'app',
		"SELECT speed_watermark = 33000 FROM lambda_views.status WHERE view = 'public.users_by_grp'", 60),
	'released version: the worker folds users_by_grp');
# the workers stop here, so that the data read now is the data updated
$node->safe_psql('app', 'ALTER SYSTEM SET lambda_views.workers_enabled = off; SELECT pg_reload_conf()');
ok( wait_for(
		$node, 'app', "SELECT current_setting('lambda_views.workers_enabled') = 'off'", 30)
	  && wait_for(
		$node, 'app', q{
SELECT count(*) = 0 FROM pg_stat_activity
 WHERE backend_type IN ('lambda_views worker', 'lambda_views batch') AND state = 'active'}, 30),
	'released version: the workers are idle');
insert_rows('app', 500);
as_analyst('app', "SELECT lambda_views.check('$_')") foreach ('public.by_kind', 'public.by_day');

my ($replay_id, $replay_done, $replay_total) = split /\|/,
  $node->safe_psql('app',
	"SELECT view_id, replay_keys_done, replay_keys_total FROM lambda_views.status WHERE role = 'replaying'");
ok($replay_done > 0 && $replay_done < $replay_total,
	"released version: the replay is half done ($replay_done of $replay_total keys)");
exact('app', 'released version', \%serving);

# what the released version reads, kept for after the update
$node->safe_psql('app', 'CREATE SCHEMA snap');
foreach my $view (@views)
{
	foreach my $realtime ('on', 'off')
	{
		$node->safe_psql('app', "SET lambda_views.realtime = $realtime; "
			  . 'CREATE TABLE ' . snap_table($view, $realtime) . " AS SELECT * FROM $view");
	}
}
$node->safe_psql('app', 'CREATE TABLE snap.state AS SELECT * FROM lambda_views.view_state');
# the columns the released version has (the update adds more)
my $state_columns = $node->safe_psql('app', q{
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
 WHERE attrelid = 'snap.state'::regclass AND attnum > 0 AND NOT attisdropped});
my %watermark = map {
	$_ => $node->safe_psql('app', "SELECT speed_watermark FROM lambda_views.status WHERE view = '$_'")
} @views;
my $state_before    = $node->safe_psql('app', $state_sql);
my $products_before = $node->safe_psql('app', $products_sql);
my $checks_before   = $node->safe_psql('app', $checks_sql);
my $results_before  = $node->safe_psql('app', $results_sql);
my $comments_before = $node->safe_psql('app', $comments_sql);
my $grants_before   = $node->safe_psql('app', $grants_sql);

# ------------------------------------------- new package, old catalog
# the workers run again after the restart, as they did before
$node->safe_psql('app', 'ALTER SYSTEM RESET lambda_views.workers_enabled');
$node->stop;
$t0 = time();
uninstall($pg, "$tmp/old");
build_install($pg, "$tmp/new");
note(sprintf('current version built and installed over it in %.1f s', time() - $t0));
my $log_offset = -s $node->logfile;
$node->start;

is($node->safe_psql('app', $version_sql), '0.1', 'new library: the catalog is still 0.1');
ok( wait_for(
		$node, 'app',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND datname = 'app'",
		60),
	'new library, old catalog: workers run in the database');
$node->wait_for_log(qr/not folding database "app": its extension is version 0\.1/, $log_offset);
# a few of the workers' rounds (naptime 200 ms)
sleep(2);
my @skips = slurp_file($node->logfile, $log_offset) =~ /\[(\d+)\] LOG:  lambda_views: not folding database "app"/g;
my %skips_of;
$skips_of{$_}++ foreach @skips;
ok(@skips > 0 && !grep({ $_ > 1 } values %skips_of),
	'new library, old catalog: each worker says once that it leaves the database alone')
  or diag('LOG lines per worker: ' . join(', ', map { "$_: $skips_of{$_}" } sort keys %skips_of));
is($node->safe_psql('app', $state_sql), $state_before,
	'new library, old catalog: the worker folds, recomputes and records nothing');
is($node->safe_psql('app', $results_sql), $results_before,
	'new library, old catalog: the worker runs no checks');

# reads answer as before or fail; nothing crashes
foreach my $view (@views)
{
	foreach my $realtime ('on', 'off')
	{
		my ($rc, $out, $err) = $node->psql('app',
			"SET lambda_views.realtime = $realtime; " . diff_sql($view, 'SELECT * FROM ' . snap_table($view, $realtime)));
		ok( ($rc == 0 && $out eq '0') || ($rc == 3 && $err =~ /ERROR/),
			"new library, old catalog: $view read with realtime $realtime answers as before or fails")
		  or diag("rc $rc, out $out, err $err");
		note("new library, old catalog: $view realtime $realtime: "
			  . ($rc == 0 ? "differs in $out rows" : $err));
	}
}
foreach my $call ("fold('public.switched')", "fold('public.by_kind')", "recompute('public.by_kind')")
{
	my ($rc, $out, $err) = $node->psql('app',
		"\\set VERBOSITY verbose\nSET ROLE analyst; SELECT lambda_views.$call");
	is(sqlstate_of($err), '55000', "new library, old catalog: $call fails with SQLSTATE 55000")
	  or diag($err);
	like($err, qr/HINT:  .*ALTER EXTENSION lambda_views UPDATE/,
		"new library, old catalog: $call hints at ALTER EXTENSION lambda_views UPDATE");
}
is($node->safe_psql('app', $state_sql), $state_before,
	'new library, old catalog: reads and refused calls changed nothing');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'new library, old catalog: the server is up');
ok(!$node->log_contains('terminated by signal|server process .* was terminated', $log_offset),
	'new library, old catalog: no process crashed');

# ---------------------------------------------------------------- update
# The update and the reads that compare with the released version share a
# transaction: the worker waits for the new version, so nothing is folded
# in between.
my $compare = '';
foreach my $view (@views)
{
	foreach my $realtime ('off', 'on')
	{
		$compare .= "SET LOCAL lambda_views.realtime = $realtime;\n"
		  . "SELECT 'as before, realtime $realtime: $view', ("
		  . diff_sql($view, 'SELECT * FROM ' . snap_table($view, $realtime)) . ");\n";
	}
	my $query = $serving{$view};
	$compare .= "SET LOCAL lambda_views.realtime = off;\n"
	  . "SELECT 'without the tail, equals its query up to the speed watermark: $view', ("
	  . mismatch_sql($view, on_rows_upto($query, $watermark{$view})) . ");\n"
	  . "SET LOCAL lambda_views.realtime = on;\n"
	  . "SELECT 'equals its query: $view', (" . mismatch_sql($view, $query) . ");\n";
}
$compare .= "SELECT 'the watermarks are those of the released version', ("
  . diff_sql("(SELECT $state_columns FROM lambda_views.view_state) st", 'SELECT * FROM snap.state') . ");\n";
my ($rc, $out, $err) = $node->psql('app', "BEGIN;\nALTER EXTENSION lambda_views UPDATE;\n$compare COMMIT;");
if (!is($rc, 0, 'ALTER EXTENSION lambda_views UPDATE succeeds'))
{
	# nothing after this can work
	diag($err);
	$node->stop;
	done_testing();
	exit;
}
foreach my $line (split /\n/, $out)
{
	my ($what, $count) = split /\|/, $line;
	is($count, '0', "updated: $what");
}
is($node->safe_psql('app', $version_sql), $current, "updated: the extension is version $current");
is( $node->safe_psql('app',
		"SELECT count(*) FROM pg_attribute WHERE atttypid = 'bytea'::regtype AND attrelid IN "
		  . "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
		  . "WHERE n.nspname ^@ 'lambda_views_data')"),
	'0', 'updated: no storage column keeps the bytea states of 1.0');
# storage per owning role: every version of the analyst's (the retired
# one's and the replay's relations too) lives in the analyst's own schema
is( $node->safe_psql('app',
		"SELECT string_agg(DISTINCT storage_schema, ','), count(*) FILTER (WHERE view_schema = 'lambda_views_data') "
		  . 'FROM lambda_views.views'),
	'lambda_views_data_analyst|0', "updated: the analyst's views keep their storage in its own schema");
is( $node->safe_psql('app', "SELECT count(*) FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace"),
	'0', 'updated: nothing is left in the shared storage schema');
is( $node->safe_psql('app',
		"SELECT string_agg(r || ':' || has_schema_privilege(r, 'lambda_views_data', 'USAGE') || ':' "
		  . "|| has_schema_privilege(r, 'lambda_views_data_analyst', 'USAGE') || ':' "
		  . "|| has_schema_privilege(r, 'lambda_views_data_analyst', 'CREATE'), ',' ORDER BY r) "
		  . "FROM unnest('{analyst,reader}'::text[]) r"),
	'analyst:false:true:false,reader:false:false:false',
	"updated: only the analyst may name its storage schema, and creates nothing there");

# views over a lambda view and over the status view stay
is( $node->safe_psql('app',
		diff_sql('public.top_kinds', "SELECT kind, total FROM ($q{'public.by_kind'}) q WHERE kind <> 'k0'")),
	'0', 'updated: a view over a lambda view equals its query');
is( $node->safe_psql('app', 'SELECT count(*) FROM public.fold_monitor'),
	scalar(@views) + 2, "updated: a view over lambda_views.status lists every version");

# the workers notice the new version by themselves and fold what is due
# (users_by_grp every 200 ms; by_kind's speed_interval is a day)
ok( wait_for(
		$node, 'app', qq{
SELECT speed_watermark = $next_row - 1 FROM lambda_views.status WHERE view = 'public.users_by_grp'}, 60),
	'updated: the worker folds the rows left unfolded before the update');
is( as_analyst('app', "SELECT lambda_views.fold('public.by_kind')"),
	'500', 'updated: fold() folds the rows left unfolded before the update');
insert_rows('app', 700);
ok( wait_for(
		$node, 'app', qq{
SELECT speed_watermark = $next_row - 1 FROM lambda_views.status WHERE view = 'public.users_by_grp'}, 60),
	'updated: the worker folds new rows');
# a read filtered on a group key of a view made before 1.5 aggregates that
# group's unfolded rows alone: planned merged (its relation is unchanged:
# the planner finds the tail in it), and read busy (by_kind has unfolded
# rows)
like(
	$node->safe_psql('app',
		"SET lambda_views.quiet_scan = off; EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM public.by_kind WHERE kind = 'k1'"),
	qr/lambda_views\.tail_where\(/,
	'updated: a read of an old view filtered on a group key calls the tail of that group');
like(
	$node->safe_psql('app',
		"EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM public.by_kind WHERE kind = 'k1'"),
	qr/Lambda View Read: busy\n\s*Lambda View Tail: tail_where \{1\}/,
	'updated: a busy read of an old view filtered on a group key aggregates the tail of that group');
is( $node->safe_psql('app',
		diff_sql("(SELECT * FROM public.by_kind WHERE kind = 'k1') v",
			"SELECT * FROM ($q{'public.by_kind'}) q WHERE kind = 'k1'")),
	'0', 'updated: that read equals its query');
# 1.6 builds the relation of an old view again: the batch groups nobody
# touched are left out by an anti join against the speed rows and one
# against the tail
like(
	$node->safe_psql('app', "SELECT pg_get_viewdef('public.by_kind'::regclass)"),
	qr/NOT \(EXISTS \( SELECT 1\s+FROM lv_tail t\s+WHERE/,
	'updated: an old view leaves out touched groups with an anti join against its tail alone');
# 1.7 keeps speed rows inline and uncompressed up to a page: every
# version's speed table, serving or retired, has the setting new ones get
my $speed_opts_sql = q{
	SELECT count(*) FILTER (WHERE 'toast_tuple_target=8160' = ANY (c.reloptions)) || ' of ' || count(*)
	  FROM lambda_views.views v
	  JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', v.storage_schema, 'v' || v.view_id || '_speed'))};
like($node->safe_psql('app', $speed_opts_sql),
	qr/^([1-9][0-9]*) of \1$/,
	'updated: every speed table keeps rows of up to a page uncompressed (toast_tuple_target 8160)');
is( as_analyst('app', "SELECT lambda_views.fold('public.by_kind')"),
	'700', 'updated: fold() folds new rows');
# (the replay, which the worker drives meanwhile, is checked below)
my %not_replayed = %serving;
delete $not_replayed{'public.replayed'};
exact('app', 'updated, folded', \%not_replayed);

# the replay goes on from where 1.0 left it (the worker may have switched
# it in by now) and fold() switches it in
is( $node->safe_psql('app',
		"SELECT speed_watermark >= $replay_done FROM lambda_views.view_state WHERE view_id = $replay_id"),
	't', 'updated: the replay keeps its progress');
as_analyst('app', "SELECT lambda_views.fold('public.replayed')");
is( $node->safe_psql('app',
		"SELECT version || ':' || role FROM lambda_views.status WHERE view = 'public.replayed'"),
	'2:serving', 'updated: the replay switches to version 2');
$serving{'public.replayed'} = $q2{'public.replayed'};
exact('app', 'updated, replay switched', { 'public.replayed' => $q2{'public.replayed'} });

# rollback_view serves the version 1.0 retired, converted and folded
is(as_analyst('app', "SELECT lambda_views.rollback_view('public.switched')"),
	'2', 'updated: rollback_view of switched');
$serving{'public.switched'} = $q{'public.switched'};
exact('app', 'updated, switched rolled back', { 'public.switched' => $q{'public.switched'} });

# recompute rebuilds every batch from the source
as_analyst('app', "SELECT lambda_views.recompute('$_')") foreach @views;
insert_rows('app', 300);
exact('app', 'updated, recomputed', \%serving);

# products, checks, comments and grants are kept and work
is($node->safe_psql('app', $products_sql), $products_before, 'updated: products kept');
is($node->safe_psql('app', $checks_sql),   $checks_before,   'updated: checks kept');
is($node->safe_psql('app', $comments_sql), $comments_before, 'updated: comments kept');
is($node->safe_psql('app', $grants_sql),   $grants_before,   'updated: grants kept');
is( as_analyst('app',
		"SELECT string_agg(check_name || '=' || passed, ',' ORDER BY check_name) FROM lambda_views.check('public.by_kind')"),
	'completeness=true,freshness=true,no_negative=true', 'updated: the checks of by_kind pass');
is( as_analyst('app',
		"SELECT string_agg(check_name || '=' || passed, ',' ORDER BY check_name) FROM lambda_views.check('public.by_day')"),
	'completeness=true,positive=true', 'updated: the checks of by_day pass');
as_analyst('app', "SELECT lambda_views.set_product('public.by_day', description => 'Events per day, updated')");
is( $node->safe_psql('app', "SELECT obj_description('public.by_day'::regclass, 'pg_class')"),
	'Events per day, updated', 'updated: set_product updates the comment');
is( $node->safe_psql('app',
		"SELECT string_agg(name, ',' ORDER BY name) FROM lambda_views.search_catalog('sales')"),
	'public.by_day,public.by_kind', 'updated: the catalog');
is( $node->safe_psql('app', 'SET ROLE reader; SELECT string_agg(view, \',\') FROM lambda_views.status'),
	'public.by_kind', 'updated: a reader sees only the views it may read');
is( $node->safe_psql('app', 'SET ROLE reader; SELECT string_agg(t::text, \',\' ORDER BY t::text) FROM public.by_kind t'),
	$node->safe_psql('app', "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM ($q{'public.by_kind'}) t"),
	'updated: a reader reads by_kind, equal to its query');

# --------------------------------- CREATE EXTENSION VERSION '1.0', UPDATE
$node->safe_psql('postgres', 'CREATE DATABASE fresh10');
$node->safe_psql('postgres', 'CREATE DATABASE fresh11');
$node->safe_psql('fresh10', "CREATE EXTENSION lambda_views VERSION '1.0'");
$node->safe_psql('fresh11', 'CREATE EXTENSION lambda_views');
is($node->safe_psql('fresh10', $version_sql), '1.0', "CREATE EXTENSION lambda_views VERSION '1.0'");
$node->safe_psql('fresh10', $events_ddl);
($rc, $out, $err) = $node->psql('fresh10',
	"\\set VERBOSITY verbose\nSELECT lambda_views.create_view('public.by_kind', \$\$$q{'public.by_kind'}\$\$)");
is(sqlstate_of($err), '55000', 'version 1.0 under the new library: create_view fails with SQLSTATE 55000')
  or diag($err);
$node->safe_psql('fresh10', 'ALTER EXTENSION lambda_views UPDATE');
is($node->safe_psql('fresh10', $version_sql), $current, "version 1.0 updates to $current");
is($node->safe_psql('fresh10', $members_sql), $node->safe_psql('fresh11', $members_sql),
	'version 1.0 updated has the objects and privileges of a fresh install');
is($node->safe_psql('app', $members_sql), $node->safe_psql('fresh11', $members_sql),
	'the updated database has the objects and privileges of a fresh install');
$node->safe_psql('fresh10',
	"SELECT lambda_views.create_view('public.by_kind', \$\$$q{'public.by_kind'}\$\$, speed_interval => '200 milliseconds')");
insert_rows('fresh10', 400);
ok( wait_for(
		$node, 'fresh10', qq{
SELECT speed_watermark = 400 FROM lambda_views.status WHERE view = 'public.by_kind'}, 60),
	'version 1.0 updated: the worker folds');
exact('fresh10', 'version 1.0 updated', { 'public.by_kind' => $q{'public.by_kind'} });

# --------------------------------------------------------- dump, restore
my $dump = "$tmp/app.dump";
my $stderr = '';
ok( IPC::Run::run(
		[ $node->installed_command('pg_dump'), '-Fc', '-f', $dump, '-d', $node->connstr('app') ],
		'>', \my $stdout, '2>', \$stderr),
	'pg_dump of the updated database')
  or diag($stderr);
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$stderr = '';
ok( IPC::Run::run(
		[ $node->installed_command('pg_restore'), '-d', $node->connstr('restored'), $dump ],
		'>', \$stdout, '2>', \$stderr),
	'pg_restore into a new database')
  or diag($stderr);
is($stderr, '', 'pg_restore reports no errors');
is($node->safe_psql('restored', $version_sql), $current, "restored: the extension is version $current");
is( $node->safe_psql('restored',
		"SELECT has_schema_privilege('analyst', 'lambda_views_data_analyst', 'USAGE'), "
		  . "has_schema_privilege('reader', 'lambda_views_data_analyst', 'USAGE'), "
		  . "has_schema_privilege('analyst', 'lambda_views_data', 'USAGE')"),
	't|f|f', "restored: the analyst's storage schema and its grant");
is($node->safe_psql('restored', $products_sql), $node->safe_psql('app', $products_sql),
	'restored: products');
exact('restored', 'restored', \%serving);
insert_rows('restored', 250);
as_analyst('restored', "SELECT lambda_views.fold('$_')") foreach @views;
as_analyst('restored', "SELECT lambda_views.recompute('public.by_kind')");
exact('restored', 'restored, folded and recomputed', \%serving);

$node->stop;

# ---------------------------------------------- release 1.1, updated
$node11->start;
is($node11->safe_psql('postgres', $version_sql), '1.1', 'release 1.1 under the new library: still 1.1');
$node11->safe_psql('postgres', 'ALTER EXTENSION lambda_views UPDATE');
is($node11->safe_psql('postgres', $version_sql), $current, "release 1.1 updates to $current");
like($node11->safe_psql('postgres', $speed_opts_sql),
	qr/^([1-9][0-9]*) of \1$/,
	'release 1.1 updated: its speed tables too');
is( $node11->safe_psql('postgres',
		"SELECT string_agg(format('%s:%s:%s', pg_get_userbyid(owner::oid), role, storage_schema), ',' "
		  . 'ORDER BY view_id) FROM lambda_views.views'),
	"analyst:retired:lambda_views_data_analyst,$su:serving:lambda_views_data,analyst:serving:lambda_views_data_analyst",
	"release 1.1 updated: the analyst's versions moved to its own schema, the extension owner's stayed");
is( $node11->safe_psql('postgres',
		"SELECT count(*) FROM pg_class WHERE relnamespace = 'lambda_views_data'::regnamespace "
		  . "AND relowner = 'analyst'::regrole"),
	'0', 'release 1.1 updated: nothing of the analyst is left in the shared schema');
is( $node11->safe_psql('postgres',
		"SELECT has_schema_privilege('analyst', 'lambda_views_data', 'USAGE'), "
		  . "has_schema_privilege('analyst', 'lambda_views_data_analyst', 'USAGE')"),
	'f|t', 'release 1.1 updated: the analyst lost USAGE on the shared schema and has its own');
is($node11->safe_psql('postgres', diff_sql('public.by_grp', $by_grp_v2)), '0',
	'release 1.1 updated: by_grp equals its query');
is($node11->safe_psql('postgres', diff_sql('public.by_kind', $q11{'public.by_kind'})), '0',
	"release 1.1 updated: the extension owner's by_kind equals its query");
rows11(300);
is( $node11->safe_psql('postgres',
		"SET ROLE analyst; SELECT lambda_views.fold('public.by_grp') > 0, lambda_views.recompute('public.by_grp') > 0"),
	't|t', 'release 1.1 updated: the analyst folds and recomputes');
is($node11->safe_psql('postgres', diff_sql('public.by_grp', $by_grp_v2)), '0',
	'release 1.1 updated: by_grp equals its query after fold and recompute');
is($node11->safe_psql('postgres', "SET ROLE analyst; SELECT lambda_views.rollback_view('public.by_grp')"),
	'2', 'release 1.1 updated: rollback_view serves the version retired under 1.1');
is($node11->safe_psql('postgres', diff_sql('public.by_grp', $q11{'public.by_grp'})), '0',
	'release 1.1 updated: by_grp rolled back equals its query');
$node11->safe_psql('postgres', "SET ROLE analyst; SELECT lambda_views.drop_view('public.by_grp')");
is( $node11->safe_psql('postgres',
		"SELECT count(*) FROM lambda_views.views WHERE owner = 'analyst'::regrole; "
		  . "SELECT count(*) FROM pg_namespace WHERE nspname = 'lambda_views_data_analyst'"),
	"0\n0", "release 1.1 updated: the analyst's last view dropped, its schema is gone");
$node11->stop;
done_testing();
