# Worker lifecycle: the launcher runs a folding worker only in databases that
# have the extension; CREATE EXTENSION starts one without a restart, DROP
# EXTENSION stops it, a plain DROP DATABASE succeeds while a worker runs in
# it, no worker is left behind, and a server restart resumes folding.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

$SIG{PIPE} = 'IGNORE';

my $q = 'SELECT kind, count(*) AS n, sum(amount) AS total FROM public.items GROUP BY kind';

# workers returns the databases with a lambda_views folding worker, sorted.
sub workers
{
	my ($node) = @_;
	return $node->safe_psql('postgres', q{
		SELECT coalesce(string_agg(DISTINCT coalesce(datname, '<none>'), ',' ORDER BY coalesce(datname, '<none>')), '')
		  FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'});
}

# wait_workers waits until the folding workers run in exactly these databases.
sub wait_workers
{
	my ($node, $expected, $secs) = @_;
	my $deadline = time() + $secs;
	my $got;
	while (time() < $deadline)
	{
		$got = workers($node);
		return 1 if $got eq $expected;
		usleep(100_000);
	}
	diag("workers run in '$got', expected '$expected'");
	return 0;
}

# setup_db creates the extension, a source with rows and a view in a database.
sub setup_db
{
	my ($node, $db) = @_;
	$node->safe_psql($db, 'CREATE EXTENSION lambda_views');
	$node->safe_psql($db, qq{
CREATE TABLE items (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    text NOT NULL,
    amount  int NOT NULL
);
INSERT INTO items (kind, amount) SELECT 'k' || (i % 7), i FROM generate_series(1, 1000) i;
SELECT lambda_views.create_view('items_by_kind', \$\$$q\$\$, append_key => 'id',
                                speed_interval => '1 second');
});
}

# folds_exactly inserts rows, waits for the worker to fold them and compares
# the folded view with its query.
sub folds_exactly
{
	my ($node, $db, $what) = @_;
	$node->safe_psql($db,
		"INSERT INTO items (kind, amount) SELECT 'k' || (i % 11), i * 3 FROM generate_series(1, 500) i");
	my $last = $node->safe_psql($db, 'SELECT max(id) FROM items');
	ok(wait_for($node, $db,
		"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.items_by_kind'", 20),
		"$what: the worker folds new rows in $db");
	is($node->safe_psql($db, 'SET lambda_views.realtime = off; ' . diff_sql('items_by_kind', $q)),
		'0', "$what: the folded view equals its query in $db");
}

my $node = start_node('lifecycle', qq{
max_worker_processes = 16
lambda_views.naptime = 200
});

ok(wait_for($node, 'postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views launcher'", 20),
	'the launcher runs');

$node->safe_psql('postgres', 'CREATE DATABASE db_ext');
$node->safe_psql('postgres', 'CREATE DATABASE db_plain');
setup_db($node, 'db_ext');

# Only the database with the extension gets a worker, and it stays that way.
ok(wait_workers($node, 'db_ext', 20), 'a worker runs only in the database with the extension');
my @seen;
for (1 .. 20)
{
	push @seen, workers($node);
	usleep(100_000);
}
is(join(' ', grep { $_ ne 'db_ext' } @seen), '',
	'no worker appears in databases without the extension over two seconds');
# a pool of lambda_views.fold_workers (default 2) folding workers
ok(wait_for($node, 'postgres',
	"SELECT count(*) = current_setting('lambda_views.fold_workers')::int FROM pg_stat_activity "
	  . "WHERE backend_type = 'lambda_views worker' AND datname = 'db_ext'", 20),
	'the database has its pool of folding workers');
is($node->safe_psql('db_ext', q{
	SELECT worker_pid IN (SELECT pid FROM pg_stat_activity
	                       WHERE backend_type = 'lambda_views worker' AND datname = 'db_ext'),
	       worker_state FROM lambda_views.status}),
	"t|running", 'status names a worker folding the database');
folds_exactly($node, 'db_ext', 'first start');

# CREATE EXTENSION in another database starts a worker there, no restart.
setup_db($node, 'db_plain');
ok(wait_workers($node, 'db_ext,db_plain', 20), 'a new database with the extension gets a worker without a restart');
folds_exactly($node, 'db_plain', 'after CREATE EXTENSION');

# DROP EXTENSION stops that worker and leaves no storage behind; the worker
# of the other database goes on.
$node->safe_psql('db_plain', 'DROP EXTENSION lambda_views CASCADE');
ok(wait_workers($node, 'db_ext', 20), 'DROP EXTENSION stops the worker of that database');
is($node->safe_psql('db_plain', q{
	SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname IN ('lambda_views', 'lambda_views_data')}),
	'0', 'DROP EXTENSION leaves no lambda_views storage');
is($node->safe_psql('db_plain', 'SELECT count(*) FROM items'), '1500', 'the source table survives');
$node->safe_psql('db_plain', 'DELETE FROM items WHERE id = 1');
pass('the source is an ordinary table again');
is(workers($node), 'db_ext', 'no worker comes back after DROP EXTENSION');
folds_exactly($node, 'db_ext', 'after DROP EXTENSION elsewhere');

# A plain DROP DATABASE (no FORCE) succeeds while its worker runs.
$node->safe_psql('postgres', 'CREATE DATABASE db_drop');
setup_db($node, 'db_drop');
ok(wait_workers($node, 'db_drop,db_ext', 20), 'a worker runs in the database to be dropped');
folds_exactly($node, 'db_drop', 'before DROP DATABASE');
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_drop');
is($rc, 0, 'plain DROP DATABASE succeeds while a worker runs in it') or diag($err);
ok(wait_workers($node, 'db_ext', 20), 'no worker is left for the dropped database');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity a
	 WHERE backend_type LIKE 'lambda_views%' AND backend_type <> 'lambda_views launcher'
	   AND NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.oid = a.datid)}),
	'0', 'no orphaned lambda_views worker');
folds_exactly($node, 'db_ext', 'after DROP DATABASE');

# The same name again, with the extension: a worker starts for the new database.
$node->safe_psql('postgres', 'CREATE DATABASE db_drop');
setup_db($node, 'db_drop');
ok(wait_workers($node, 'db_drop,db_ext', 20), 'a recreated database gets a worker');
folds_exactly($node, 'db_drop', 'recreated database');
($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE db_drop');
is($rc, 0, 'plain DROP DATABASE succeeds a second time') or diag($err);
ok(wait_workers($node, 'db_ext', 20), 'again no worker is left for the dropped database');

# A restart resumes folding; rows inserted while the server was down (none)
# or right after it are folded.
$node->safe_psql('db_ext',
	"INSERT INTO items (kind, amount) SELECT 'before-restart', i FROM generate_series(1, 100) i");
$node->restart;
ok(wait_for($node, 'postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'lambda_views launcher'", 20),
	'the launcher runs after the restart');
ok(wait_workers($node, 'db_ext', 20), 'after a restart a worker runs again, only in db_ext');
folds_exactly($node, 'db_ext', 'after restart');
is($node->safe_psql('db_ext', 'SET lambda_views.realtime = on; ' . diff_sql('items_by_kind', $q)),
	'0', 'after restart the realtime view equals its query');
is($node->safe_psql('db_ext', 'SELECT last_error IS NULL FROM lambda_views.status'), 't',
	'no error recorded');

$node->stop;
done_testing();
