# pg_cron drives the batch layer: a job scheduled by the view's owner calls
# lambda_views.recompute(), the batch generation advances, the job runs as
# that owner (a job of another role is refused), and the view stays exact
# while the worker keeps folding.
#
# The installed pg_cron is 1.4, whose finest schedule is one minute ('* * * * *';
# interval schedules such as '1 seconds' came with 1.5), so this test waits
# for the next minute boundary: up to about 60 s.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $q = 'SELECT region, count(*) AS n, sum(qty) AS total, max(qty) AS top FROM public.sales GROUP BY region';

# Jobs run in background workers (no libpq connection to configure), as the
# role that scheduled them.
my $node = start_node('cron', qq{
shared_preload_libraries = 'lambda_views, pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
});

my $cron_version = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_cron'");
note("pg_cron $cron_version");

$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');
$node->safe_psql('postgres', qq{
CREATE EXTENSION pg_cron;
CREATE ROLE lv_owner LOGIN;
CREATE ROLE lv_other LOGIN;
GRANT USAGE ON SCHEMA cron TO lv_owner, lv_other;
GRANT CREATE ON SCHEMA public TO lv_owner;
SET ROLE lv_owner;
CREATE TABLE sales (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region  text NOT NULL,
    qty     int NOT NULL
);
INSERT INTO sales (region, qty) SELECT 'r' || (i % 9), i % 101 FROM generate_series(1, 5000) i;
SELECT lambda_views.create_view('sales_by_region', \$\$$q\$\$, append_key => 'id',
                                speed_interval => '1 second');
GRANT SELECT ON sales, sales_by_region TO lv_other;
});

# Rows beyond the first batch, folded by the worker before the job can run.
$node->safe_psql('postgres',
	"INSERT INTO sales (region, qty) SELECT 'r' || (i % 11), i % 53 FROM generate_series(1, 1000) i");
my $first = $node->safe_psql('postgres', 'SELECT max(id) FROM sales');
ok(wait_for($node, 'postgres', "SELECT speed_watermark >= $first FROM lambda_views.status", 20),
	'the worker folds');

my ($gen0, $at0, $rows0) = split /\|/, $node->safe_psql('postgres',
	"SELECT batch_gen, coalesce(last_recompute_at, '-infinity'), rows_recomputed FROM lambda_views.status");

# The owner schedules the recompute; another role schedules the same call.
my $job = $node->safe_psql('postgres', q{
SET ROLE lv_owner;
SELECT cron.schedule('lv-recompute', '* * * * *', $$SELECT lambda_views.recompute('public.sales_by_region')$$);
});
my $other_job = $node->safe_psql('postgres', q{
SET ROLE lv_other;
SELECT cron.schedule('lv-other', '* * * * *', $$SELECT lambda_views.recompute('public.sales_by_region')$$);
});
is($node->safe_psql('postgres', "SELECT username FROM cron.job WHERE jobid = $job"),
	'lv_owner', 'the job belongs to the view owner');

# Keep inserting while waiting for the job; the worker keeps folding.
my $batches = 0;
my $deadline = time() + 80;
my $advanced = 0;
while (time() < $deadline)
{
	$node->safe_psql('postgres',
		"INSERT INTO sales (region, qty) SELECT 'r' || (i % 13), i % 37 FROM generate_series(1, 200) i");
	$batches++;
	if ($node->safe_psql('postgres', "SELECT batch_gen > $gen0 FROM lambda_views.status") eq 't')
	{
		$advanced = 1;
		last;
	}
	usleep(500_000);
}
ok($advanced, 'the pg_cron job recomputed the batch (batch_gen advanced)');
note("inserted $batches batches of 200 rows while waiting");

ok(wait_for($node, 'postgres', qq{
	SELECT count(*) = 2 FROM cron.job_run_details
	 WHERE jobid IN ($job, $other_job) AND status IN ('succeeded', 'failed')}, 20),
	'both jobs ran');
is($node->safe_psql('postgres', qq{
	SELECT username || ' ' || status FROM cron.job_run_details WHERE jobid = $job}),
	'lv_owner succeeded', "the owner's job ran as lv_owner and succeeded");
my ($other_user, $other_status, $other_msg) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT username, status, return_message FROM cron.job_run_details WHERE jobid = $other_job});
is("$other_user $other_status", 'lv_other failed', "another role's job ran as that role and was refused");
like($other_msg, qr/must be owner/, 'refused because it is not the view owner');

my ($gen1, $later, $rows1) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT batch_gen, last_recompute_at > '$at0'::timestamptz, rows_recomputed FROM lambda_views.status});
is($gen1, $gen0 + 1, 'exactly one recompute swapped in (the refused job changed nothing)');
is($later, 't', 'last_recompute_at advanced');
cmp_ok($rows1, '>', $rows0, 'the recompute read the rows inserted since the first batch');

# Stop the jobs; wait for the worker to fold everything; compare.
$node->safe_psql('postgres', "SET ROLE lv_owner; SELECT cron.unschedule($job)");
$node->safe_psql('postgres', "SET ROLE lv_other; SELECT cron.unschedule($other_job)");
my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM sales');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status", 20),
	'the worker folded up to the last committed row');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('sales_by_region', $q)),
	'0', 'folded view (batch + speed) equals its query after the cron recompute');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('sales_by_region', $q)),
	'0', 'realtime view equals its query');
is($node->safe_psql('postgres', 'SET ROLE lv_other; SET lambda_views.realtime = on; '
	. diff_sql('sales_by_region', $q)),
	'0', 'a reader with SELECT sees the same');
is($node->safe_psql('postgres', 'SELECT last_error IS NULL FROM lambda_views.status'), 't',
	'no worker error recorded');

$node->stop;
done_testing();
