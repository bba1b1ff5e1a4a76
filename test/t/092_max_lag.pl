# Back-pressure (lambda_views.max_lag): a writer about to INSERT or COPY
# into a source waits while a view of that source is more than max_lag past
# its speed_interval behind (its last fold that caught up began longer ago
# than that), and goes on once the folds have caught up.  To make a view
# fall behind on purpose, a test session holds its speed table locked: the
# worker's next fold of it blocks.  Checked:
#   1. max_lag off (the default): an INSERT does not wait;
#   2. with max_lag an INSERT (also in a WITH) and a COPY wait, before
#      drawing any append key (the view folds around nothing of theirs),
#      shown waiting in pg_stat_activity; a writer of another source does not wait, nor a
#      session that sets max_lag to 0, nor a transaction that has an xid;
#      once the lock goes, the fold catches up and they finish;
#   3. statement_timeout ends a wait (57014) and inserts nothing;
#   4. a view whose fold fails is not waited for;
#   5. a view whose worker has not begun a fold of it for 30 s (stuck) is
#      not waited for: the waiting INSERT goes on;
#   6. a write with max_lag makes the workers fold its views early (as soon
#      as fold_backlog_rows keys wait), and only such a write;
#   7. a writer also waits while a fold of a view has run longer than
#      max_lag, even when the view caught up lately, and goes on once it ends;
# and every view equals its query at the end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $node = start_node('max_lag', qq{
max_worker_processes = 16
lambda_views.naptime = 100
lambda_views.fold_workers = 2
});
$node->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE TABLE a (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, url text NOT NULL,
                ts timestamptz NOT NULL DEFAULT now());
CREATE TABLE b (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device int NOT NULL,
                ts timestamptz NOT NULL DEFAULT now());
CREATE ROLE lag_owner LOGIN;
GRANT CREATE ON SCHEMA public TO lag_owner;
});
$node->safe_psql('postgres', q{
SET ROLE lag_owner;
CREATE TABLE public.c (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int NOT NULL);
RESET ROLE;
});
my %q = (
	'public.a_by_url' => 'SELECT url, count(*) AS n, max(ts) AS last_ts FROM public.a GROUP BY url',
	'public.b_by_device' => 'SELECT device, count(*) AS n FROM public.b GROUP BY device',
	'public.c_by_k' => 'SELECT k, count(*) AS n FROM public.c GROUP BY k',
);
for my $v ('public.a_by_url', 'public.b_by_device')
{
	$node->safe_psql('postgres',
		"SELECT lambda_views.create_view('$v', \$\$$q{$v}\$\$, speed_interval => '200 milliseconds')");
}
$node->safe_psql('postgres',
	"SET ROLE lag_owner; SELECT lambda_views.create_view('public.c_by_k', \$\$$q{'public.c_by_k'}\$\$, "
	  . "speed_interval => '200 milliseconds')");
$node->safe_psql('postgres', q{
INSERT INTO a (url) SELECT '/p/' || (i % 10) FROM generate_series(1, 100) i;
INSERT INTO b (device) SELECT i % 5 FROM generate_series(1, 100) i;
INSERT INTO c (k) SELECT i % 3 FROM generate_series(1, 100) i;
});
ok( wait_for($node, 'postgres', q{
	SELECT bool_and(pending_keys = 0 AND last_fold_at > now() - interval '1 second')
	  FROM lambda_views.status}, 60),
	'the workers fold all three views');

my $speed_a = $node->safe_psql('postgres', q{
	SELECT format('%I.%I', storage_schema, 'v' || view_id || '_speed') FROM lambda_views.views
	 WHERE view_name = 'a_by_url'});

# block_a holds a_by_url's speed table, inserts a row into a and waits until
# the view is behind by more than $behind_ms (its worker's fold blocks)
sub block_a
{
	my ($behind_ms) = @_;
	my $h = $node->background_psql('postgres');
	$h->query_safe('BEGIN');
	$h->query_safe("LOCK TABLE $speed_a IN SHARE MODE");
	$node->safe_psql('postgres', "INSERT INTO a (url) VALUES ('/block')");
	ok( wait_for($node, 'postgres', qq{
		SELECT now() - last_fold_at > interval '$behind_ms milliseconds' AND pending_keys > 0
		  FROM lambda_views.status WHERE view = 'public.a_by_url'}, 30),
		"a_by_url falls behind while its speed table is held ($behind_ms ms)");
	return $h;
}

# waiting says whether the session with application_name $app is waiting
# in lambda_views (wait event type Extension) on its statement
sub waiting
{
	my ($app) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT coalesce(bool_or(state = 'active' AND wait_event_type = 'Extension'), false)
		  FROM pg_stat_activity WHERE application_name = '$app'}) eq 't';
}

sub session
{
	my ($app, $max_lag) = @_;
	my $s = $node->background_psql('postgres', extra_params => [ '-v', 'ON_ERROR_STOP=0' ]);
	$s->query_safe("SET application_name = '$app'");
	$s->query_safe("SET lambda_views.max_lag = '$max_lag'") if defined $max_lag;
	return $s;
}

# ----------------------------------------------------- 1. off by default
my $blocker = block_a(1500);
is($node->safe_psql('postgres', 'SHOW lambda_views.max_lag'), '0', 'lambda_views.max_lag is 0 (off) by default');
my $t0 = time();
$node->safe_psql('postgres', "SET statement_timeout = '5s'; INSERT INTO a (url) VALUES ('/off')");
ok(time() - $t0 < 1.0, 'max_lag off: an INSERT into the source of a view that is behind does not wait');

# ---------------------------------------- 2. INSERT and COPY wait, others not
my $ins = session('lag_insert', '300ms');
my $key_before = $node->safe_psql('postgres',
	"SELECT last_value FROM pg_sequences WHERE sequencename = 'a_id_seq'");
$ins->query_until(qr/sent/, "\\echo sent\nINSERT INTO a (url) VALUES ('/waited');\n");
my $copy = session('lag_copy', '300ms');
$copy->query_until(qr/sent/, "\\echo sent\nCOPY a (url) FROM STDIN;\n/copied\n/copied\n\\.\n");
my $cte = session('lag_cte', '300ms');
$cte->query_until(qr/sent/,
	"\\echo sent\nWITH w AS (INSERT INTO a (url) VALUES ('/cte') RETURNING 1) SELECT count(*) FROM w;\n");
usleep(1_000_000);
ok(waiting('lag_insert'), 'max_lag 300 ms: an INSERT into the source of a view behind waits');
ok(waiting('lag_copy'), 'max_lag 300 ms: a COPY into it waits too');
ok(waiting('lag_cte'), 'max_lag 300 ms: an INSERT in a WITH waits too');
is( $node->safe_psql('postgres', "SELECT last_value FROM pg_sequences WHERE sequencename = 'a_id_seq'"),
	$key_before, 'the waiting writers have drawn no append key yet');
$t0 = time();
$node->safe_psql('postgres',
	"SET lambda_views.max_lag = '300ms'; SET statement_timeout = '5s'; INSERT INTO b (device) VALUES (7)");
ok(time() - $t0 < 1.0, 'a writer of another source does not wait');
$t0 = time();
$node->safe_psql('postgres',
	"SET lambda_views.max_lag = 0; SET statement_timeout = '5s'; INSERT INTO a (url) VALUES ('/zero')");
ok(time() - $t0 < 1.0, 'a session that sets max_lag to 0 does not wait');
# a transaction that has written or locked rows already (it has an xid) may
# hold what the fold needs (a hand-run fold locks the view's state row):
# it does not wait, whatever the lag
$t0 = time();
$node->safe_psql('postgres',
	"SET lambda_views.max_lag = '300ms'; SET statement_timeout = '5s'; BEGIN; "
	  . "SELECT pg_current_xact_id() IS NOT NULL; INSERT INTO a (url) VALUES ('/has-xid'); COMMIT");
ok(time() - $t0 < 1.0, 'a transaction that has an xid already does not wait');
ok(waiting('lag_insert') && waiting('lag_copy'), 'the INSERT and the COPY still wait');

$t0 = time();
$blocker->query_safe('COMMIT');
$blocker->quit;
$ins->query_safe('SELECT 1');
$copy->query_safe('SELECT 1');
$cte->query_safe('SELECT 1');
my $took = time() - $t0;
ok($took < 10, sprintf('once the fold can go on, the INSERT and the COPY finish (%.2f s)', $took));
is($node->safe_psql('postgres', "SELECT count(*) FROM a WHERE url IN ('/waited', '/copied')"),
	'3', 'the waiting writers inserted their rows');
is($node->safe_psql('postgres', "SELECT count(*) FROM a WHERE url = '/cte'"), '1',
	'the INSERT in a WITH inserted its row');
$ins->quit;
$copy->quit;
$cte->quit;

# ------------------------------------------------------ 3. statement_timeout
$blocker = block_a(1500);
my ($rc, $out, $err) = $node->psql('postgres',
	"SET lambda_views.max_lag = '300ms'; SET statement_timeout = '700ms'; INSERT INTO a (url) VALUES ('/timeout')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/57014/, 'statement_timeout ends the wait (57014)');
is($node->safe_psql('postgres', "SELECT count(*) FROM a WHERE url = '/timeout'"),
	'0', 'the statement that timed out inserted nothing');

# ------------------------------------------------------- 5. a stuck worker
# (the fold of a_by_url stays blocked: after 30 s without a new fold of it
# the writers stop waiting for it)
my $stuck = session('lag_stuck', '300ms');
$t0 = time();
$stuck->query_until(qr/sent/, "\\echo sent\nINSERT INTO a (url) VALUES ('/stuck');\n");
usleep(1_000_000);
ok(waiting('lag_stuck'), 'an INSERT waits for the blocked fold');
$stuck->query_safe('SELECT 1');
$took = time() - $t0;
ok($took > 5 && $took < 45,
	sprintf('a fold not begun for 30 s is not waited for: the INSERT went on after %.1f s', $took));
$stuck->quit;
$blocker->query_safe('COMMIT');
$blocker->quit;

# ------------------------------------------------------ 4. a failing view
$node->safe_psql('postgres', 'SET ROLE lag_owner; REVOKE SELECT ON public.c FROM lag_owner');
$node->safe_psql('postgres', 'INSERT INTO c (k) VALUES (1)');
ok( wait_for($node, 'postgres', q{
	SELECT last_error IS NOT NULL AND now() - last_fold_at > interval '1 second'
	  FROM lambda_views.status WHERE view = 'public.c_by_k'}, 30),
	'c_by_k fails to fold (its owner may no longer read c) and falls behind');
$t0 = time();
$node->safe_psql('postgres',
	"SET lambda_views.max_lag = '300ms'; SET statement_timeout = '5s'; INSERT INTO c (k) VALUES (2)");
ok(time() - $t0 < 1.0, 'a view whose fold fails is not waited for');
# (the worker backs off a failing view: fold it by hand once it can read c)
$node->safe_psql('postgres',
	"SET ROLE lag_owner; GRANT SELECT ON public.c TO lag_owner; SELECT lambda_views.fold('public.c_by_k')");

# ------------------------------- 6. paced writers get their views folded early
# In a database of its own (no paced writer or realtime reader there yet), a
# view with a long speed_interval: rows written without max_lag wait for its
# schedule; a write with max_lag makes the workers fold it early, as soon as
# fold_backlog_rows keys wait, instead of a speed_interval after its last
# fold.  No realtime read in between (that would fold early too).
$node->safe_psql('postgres', 'CREATE DATABASE pace');
$node->safe_psql('pace', q{
CREATE EXTENSION lambda_views;
CREATE TABLE e (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int NOT NULL);
INSERT INTO e (k) SELECT i % 7 FROM generate_series(1, 10) i;
});
my $qe = 'SELECT k, count(*) AS n FROM public.e GROUP BY k';
$node->safe_psql('pace',
	"SELECT lambda_views.create_view('public.e_by_k', \$\$$qe\$\$, speed_interval => '30 seconds', initial_batch => false)");
ok(wait_for($node, 'pace', q{
	SELECT pending_keys = 0 AND last_fold_at IS NOT NULL FROM lambda_views.status}, 60),
	'e_by_k (speed_interval 30 s) gets its first fold');
my $first_fold = time();
$node->safe_psql('pace', 'INSERT INTO e (k) SELECT i % 7 FROM generate_series(1, 3000) i');
usleep(3_000_000);
is($node->safe_psql('pace', 'SELECT pending_keys FROM lambda_views.status'), '3000',
	'3000 rows written without max_lag wait for the schedule (3 s later: not folded)');
$t0 = time();
$node->safe_psql('pace', "SET lambda_views.max_lag = '1s'; INSERT INTO e (k) VALUES (1)");
ok(wait_for($node, 'pace', 'SELECT pending_keys = 0 FROM lambda_views.status', 60),
	'after a write with max_lag the view is folded');
my $early = time() - $t0;
ok(time() - $first_fold < 20,
	sprintf('early: %.1f s after the write, %.1f s after the first fold (speed_interval 30 s)',
		$early, time() - $first_fold));
is($node->safe_psql('pace', 'SET lambda_views.realtime = off; ' . diff_sql('public.e_by_k', $qe)),
	'0', 'e_by_k folded early equals its query');

# ------------------------- 7. a fold that runs longer than max_lag is waited for
# e_by_k caught up a moment ago, far within its speed_interval (30 s): by
# the time since its last fold that caught up it is not behind.  Its speed
# table held, the fold a paced write asks for blocks; once that fold has run
# longer than max_lag, a writer waits for it to end.
my $speed_e = $node->safe_psql('pace', q{
	SELECT format('%I.%I', storage_schema, 'v' || view_id || '_speed') FROM lambda_views.views});
my $hold_e = $node->background_psql('pace');
$hold_e->query_safe('BEGIN');
$hold_e->query_safe("LOCK TABLE $speed_e IN SHARE MODE");
$t0 = time();
$node->safe_psql('pace',
	"SET lambda_views.max_lag = '1s'; INSERT INTO e (k) SELECT i % 7 FROM generate_series(1, 3000) i");
ok(time() - $t0 < 1.0, 'a write while no fold runs and the view caught up lately does not wait');
ok( wait_for($node, 'pace', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE query LIKE 'lambda_views: fold public.e_by_k' AND wait_event_type = 'Lock'}, 30),
	'the early fold it asks for runs, blocked on the held speed table');
usleep(1_200_000);
my $run_w = $node->background_psql('pace', extra_params => [ '-v', 'ON_ERROR_STOP=0' ]);
$run_w->query_safe("SET application_name = 'lag_running'");
$run_w->query_safe("SET lambda_views.max_lag = '1s'");
$run_w->query_until(qr/sent/, "\\echo sent\nINSERT INTO e (k) VALUES (5);\n");
usleep(1_000_000);
ok(waiting('lag_running'),
	'max_lag 1 s: a writer waits while a fold of the view has run for more than 1 s');
$hold_e->query_safe('COMMIT');
$hold_e->quit;
$t0 = time();
$run_w->query_safe('SELECT 1');
ok(time() - $t0 < 10, sprintf('once the fold ends the writer goes on (%.1f s)', time() - $t0));
$run_w->quit;
ok(wait_for($node, 'pace', 'SELECT pending_keys = 0 FROM lambda_views.status', 60),
	'e_by_k catches up');
is($node->safe_psql('pace', 'SET lambda_views.realtime = off; ' . diff_sql('public.e_by_k', $qe)),
	'0', 'e_by_k equals its query after the wait');

# every view catches up and equals its query
ok(wait_for($node, 'postgres', 'SELECT bool_and(pending_keys = 0) FROM lambda_views.status', 60),
	'every view catches up');
for my $v (sort keys %q)
{
	is($node->safe_psql('postgres', diff_sql($v, $q{$v})), '0', "$v equals its query");
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql($v, $q{$v})),
		'0', "$v without the real-time tail equals its query");
}

$node->stop;
done_testing();
