# How the speed and batch layers aggregate: lambda_views.partial() declares
# the small transition state its usual aggregates need, so that the planner
# would plan a hash aggregation for a fold of hll_add_agg (128 kB per group)
# and spill, where the GROUP BY with hll_add_agg itself is sorted.  The
# extension plans such statements without hash aggregation (src/ground/run.c,
# lv_wants_sorted_groups), the real-time tail too, and leaves every other view's plan
# to the planner.
# auto_explain shows the plans of the fold, the recompute and the tail; each view is
# then compared with its query on the source.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;

my $node = start_node('fold_plans', q{
lambda_views.workers_enabled = off
});
$node->safe_psql('postgres', q{
CREATE EXTENSION hll;
CREATE EXTENSION lambda_views;
CREATE TABLE events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url     text NOT NULL,
    user_id bigint NOT NULL,
    ts      timestamptz NOT NULL
);
INSERT INTO events (url, user_id, ts)
SELECT '/p/' || (i % 5000), i % 997, '2026-12-01'::timestamptz + (i % 3) * interval '1 day'
  FROM generate_series(1, 30000) i;
ANALYZE events;
SELECT lambda_views.create_view('users_by_url',
    $$SELECT url, date_trunc('day', ts) AS day, count(*) AS views,
             public.hll_add_agg(public.hll_hash_bigint(user_id)) AS users
        FROM public.events GROUP BY url, date_trunc('day', ts)$$,
    append_key => 'id', initial_batch => false);
SELECT lambda_views.create_view('urls_union',
    $$SELECT url, public.hll_union_agg(public.hll_add(public.hll_empty(), public.hll_hash_bigint(user_id))) AS users
        FROM public.events GROUP BY url$$,
    append_key => 'id', initial_batch => false);
SELECT lambda_views.create_view('views_by_url',
    $$SELECT url, count(*) AS views, sum(user_id) AS total
        FROM public.events GROUP BY url$$,
    append_key => 'id', initial_batch => false);
});

# plans returns the plans auto_explain reports for the statements $sql runs
# (nested ones too), as notices; hash aggregation stays enabled for the
# session, so that only the extension can turn it off.
sub plans
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', qq{
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET enable_hashagg = on;
$sql}, stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
	return $stderr;
}

# the plan of the statement that aggregates the source (the one naming
# lambda_views.partial over $agg)
sub source_plan
{
	my ($log, $agg) = @_;
	my @plans = split /NOTICE:  duration: /, $log;
	my @found = grep { /lambda_views\.partial\('\Q$agg\E/ && /Scan[^\n]* on events/ } @plans;
	return $found[0] // '';
}

my $hll = 'public.hll_add_agg(public.hll_hashval)';
my $fold = plans(q{SELECT lambda_views.fold('users_by_url')});
my $plan = source_plan($fold, $hll);
isnt($plan, '', 'auto_explain shows the fold of the hll view');
like($plan, qr/GroupAggregate/, 'the fold of an hll view aggregates sorted groups');
unlike($plan, qr/HashAggregate|MixedAggregate/, 'the fold of an hll view does not hash its groups');

$plan = source_plan(plans(q{SELECT lambda_views.fold('urls_union')}),
	'public.hll_union_agg(public.hll)');
like($plan, qr/GroupAggregate/,
	'an aggregate with an internal state of undeclared size (hll_union_agg) is sorted too');

$plan = source_plan(plans(q{SELECT lambda_views.fold('views_by_url')}),
	'pg_catalog.sum(bigint)');
like($plan, qr/HashAggregate/,
	'a view of small states (count, sum) keeps the planner\'s hash aggregation');
like($plan, qr/Sort Key: d(?:_\d+)?\.k1/,
	'its fold writes the groups in key order');
unlike(source_plan($fold, $hll), qr/Sort Key: d(?:_\d+)?\./,
	'the hll view\'s fold does not sort its groups again');

$node->safe_psql('postgres', q{
INSERT INTO events (url, user_id, ts)
SELECT '/p/' || (i % 7000), i % 1013, '2026-12-03'::timestamptz
  FROM generate_series(1, 20000) i;
});
# a role may force generic plans: the batch is still planned for its values
my $recompute = plans(q{SET plan_cache_mode = force_generic_plan;
SELECT lambda_views.recompute('users_by_url')});
$plan = source_plan($recompute, $hll);
isnt($plan, '', 'auto_explain shows the recompute of the hll view');
like($plan, qr/GroupAggregate/, 'the recompute of an hll view aggregates sorted groups');
unlike($plan, qr/HashAggregate|MixedAggregate/, 'the recompute of an hll view does not hash its groups');
unlike($plan =~ s/^.*?Query Text:[^\n]*\n//sr, qr/\$\d/,
	'the recompute is planned for its values under plan_cache_mode = force_generic_plan');

# The batch is written as CREATE TABLE AS writes its rows, so that its
# query runs with parallel workers where PostgreSQL allows (it runs no
# INSERT ... SELECT in parallel): with a role's settings that make a
# parallel plan the cheapest, the recompute's plan gathers from workers.
my $parallel = plans(q{SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET auto_explain.log_analyze = on;
SELECT lambda_views.recompute('views_by_url');
SELECT lambda_views.recompute('users_by_url')});
# (its batch computes count and sum directly: no lambda_views.partial)
$plan = (grep { /Query Text:[^\n]*pg_catalog\.sum\(/ && /Scan[^\n]* on events/ }
	  split /NOTICE:  duration: /, $parallel)[0] // '';
like($plan, qr/Gather/, 'the recompute of a count/sum view gathers from parallel workers');
like($plan, qr/Workers Launched: [1-9]/, 'its parallel workers ran');
$plan = source_plan($parallel, $hll);
like($plan, qr/Gather/, 'the recompute of an hll view gathers from parallel workers');
unlike($plan, qr/HashAggregate|MixedAggregate/, 'and still aggregates sorted groups');
is($node->safe_psql('postgres', diff_sql('public.views_by_url',
	q{SELECT url, count(*) AS views, sum(user_id) AS total FROM public.events GROUP BY url})),
	'0', 'the count/sum view built in parallel equals its query on the source');

# the real-time tail aggregates the unfolded rows of a read the same way
$node->safe_psql('postgres', q{
INSERT INTO events (url, user_id, ts)
SELECT '/p/' || (i % 3000), i % 101, '2026-12-03'::timestamptz FROM generate_series(1, 6000) i;
});
$plan = source_plan(plans(q{SELECT count(*) FROM public.users_by_url}), $hll);
isnt($plan, '', 'auto_explain shows the real-time tail of the hll view');
like($plan, qr/GroupAggregate/, 'the real-time tail of an hll view aggregates sorted groups');
unlike($plan, qr/HashAggregate|MixedAggregate/, 'the real-time tail of an hll view does not hash its groups');

# the folds after the recompute, and exactness against the source
$node->safe_psql('postgres', q{
INSERT INTO events (url, user_id, ts)
SELECT '/p/' || (i % 300), i % 31, '2026-12-03'::timestamptz FROM generate_series(1, 5000) i;
SELECT lambda_views.fold('users_by_url');
SELECT lambda_views.fold('urls_union');
SELECT lambda_views.fold('views_by_url');
});
for my $realtime ('on', 'off')
{
	is($node->safe_psql('postgres', qq{
SET lambda_views.realtime = $realtime;
WITH v AS (SELECT url, day, views, public.hll_cardinality(users) AS users FROM public.users_by_url),
     q AS (SELECT url, date_trunc('day', ts) AS day, count(*) AS views,
                  public.hll_cardinality(public.hll_add_agg(public.hll_hash_bigint(user_id))) AS users
             FROM public.events GROUP BY url, date_trunc('day', ts))
SELECT (SELECT count(*) FROM (SELECT * FROM v EXCEPT ALL SELECT * FROM q) a)
     + (SELECT count(*) FROM (SELECT * FROM q EXCEPT ALL SELECT * FROM v) b)}),
		'0', "the hll view equals its query on the source (realtime $realtime)");
	is($node->safe_psql('postgres', qq{
SET lambda_views.realtime = $realtime;
WITH v AS (SELECT url, public.hll_cardinality(users) AS users FROM public.urls_union),
     q AS (SELECT url, public.hll_cardinality(public.hll_union_agg(
                  public.hll_add(public.hll_empty(), public.hll_hash_bigint(user_id)))) AS users
             FROM public.events GROUP BY url)
SELECT (SELECT count(*) FROM (SELECT * FROM v EXCEPT ALL SELECT * FROM q) a)
     + (SELECT count(*) FROM (SELECT * FROM q EXCEPT ALL SELECT * FROM v) b)}),
		'0', "the hll_union_agg view equals its query on the source (realtime $realtime)");
	is($node->safe_psql('postgres', "SET lambda_views.realtime = $realtime; "
		  . diff_sql('public.views_by_url',
			  q{SELECT url, count(*) AS views, sum(user_id) AS total FROM public.events GROUP BY url})),
		'0', "the count/sum view equals its query on the source (realtime $realtime)");
}

$node->stop;
done_testing();
