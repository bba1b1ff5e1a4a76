# Defects found by review, each made certain rather than left to timing.
#
# Lock order of a view being rebuilt by alter_view: the worker folds the
# replaying version and then switches it in, while a user's fold of the
# serving version folds the replay after its own rows.  Both lock the state
# rows of the two versions, the serving one first; taken in opposite orders
# they deadlock.  The new query calls a function that waits on an advisory
# lock this test holds, so the worker is stopped inside its replay fold
# while the user's fold starts; then the lock is released.  No deadlock is
# detected, both finish, the new version serves and equals its query.
#
# Worker errors: a view whose query fails for some source row is logged by
# the worker with the real SQLSTATE and the original error's detail, hint
# and context (not a bare message under 00000), and the owner sees the
# message in lambda_views.status.last_error; once the query works again the
# view catches up and equals its query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $t0 = time();
my $node = start_node('review_defects', q{
max_worker_processes = 16
lambda_views.naptime = 100
deadlock_timeout = 200ms
log_line_prefix = '%m [%p] %e %b '
});
$node->safe_psql('postgres', 'CREATE EXTENSION lambda_views');

#
# 1. A manual fold of a view while the worker folds and switches in its replay.
#
my $gate_lock = 7070;
# lv_gate returns its argument once the advisory lock $gate_lock is free
# (shared, so it never blocks itself); IMMUTABLE as a lambda view requires.
$node->safe_psql('postgres', qq{
CREATE FUNCTION lv_gate(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM pg_advisory_xact_lock_shared($gate_lock);
    RETURN x;
END
\$\$;
CREATE TABLE src (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    k   int NOT NULL,
    v   int NOT NULL
);
INSERT INTO src (k, v) SELECT i % 50, i % 13 FROM generate_series(1, 2000) i;
});
my $q1 = 'SELECT k, count(*) AS n FROM public.src GROUP BY k';
my $q2 = 'SELECT k % 10 AS k, count(*) AS n, sum(public.lv_gate(v)) AS s FROM public.src GROUP BY k % 10';
$node->safe_psql('postgres',
	"SELECT lambda_views.create_view('v', \$\$$q1\$\$, speed_interval => '200 milliseconds')");
$node->safe_psql('postgres', 'INSERT INTO src (k, v) SELECT i % 50, i FROM generate_series(1, 100) i');
my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM src');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.v'", 30),
	'deadlock: the worker folds version 1');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('v', $q1)),
	'0', 'deadlock: version 1 equals its query');

my $log_offset = -s $node->logfile;

# The gate's holder starts the replay, so the worker's first replay fold
# stops in lv_gate (a session never waits for its own lock).
my $holder = $node->background_psql('postgres');
$holder->query_safe("SELECT pg_advisory_lock($gate_lock)");
$holder->query_safe("SELECT lambda_views.alter_view('v', \$\$$q2\$\$)");
is($node->safe_psql('postgres',
	"SELECT string_agg(version || ':' || role, ',' ORDER BY version) FROM lambda_views.status"),
	'1:serving,2:replaying', 'deadlock: version 2 replays while version 1 serves');
ok(wait_for($node, 'postgres', qq{
	SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE l.locktype = 'advisory' AND l.objid = $gate_lock AND NOT l.granted
	   AND a.backend_type = 'lambda_views worker'}, 30),
	'deadlock: the worker is stopped inside its replay fold');

# The owner folds the serving version by hand; it waits for a lock.
my ($fold_out, $fold_err) = ('', '');
my $fold = IPC::Run::start(
	[
		'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		'-c', "SELECT lambda_views.fold('v') >= 0"
	],
	'>', \$fold_out, '2>', \$fold_err);
ok(wait_for($node, 'postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'client backend' AND query LIKE 'SELECT lambda_views.fold(%'
	   AND wait_event_type = 'Lock'}, 30),
	'deadlock: the manual fold waits for the worker');

# Let the worker go on: it finishes its fold and switches version 2 in.
$holder->query_safe("SELECT pg_advisory_unlock($gate_lock)");
$holder->quit;
$fold->finish;
chomp $fold_out;
is($fold_out, 't', 'deadlock: the manual fold succeeds')
  or diag("fold stderr: $fold_err");
is($fold_err, '', 'deadlock: the manual fold reports no error');
ok(wait_for($node, 'postgres',
	"SELECT count(*) = 1 FROM lambda_views.status WHERE view = 'public.v' AND version = 2 AND role = 'serving'", 30),
	'deadlock: version 2 is switched in under the name v');
$node->safe_psql('postgres', 'INSERT INTO src (k, v) SELECT i % 50, i FROM generate_series(1, 100) i');
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM src');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.v'", 30),
	'deadlock: the worker folds version 2');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('v', $q2)),
	'0', 'deadlock: version 2 (batch + speed) equals its query');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('v', $q2)),
	'0', 'deadlock: version 2 with realtime equals its query');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lambda_views.status WHERE last_error IS NOT NULL'),
	'0', 'deadlock: no fold error recorded for either version');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/deadlock detected/, 'deadlock: no deadlock in the server log');
like($log, qr/lambda_views: public\.v switched from view \d+ to view \d+/,
	'deadlock: the log shows the switch');

#
# 2. A query that fails for some rows: the worker logs the original error.
#
$node->safe_psql('postgres', q{
CREATE ROLE lv_owner LOGIN;
GRANT CREATE ON SCHEMA public TO lv_owner;
CREATE TABLE src_j (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    j   text NOT NULL
);
GRANT SELECT, TRIGGER ON src_j TO lv_owner;
INSERT INTO src_j (j) SELECT format('{"n": %s}', i) FROM generate_series(1, 500) i;
-- invalid json fails in the cast (22P02, with a detail and a context); a
-- negative amount raises 22003 with a detail and a hint
CREATE FUNCTION lv_amount(j text) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
DECLARE
    n int := (j::json ->> 'n')::int;
BEGIN
    IF n < 0 THEN
        RAISE EXCEPTION 'negative amount % in a source row', n
            USING ERRCODE = 'numeric_value_out_of_range',
                  DETAIL = format('The row''s document is %s.', j),
                  HINT = 'Amounts must not be negative.';
    END IF;
    RETURN n;
END
$$;
});
my $qe = 'SELECT public.lv_amount(j) % 5 AS g, count(*) AS n, sum(public.lv_amount(j)) AS s '
  . 'FROM public.src_j GROUP BY public.lv_amount(j) % 5';
$node->safe_psql('postgres', qq{
SET ROLE lv_owner;
SELECT lambda_views.create_view('ve', \$\$$qe\$\$, speed_interval => '200 milliseconds');
});
my $ve_id = $node->safe_psql('postgres', "SELECT view_id FROM lambda_views.status WHERE view = 'public.ve'");

# fold_error waits for the worker to record an error for ve and returns the
# worker's LOG entry for it: its SQLSTATE and its lines (DETAIL, HINT,
# CONTEXT and their continuations included).
sub fold_error
{
	my ($offset, $message) = @_;
	ok(wait_for($node, 'postgres',
		"SELECT last_error IS NOT NULL FROM lambda_views.status WHERE view = 'public.ve'", 30),
		"errors: the failing fold is recorded ($message)");
	my $entry;
	my $deadline = time() + 10;
	while (time() < $deadline)
	{
		my $text = slurp_file($node->logfile, $offset);
		# the LOG line, then the lines of the same entry: the same prefix
		# with another severity, or continuation lines (no prefix)
		if ($text =~ /^(\S+ \S+ \S+ \[(\d+)\] (\S+) lambda_views worker LOG:  lambda_views: fold of view $ve_id failed: \Q$message\E[^\n]*\n(?:(?:\S+ \S+ \S+ \[\2\] \S+ lambda_views worker (?:DETAIL|HINT|CONTEXT):|\t)[^\n]*\n)*)/m)
		{
			$entry = { sqlstate => $3, text => $1 };
			last;
		}
		usleep(100_000);
	}
	ok(defined $entry, "errors: the worker logs the failure ($message)")
	  or return { sqlstate => '', text => '' };
	note("worker log entry:\n$entry->{text}");
	return $entry;
}

# owner_error returns last_error of ve as its owner sees it.
sub owner_error
{
	return $node->safe_psql('postgres',
		"SET ROLE lv_owner; SELECT last_error FROM lambda_views.status WHERE view = 'public.ve'");
}

$node->safe_psql('postgres', q{INSERT INTO src_j (j) SELECT format('{"n": %s}', i) FROM generate_series(1, 100) i});
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM src_j');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.ve'", 30),
	'errors: the worker folds ve while its rows are good');

# A row that is not json: the cast fails.
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', q|INSERT INTO src_j (j) VALUES ('{"n": 7')|);
my $e = fold_error($log_offset, 'invalid input syntax for type json');
is($e->{sqlstate}, '22P02', 'errors: the worker logs SQLSTATE 22P02 of the failed cast');
like($e->{text}, qr/ 22P02 lambda_views worker DETAIL:  The input string ended unexpectedly\./,
	"errors: the worker logs the cast's detail");
like($e->{text}, qr/ 22P02 lambda_views worker CONTEXT:  JSON data, line 1: \{"n": 7/,
	"errors: the worker logs the cast's context");
like(owner_error(), qr/^invalid input syntax for type json/,
	'errors: the owner sees the message in lambda_views.status.last_error');

# Not json counts as 0 from now on; a negative amount raises its own error.
$node->safe_psql('postgres', q{
CREATE OR REPLACE FUNCTION lv_amount(j text) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    BEGIN
        n := (j::json ->> 'n')::int;
    EXCEPTION WHEN invalid_text_representation THEN
        n := 0;
    END;
    IF n < 0 THEN
        RAISE EXCEPTION 'negative amount % in a source row', n
            USING ERRCODE = 'numeric_value_out_of_range',
                  DETAIL = format('The row''s document is %s.', j),
                  HINT = 'Amounts must not be negative.';
    END IF;
    RETURN n;
END
$$;
});
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{INSERT INTO src_j (j) VALUES ('{"n": -3}')});
ok(wait_for($node, 'postgres',
	"SELECT last_error LIKE 'negative amount%' FROM lambda_views.status WHERE view = 'public.ve'", 30),
	'errors: the next failure is recorded');
$e = fold_error($log_offset, 'negative amount -3 in a source row');
is($e->{sqlstate}, '22003', "errors: the worker logs the raised SQLSTATE 22003");
like($e->{text}, qr/ 22003 lambda_views worker DETAIL:  The row's document is \{"n": -3\}\./,
	'errors: the worker logs the raised detail');
like($e->{text}, qr/ 22003 lambda_views worker HINT:  Amounts must not be negative\./,
	'errors: the worker logs the raised hint');
like($e->{text}, qr/ 22003 lambda_views worker CONTEXT:  PL\/pgSQL function public\.lv_amount\(text\) line \d+ at RAISE/,
	'errors: the worker logs where it was raised');
is(owner_error(), 'negative amount -3 in a source row',
	'errors: the owner sees the new message in lambda_views.status.last_error');

# Negative amounts count as 0: the view catches up and is exact again.
$node->safe_psql('postgres', q{
CREATE OR REPLACE FUNCTION lv_amount(j text) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    BEGIN
        n := (j::json ->> 'n')::int;
    EXCEPTION WHEN invalid_text_representation THEN
        n := 0;
    END;
    RETURN GREATEST(n, 0);
END
$$;
});
$node->safe_psql('postgres', q{INSERT INTO src_j (j) SELECT format('{"n": %s}', i) FROM generate_series(1, 50) i});
$last = $node->safe_psql('postgres', 'SELECT max(id) FROM src_j');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $last AND last_fold_at > last_error_at FROM lambda_views.status WHERE view = 'public.ve'", 60),
	'errors: once the query works the worker folds ve again');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('ve', $qe)),
	'0', 'errors: ve (batch + speed) equals its query');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('ve', $qe)),
	'0', 'errors: ve with realtime equals its query');

note(sprintf('total %.1f s', time() - $t0));
$node->stop;
done_testing();
