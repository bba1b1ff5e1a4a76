# Freshness: under a steady insert load, the background worker folds new rows
# into the speed layer within about one speed_interval of their commit, so a
# reader with lambda_views.realtime = off (batch + speed only) sees them soon;
# once the load stops the folded view equals its query on the source.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $q = 'SELECT grp, count(*) AS n, sum(val) AS total, max(val) AS top FROM public.events GROUP BY grp';

my $node = start_node('freshness', qq{
max_worker_processes = 16
lambda_views.naptime = 1000
});

$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');
$node->safe_psql('postgres', q{
CREATE TABLE events (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grp  int NOT NULL,
    val  int NOT NULL
);
INSERT INTO events (grp, val) SELECT i % 50, i % 997 FROM generate_series(1, 20000) i;
CREATE TABLE latency (i int, ms float8);
});
$node->safe_psql('postgres', qq{
SELECT lambda_views.create_view('ev_by_grp', \$\$$q\$\$,
    append_key => 'id', speed_interval => '1 second');
});

# The worker of this database starts without a restart and folds.
ok(wait_for($node, 'postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND datname = 'postgres'", 30),
	'a lambda_views worker runs in the database');

# measure(n, base): insert a row with a group key never used before, commit,
# then poll (batch + speed only) until that group is visible; record the
# commit-to-visible time in ms.  Each statement of the procedure takes a new
# snapshot, and the insert is committed before the clock starts.
$node->safe_psql('postgres', q{
CREATE PROCEDURE measure(n int, base int) LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    m  int;
BEGIN
    FOR i IN 1..n LOOP
        m := base + i;
        INSERT INTO events (grp, val) VALUES (m, i);
        COMMIT;
        t0 := clock_timestamp();
        LOOP
            EXIT WHEN EXISTS (SELECT 1 FROM ev_by_grp WHERE grp = m);
            EXIT WHEN clock_timestamp() > t0 + interval '20 seconds';
            PERFORM pg_sleep(0.01);
        END LOOP;
        INSERT INTO latency VALUES (i, extract(epoch FROM clock_timestamp() - t0) * 1000);
        COMMIT;
        PERFORM pg_sleep(0.1 + random() * 0.5);
    END LOOP;
END $$;
});

# Steady background load: pgbench inserting into the source at a fixed rate.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $script = "$dir/insert.sql";
open(my $fh, '>', $script) or die "could not write $script: $!";
print $fh "\\set g random(0, 49)\n\\set v random(1, 1000)\n"
  . "INSERT INTO events (grp, val) VALUES (:g, :v);\n";
close($fh);
my ($pgb_out, $pgb_err) = ('', '');
my $pgbench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '2', '-j', '2', '-R', '300', '-T', '60',
		'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$pgb_out, '2>', \$pgb_err);

# Let the load settle, then check it is flowing and being folded.
sleep(2);
my $before = $node->safe_psql('postgres', 'SELECT rows_folded FROM lambda_views.status');
ok(wait_for($node, 'postgres', "SELECT rows_folded > $before FROM lambda_views.status", 10),
	'the worker folds the steady load');

# With realtime on, a reader sees exactly the query on the source in its
# own snapshot even while rows stream in and the worker folds them.
for my $i (1 .. 3)
{
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('ev_by_grp', $q)),
		'0', "realtime view equals its query under load (check $i)");
	usleep(300_000);
}

# Commit-to-visible latency with realtime off, under the load.
my $markers = 25;
$node->safe_psql('postgres', "SET lambda_views.realtime = off; CALL measure($markers, 1000000)");

ok($pgbench->pumpable, 'pgbench was still running during the measurements');
$pgbench->signal('INT');
$pgbench->finish;
note("pgbench: $pgb_out $pgb_err");

my @lat = split /\n/, $node->safe_psql('postgres', 'SELECT ms FROM latency ORDER BY ms');
is(scalar(@lat), $markers, "$markers latencies measured");
my $p50 = $lat[int($#lat * 0.50)];
my $p99 = $lat[int($#lat * 0.99 + 0.5)];
note(sprintf('commit-to-visible (realtime off, speed_interval 1 s): p50 %.0f ms, p99 %.0f ms, max %.0f ms',
	$p50, $p99, $lat[-1]));
my @slow = grep { $_ >= 3000 } @lat;
is(scalar(@slow), 0, 'every marker row became visible within speed_interval + slack (< 3 s)')
  or diag("latencies (ms): @lat");

# Load stopped: once no inserter is left, wait for the worker to fold up to
# the last committed key, then the folded view must equal the query exactly.
ok(wait_for($node, 'postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pgbench'", 30),
	'pgbench sessions are gone');
my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM events');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.ev_by_grp'", 20),
	'the worker folded up to the last committed row');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('ev_by_grp', $q)),
	'0', 'folded view (batch + speed) equals its query on the source');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('ev_by_grp', $q)),
	'0', 'realtime view equals its query on the source');
is($node->safe_psql('postgres', 'SELECT count(*) FROM events WHERE grp >= 1000000'),
	$markers, 'all marker rows are in the source');
is($node->safe_psql('postgres',
	'SET lambda_views.realtime = off; SELECT count(*) FROM ev_by_grp WHERE grp >= 1000000 AND n = 1'),
	$markers, 'each marker is counted exactly once in the folded view');
is($node->safe_psql('postgres', 'SELECT last_error IS NULL FROM lambda_views.status'),
	't', 'no fold error recorded');
# The worker reports its table statistics, so autovacuum sees the speed
# table's churn: the cumulative statistics count the worker's writes.
ok(wait_for($node, 'postgres', q{
SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) > 0
  FROM pg_stat_user_tables
 WHERE schemaname = 'lambda_views_data' AND relname LIKE '%speed%'}, 10),
	'the worker reports the speed table writes to the cumulative statistics');

# Heavy ingest folds early while realtime readers read unfolded rows: a
# view whose speed_interval is an hour is folded as soon as
# lambda_views.fold_backlog_rows keys wait beyond its speed layer and a
# realtime read happened in the last 10 s; not below that backlog, and not
# when nobody reads.
$node->safe_psql('postgres', qq{
SELECT lambda_views.create_view('ev_hourly', \$\$$q\$\$,
    append_key => 'id', speed_interval => '1 hour');
});
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM events');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.ev_hourly'", 20),
	'a new view is folded once at once');
$node->safe_psql('postgres', 'ALTER SYSTEM SET lambda_views.fold_backlog_rows = 200');
$node->reload;
my $add = 'INSERT INTO events (grp, val) SELECT i % 7, i FROM generate_series(1, %d) i';
my $read_rt = 'SET lambda_views.realtime = on; ' . diff_sql('ev_hourly', $q);
my $watermark = "SELECT speed_watermark FROM lambda_views.status WHERE view = 'public.ev_hourly'";

$node->safe_psql('postgres', sprintf($add, 50));
is($node->safe_psql('postgres', $read_rt), '0', 'realtime read equals the query (50 rows unfolded)');
sleep(3);
is($node->safe_psql('postgres', $watermark), $last,
	'a backlog below fold_backlog_rows waits for speed_interval, even while read');

# The worker may look while this INSERT is half done (the sequence hands
# keys out before commit): it then folds up to the keys handed out so far,
# at least fold_backlog_rows beyond the watermark, and leaves the rest,
# fewer than that, for later.
$node->safe_psql('postgres', sprintf($add, 300));
is($node->safe_psql('postgres', $read_rt), '0', 'realtime read equals the query (350 rows unfolded)');
ok(wait_for($node, 'postgres', "SELECT speed_watermark >= $last + 200 FROM lambda_views.status WHERE view = 'public.ev_hourly'", 10),
	'a backlog of fold_backlog_rows is folded early while realtime reads happen');
$last = $node->safe_psql('postgres', $watermark);

# nobody reads unfolded rows for longer than the 10 s window
sleep(11);
$node->safe_psql('postgres', sprintf($add, 300));
sleep(3);
is($node->safe_psql('postgres', $watermark), $last,
	'without realtime readers the backlog waits for speed_interval');
is($node->safe_psql('postgres', $read_rt), '0', 'realtime read equals the query (300 rows unfolded)');
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM events');
ok(wait_for($node, 'postgres', "SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.ev_hourly'", 10),
	'a realtime read makes the waiting backlog fold early');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('ev_hourly', $q)),
	'0', 'the early-folded view (batch + speed) equals its query on the source');

$node->stop;
done_testing();
