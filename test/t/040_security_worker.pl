# Security with running workers: no role escalates through the superuser
# worker, and no view owner's code changes a setting of the worker or of a
# reader.
#
# A role with nothing but CREATE on schema public (granted explicitly: PG15
# no longer grants it) shadows, in public and in a schema of its own, every
# operator of pg_catalog between common types and the mixed-type ones
# pg_catalog only reaches through a cast (numeric * integer, integer *
# interval, ...), plus functions (now(), extract(), int8pl(), nextval(),
# current_setting(), ...) and aggregates.  Each shadow, when called, logs
# the call (a table and the server log) and tries ALTER ROLE ... SUPERUSER.
# It also owns lambda views whose query calls a function that sets
# search_path (to put its shadows first), work_mem, statement_timeout,
# lock_timeout, default_transaction_read_only, lambda_views.realtime,
# TimeZone, DateStyle, extra_float_digits, role and session_authorization
# with set_config(..., false), and whose source has a forced row security
# policy that does the same.  The worker folds and recomputes these views
# and another owner's views round after round, and a third role reads
# lambda_views.status (which runs pending_rows for every view it may read)
# and the attacker's views (which run its query in the tail).
#
# Shown: the attacker never becomes a superuser; no shadow ever runs (the
# log table and the server log stay empty) although the leaking code did
# run in the worker and in the reader's session; the reader's settings are
# the same after reading; the worker's settings, as seen by a probe in the
# other owner's view each round, stay the defaults; and that view stays
# exact (EXCEPT ALL both ways against its query on the source).
#
# Then the reader defines a view of its own over the other owner's view:
# an alter_view that would change the columns it reads is refused (2BP01);
# one that keeps them is switched in by the worker on the same relation,
# which the reader's view then reads.  While the reader keeps a transaction
# open on the relation, the worker defers the switch without blocking other
# readers or other views.  Finally a speed_interval the worker cannot count
# ('25 days') is refused, and a view with the longest accepted intervals is
# folded once, not every round, and the workers use little CPU.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use Time::HiRes qw(time usleep);

my $t0 = time();
my ($rc, $out, $err);
my $node = start_node('security_worker', q{
max_worker_processes = 16
lambda_views.naptime = 100
lambda_views.fold_workers = 1
log_line_prefix = '%m [%p] %b '
});
$node->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE ROLE lvw_owner LOGIN;
CREATE ROLE lvw_attacker LOGIN;
CREATE ROLE lvw_reader LOGIN;
GRANT CREATE ON SCHEMA public TO lvw_owner, lvw_attacker;
-- a schema of its own, as roles often have
CREATE SCHEMA lvw_evil AUTHORIZATION lvw_attacker;
});

# as_role runs SQL in a session of its own, logged in as the role.
sub as_role
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

#
# The attacker's traps.
#
as_role('lvw_attacker', q{
CREATE TABLE public.lvw_log (who text, backend text, what text, at timestamptz DEFAULT pg_catalog.clock_timestamp());
GRANT SELECT, INSERT ON public.lvw_log TO PUBLIC;
-- lvw_trap: called by every shadow; runs with the rights of whoever calls it
CREATE FUNCTION public.lvw_trap(what text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
DECLARE
    backend text := (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid());
BEGIN
    RAISE LOG 'LVW_TRAP % ran as % in %', what, current_user, backend;
    BEGIN
        INSERT INTO public.lvw_log (who, backend, what) VALUES (current_user, backend, what);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    BEGIN
        EXECUTE 'ALTER ROLE lvw_attacker SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
END $$;
GRANT USAGE ON SCHEMA lvw_evil TO PUBLIC;
});
my $shadows = as_role('lvw_attacker', q{
DO $gen$
DECLARE
    types text[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'double precision', 'interval',
                          'timestamp with time zone', 'text', 'oid', 'xid8', 'boolean'];
    ops text[] := ARRAY['+', '-', '*', '/', '%', '<', '<=', '>', '>=', '=', '<>', '||'];
    funcs text[] := ARRAY['now()', 'clock_timestamp()', 'statement_timestamp()', 'transaction_timestamp()',
        'pg_backend_pid()', 'pg_current_xact_id()', 'txid_current()', 'current_setting(text)',
        'current_setting(text, boolean)', 'set_config(text, text, boolean)', 'nextval(regclass)',
        'currval(regclass)', 'setval(regclass, bigint)', 'pg_sequence_last_value(regclass)',
        'length(text)', 'lower(text)', 'upper(text)', 'quote_ident(text)', 'quote_literal(text)',
        'format(text)', 'date_trunc(text, timestamp with time zone)',
        'date_part(text, timestamp with time zone)', 'date_part(text, interval)',
        'extract(text, timestamp with time zone)', 'extract(text, interval)',
        'int8pl(bigint, bigint)', 'int8mi(bigint, bigint)', 'int8mul(bigint, bigint)',
        'int8le(bigint, bigint)', 'int4pl(integer, integer)', 'numeric_mul(numeric, numeric)',
        'interval_mul(interval, double precision)',
        'timestamptz_pl_interval(timestamp with time zone, interval)',
        'timestamptz_mi(timestamp with time zone, timestamp with time zone)',
        'generate_series(bigint, bigint)', 'to_regclass(text)', 'pg_get_userbyid(oid)',
        'has_table_privilege(oid, text)', 'pg_has_role(oid, text)',
        'pg_try_advisory_xact_lock(bigint)', 'pg_advisory_xact_lock(bigint)'];
    t1 text; t2 text; op text; sig text; sch text; rt text; fn text; n int := 0;
    p record;
BEGIN
    FOREACH sch IN ARRAY ARRAY['public', 'lvw_evil'] LOOP
        FOREACH op IN ARRAY ops LOOP
            FOREACH t1 IN ARRAY types LOOP
                FOREACH t2 IN ARRAY types LOOP
                    BEGIN
                        EXECUTE format('SELECT pg_catalog.format_type(pg_catalog.pg_typeof(NULL::%s OPERATOR(pg_catalog.%s) NULL::%s), NULL)',
                                       t1, op, t2) INTO rt;
                    EXCEPTION WHEN OTHERS THEN
                        CONTINUE;
                    END;
                    n := n + 1;
                    fn := format('%I.lvw_op_%s', sch, n);
                    EXECUTE format('CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog '
                                   'AS $f$ BEGIN PERFORM public.lvw_trap(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $f$',
                                   fn, t1, t2, rt, format('%s.%s(%s, %s)', sch, op, t1, t2), op);
                    EXECUTE format('CREATE OPERATOR %I.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
                                   sch, op, t1, t2, fn);
                END LOOP;
            END LOOP;
        END LOOP;
        FOREACH sig IN ARRAY funcs LOOP
            SELECT pr.proname, pg_catalog.pg_get_function_arguments(pr.oid) AS args,
                   pg_catalog.pg_get_function_result(pr.oid) AS result, pr.proretset, pr.pronargs
              INTO p FROM pg_catalog.pg_proc pr WHERE pr.oid = ('pg_catalog.' || sig)::regprocedure;
            EXECUTE format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog '
                           'AS $f$ BEGIN PERFORM public.lvw_trap(%L); %s pg_catalog.%I(%s); %s END $f$',
                           sch, p.proname, p.args, p.result, sch || '.' || sig,
                           CASE WHEN p.proretset THEN 'RETURN QUERY SELECT * FROM'
                                WHEN p.result = 'void' THEN 'PERFORM'
                                ELSE 'RETURN' END,
                           p.proname,
                           (SELECT coalesce(string_agg(format('$%s', i), ', '), '') FROM generate_series(1, p.pronargs) i),
                           CASE WHEN p.proretset OR p.result = 'void' THEN 'RETURN;' ELSE '' END);
            n := n + 1;
        END LOOP;
        -- aggregates
        EXECUTE format('CREATE FUNCTION %I.lvw_agg_step(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql '
                       'SET search_path = pg_catalog AS $f$ BEGIN PERFORM public.lvw_trap(%L); '
                       'RETURN s OPERATOR(pg_catalog.+) coalesce(v, 0); END $f$', sch, sch || ' aggregate');
        EXECUTE format('CREATE FUNCTION %I.lvw_count_step(s bigint) RETURNS bigint LANGUAGE plpgsql '
                       'SET search_path = pg_catalog AS $f$ BEGIN PERFORM public.lvw_trap(%L); '
                       'RETURN s OPERATOR(pg_catalog.+) 1; END $f$', sch, sch || '.count(*)');
        EXECUTE format('CREATE AGGREGATE %I.count(*) (SFUNC = %I.lvw_count_step, STYPE = bigint, INITCOND = 0)', sch, sch);
        EXECUTE format('CREATE AGGREGATE %I.sum(bigint) (SFUNC = %I.lvw_agg_step, STYPE = bigint, INITCOND = 0)', sch, sch);
        EXECUTE format('CREATE AGGREGATE %I.max(bigint) (SFUNC = %I.lvw_agg_step, STYPE = bigint, INITCOND = 0)', sch, sch);
        EXECUTE format('CREATE AGGREGATE %I.coalesce(bigint) (SFUNC = %I.lvw_agg_step, STYPE = bigint, INITCOND = 0)', sch, sch);
        n := n + 6;
    END LOOP;
    RAISE NOTICE 'shadows: %', n;
END
$gen$;
SELECT count(*) FROM pg_operator WHERE oprnamespace IN ('public'::regnamespace, 'lvw_evil'::regnamespace);
});
cmp_ok($shadows, '>', 500, "the attacker shadows $shadows operators in public and in its own schema");

# The attacker's views: their query and their source's row security policy
# change every setting they can, for good (set_config(..., false)).
as_role('lvw_attacker', q{
CREATE FUNCTION lvw_evil.leak_settings() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'lvw_evil, public, pg_catalog', false);
    PERFORM pg_catalog.set_config('work_mem', '77kB', false);
    PERFORM pg_catalog.set_config('statement_timeout', '7777', false);
    PERFORM pg_catalog.set_config('lock_timeout', '7777', false);
    PERFORM pg_catalog.set_config('default_transaction_read_only', 'on', false);
    PERFORM pg_catalog.set_config('lambda_views.realtime', 'off', false);
    PERFORM pg_catalog.set_config('TimeZone', 'Pacific/Chatham', false);
    PERFORM pg_catalog.set_config('DateStyle', 'SQL, DMY', false);
    PERFORM pg_catalog.set_config('extra_float_digits', '-7', false);
    BEGIN
        PERFORM pg_catalog.set_config('role', 'lvw_attacker', false);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    BEGIN
        PERFORM pg_catalog.set_config('session_authorization', 'lvw_attacker', false);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RAISE LOG 'LVW_LEAK ran as % in %', current_user,
        (SELECT a.backend_type FROM pg_catalog.pg_stat_activity a
          WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid());
    RETURN true;
END $$;
CREATE FUNCTION lvw_evil.leak(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM lvw_evil.leak_settings();
    RETURN x;
END $$;
CREATE TABLE public.lvw_a_src (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int NOT NULL, v int NOT NULL);
INSERT INTO public.lvw_a_src (k, v) SELECT i % 7, i FROM generate_series(1, 500) i;
});
# (each in a session of its own: the code leaks into the attacker's own
# session, where nothing undoes it)
as_role('lvw_attacker', q{
SELECT lambda_views.create_view('public.lvw_a_fast',
    'SELECT k, count(*) AS n, sum(lvw_evil.leak(v)) AS s FROM public.lvw_a_src GROUP BY k',
    speed_interval => '100 milliseconds', batch_interval => '1 second');
});
as_role('lvw_attacker', q{
-- folded once, then not for a day: its rows stay pending for the reader
SELECT lambda_views.create_view('public.lvw_a_slow',
    'SELECT k, max(lvw_evil.leak(v)) AS top FROM public.lvw_a_src GROUP BY k',
    speed_interval => '1 day');
});
as_role('lvw_attacker', q{
GRANT SELECT ON public.lvw_a_fast, public.lvw_a_slow TO PUBLIC;
-- last: from now on the policy applies to the attacker's own statements too
CREATE POLICY lvw_leak ON public.lvw_a_src USING (lvw_evil.leak_settings());
ALTER TABLE public.lvw_a_src ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.lvw_a_src FORCE ROW LEVEL SECURITY;
});

# The other owner's view: its probe logs the settings the worker's session
# has while the view's query runs (the view's pinned search_path, TimeZone,
# DateStyle and IntervalStyle aside).
my $qo = 'SELECT k, count(*) AS n, sum(public.lvw_probe(v)) AS s, min(v) AS lo, max(v) AS hi '
  . 'FROM public.lvw_o_src GROUP BY k';
my $qo_truth = 'SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi '
  . 'FROM public.lvw_o_src GROUP BY k';
as_role('lvw_owner', qq{
SET search_path = pg_catalog, public;
CREATE FUNCTION public.lvw_probe(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$\$
BEGIN
    IF x OPERATOR(pg_catalog.%) 50 OPERATOR(pg_catalog.=) 0 THEN
        RAISE LOG 'LVW_PROBE user=% work_mem=% statement_timeout=% lock_timeout=% read_only=% realtime=% extra_float_digits=% search_path=%',
            current_user, pg_catalog.current_setting('work_mem'), pg_catalog.current_setting('statement_timeout'),
            pg_catalog.current_setting('lock_timeout'), pg_catalog.current_setting('default_transaction_read_only'),
            pg_catalog.current_setting('lambda_views.realtime'), pg_catalog.current_setting('extra_float_digits'),
            pg_catalog.current_setting('search_path');
    END IF;
    RETURN x;
END \$\$;
CREATE TABLE public.lvw_o_src (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k int NOT NULL, v int NOT NULL);
INSERT INTO public.lvw_o_src (k, v) SELECT i % 11, i FROM generate_series(1, 500) i;
SELECT lambda_views.create_view('public.lvw_o_view', \$\$$qo\$\$,
    speed_interval => '100 milliseconds', batch_interval => '1 second');
});

ok(wait_for($node, 'postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker' AND datname = 'postgres'", 30),
	'a lambda_views worker runs in the database');

# rounds: rows into both sources, the worker folds them (and recomputes every
# second); the reader reads status and the attacker's views meanwhile.
my $reader_settings = q{SELECT current_setting('search_path') || ' ' || current_setting('work_mem') || ' '
  || current_setting('statement_timeout') || ' ' || current_setting('lock_timeout') || ' '
  || current_setting('default_transaction_read_only') || ' ' || current_setting('lambda_views.realtime') || ' '
  || current_setting('TimeZone') || ' ' || current_setting('DateStyle') || ' '
  || current_setting('extra_float_digits') || ' ' || current_user || ' ' || session_user};
for my $round (1 .. 5)
{
	$node->safe_psql('postgres', qq{
		INSERT INTO public.lvw_o_src (k, v) SELECT i % 11, i + $round * 1000 FROM generate_series(1, 200) i;
		INSERT INTO public.lvw_a_src (k, v) SELECT i % 7, i FROM generate_series(1, 5) i;
	});
	# then unqualified calls that would pick the attacker's shadows if its
	# search_path had stayed (only exact matches: a mixed-type operator
	# would pick a shadow in public under any search_path with public)
	my $out = as_role('lvw_reader', qq{
SET work_mem = '3MB';
SET TimeZone = 'UTC';
$reader_settings;
SELECT count(*) > 0 FROM lambda_views.status WHERE pending_rows > 0;
SELECT count(*) > 0 FROM public.lvw_a_slow;
SELECT count(*) > 0 FROM public.lvw_a_fast;
$reader_settings;
SELECT 2::bigint + 3::bigint, now() IS NOT NULL, length('abc'), 5::bigint <= 7::bigint;
});
	my @lines = split /\n/, $out;
	is($lines[4], $lines[0],
		"round $round: the reader's settings are unchanged after reading status and the attacker's views");
	is(join(',', @lines[1 .. 3]), 't,t,t', "round $round: the reader read pending rows and both views");
	my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM public.lvw_o_src');
	ok(wait_for($node, 'postgres',
		"SELECT speed_watermark >= $last FROM lambda_views.status WHERE view = 'public.lvw_o_view'", 30),
		"round $round: the worker folded the other owner's view up to the last row");
	is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('lvw_o_view', $qo_truth)),
		'0', "round $round: the other owner's view (batch + speed) equals its query");
}
# one more recompute of each view by the worker after the last round
my $since = $node->safe_psql('postgres', 'SELECT now()');
ok(wait_for($node, 'postgres', qq{
	SELECT count(*) = 2 FROM lambda_views.status
	 WHERE view IN ('public.lvw_o_view', 'public.lvw_a_fast') AND last_recompute_at > '$since'}, 30),
	'the worker recomputed both views with a batch_interval since');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('lvw_o_view', $qo_truth)),
	'0', "the other owner's view equals its query after the recomputes");
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('lvw_o_view', $qo_truth)),
	'0', "the other owner's view with realtime equals its query");
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('lvw_a_fast',
	'SELECT k, count(*) AS n, sum(v) AS s FROM public.lvw_a_src GROUP BY k')),
	'0', "the attacker's own view equals its query too");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM lambda_views.status WHERE last_error IS NOT NULL"),
	'0', 'no view recorded an error');

#
# What ran, and as whom.
#
is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'lvw_attacker'"),
	'f', 'the attacker never became a superuser');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.lvw_log'),
	'0', 'no shadow operator, function or aggregate ran (log table)');
my $log = slurp_file($node->logfile);
my @traps = ($log =~ /(LOG:  LVW_TRAP [^\n]*)/g);
is(scalar(@traps), 0, 'no shadow ran (server log)')
  or diag(join("\n", @traps[0 .. ($#traps < 9 ? $#traps : 9)]));
my @leaks_worker = ($log =~ /lambda_views worker [^\n]*LOG:  LVW_LEAK/g);
my @leaks_reader = ($log =~ /client backend [^\n]*LOG:  LVW_LEAK ran as lvw_attacker/g);
cmp_ok(scalar(@leaks_worker), '>', 0,
	'the leaking code ran in the worker (' . scalar(@leaks_worker) . ' times)');
cmp_ok(scalar(@leaks_reader), '>', 0,
	"the leaking code ran in the reader's sessions, as its owner (" . scalar(@leaks_reader) . ' times)');
my @probes = ($log =~ /lambda_views worker [^\n]*LOG:  LVW_PROBE ([^\n]*)/g);
cmp_ok(scalar(@probes), '>', 0, 'the probe ran in the worker (' . scalar(@probes) . ' times)');
my @bad_probes = grep {
	$_ ne 'user=lvw_owner work_mem=4MB statement_timeout=0 lock_timeout=0 read_only=off '
	  . 'realtime=on extra_float_digits=1 search_path=pg_catalog, pg_temp'
} @probes;
is(scalar(@bad_probes), 0, "the worker's settings stay its own across the attacker's folds")
  or diag(join("\n", @bad_probes[0 .. ($#bad_probes < 4 ? $#bad_probes : 4)]));
# ... and in the very worker process where the leaking code had run before
my (%leaked, $probes_after_leak);
while ($log =~ /\[(\d+)\] lambda_views worker [^\n]*LOG:  LVW_(LEAK|PROBE)/g)
{
	$leaked{$1} = 1 if $2 eq 'LEAK';
	$probes_after_leak++ if $2 eq 'PROBE' && $leaked{$1};
}
cmp_ok($probes_after_leak // 0, '>', 0,
	'the probe ran in a worker process after the leaking code had run in it');

#
# A view another role defines over a lambda view, and a reader's open
# transaction, hold up no switch of the worker for good: a new version that
# keeps the columns takes over the relation itself, so the reader's view
# reads it; one that would change them is refused at alter_view; while a
# reader's transaction holds the relation the worker defers the switch
# (other readers and other views do not wait), and makes it once it ends.
#
$node->safe_psql('postgres', q{
GRANT SELECT ON public.lvw_o_view TO lvw_reader;
GRANT CREATE ON SCHEMA public TO lvw_reader;
});
as_role('lvw_reader', 'CREATE VIEW public.lvw_r_over AS SELECT k, n, s FROM public.lvw_o_view');
my $relid = $node->safe_psql('postgres', "SELECT 'public.lvw_o_view'::regclass::oid");
($rc, $out, $err) = $node->psql('postgres',
	"SELECT lambda_views.alter_view('public.lvw_o_view', 'SELECT k, avg(v) AS n FROM public.lvw_o_src GROUP BY k')",
	extra_params => [ '-U', 'lvw_owner', '-v', 'VERBOSITY=verbose' ]);
like($err, qr/2BP01.*public\.lvw_r_over/s,
	"a new query that changes the columns the reader's view reads is refused (2BP01), naming that view");
my $holder = $node->background_psql('postgres', extra_params => [ '-U', 'lvw_reader' ]);
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT count(*) FROM public.lvw_r_over');
my $qo2 = 'SELECT k, count(*) AS n, sum(public.lvw_probe(v)) AS s, min(v) AS lo, max(v) AS hi, '
  . 'sum(k) AS ksum FROM public.lvw_o_src GROUP BY k';
my $qo2_truth = 'SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi, sum(k) AS ksum '
  . 'FROM public.lvw_o_src GROUP BY k';
as_role('lvw_owner', "SELECT lambda_views.alter_view('public.lvw_o_view', \$\$$qo2\$\$)");
$node->safe_psql('postgres',
	'INSERT INTO public.lvw_o_src (k, v) SELECT i % 11, i FROM generate_series(1, 100) i');
my $last = $node->safe_psql('postgres', 'SELECT max(id) FROM public.lvw_o_src');
ok(wait_for($node, 'postgres', qq{
	SELECT count(*) = 2 FROM lambda_views.status
	 WHERE family = (SELECT family FROM lambda_views.status WHERE view = 'public.lvw_o_view')
	   AND speed_watermark >= $last}, 30),
	'while the reader holds the relation, the worker folds both versions up to the head');
sleep(1);
is($node->safe_psql('postgres', q{
	SELECT string_agg(version || ':' || role, ',' ORDER BY version) FROM lambda_views.status
	 WHERE family = (SELECT family FROM lambda_views.status WHERE view = 'public.lvw_o_view')}),
	'1:serving,2:replaying', 'the switch waits for the reader');
is($node->safe_psql('postgres', "SET statement_timeout = '2s'; SELECT count(*) > 0 FROM public.lvw_o_view"),
	't', 'other readers of the relation do not wait');
$node->safe_psql('postgres', 'INSERT INTO public.lvw_a_src (k, v) VALUES (1, 1)');
my $alast = $node->safe_psql('postgres', 'SELECT max(id) FROM public.lvw_a_src');
ok(wait_for($node, 'postgres',
	"SELECT speed_watermark >= $alast FROM lambda_views.status WHERE view = 'public.lvw_a_fast'", 30),
	'the worker goes on folding other views');
$holder->query_safe('COMMIT');
$holder->quit;
ok(wait_for($node, 'postgres', q{
	SELECT role = 'serving' AND version = 2 FROM lambda_views.status WHERE view = 'public.lvw_o_view'}, 30),
	'once the reader is done, the worker switches the new version in');
is($node->safe_psql('postgres', "SELECT 'public.lvw_o_view'::regclass::oid"), $relid,
	'the relation is the same one');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = off; ' . diff_sql('lvw_o_view', $qo2_truth)),
	'0', 'the new version equals its query');
is($node->safe_psql('postgres', 'SET lambda_views.realtime = on; ' . diff_sql('lvw_r_over',
	"SELECT k, n, s FROM ($qo2_truth) q")),
	'0', "the reader's view reads the new version, and equals its query");

#
# Intervals the worker can schedule.
#
($rc, $out, $err) = $node->psql('postgres',
	"SELECT lambda_views.create_view('public.lvw_o_bad', 'SELECT k, count(*) AS n FROM public.lvw_o_src GROUP BY k', speed_interval => '25 days')",
	extra_params => [ '-U', 'lvw_owner', '-v', 'VERBOSITY=verbose' ]);
like($err, qr/22023/, "speed_interval '25 days' is refused (22023)");
as_role('lvw_owner', q{
SELECT lambda_views.create_view('public.lvw_o_daily',
    'SELECT k, count(*) AS n FROM public.lvw_o_src GROUP BY k',
    speed_interval => '1 day', batch_interval => '100 years');
});
ok(wait_for($node, 'postgres',
	"SELECT last_fold_at IS NOT NULL AND last_recompute_at IS NOT NULL FROM lambda_views.status WHERE view = 'public.lvw_o_daily'", 30),
	'the view with the longest intervals was folded and recomputed once');
my $before = $node->safe_psql('postgres',
	"SELECT last_fold_at || ' ' || last_recompute_at FROM lambda_views.status WHERE view = 'public.lvw_o_daily'");
$node->safe_psql('postgres', 'INSERT INTO public.lvw_o_src (k, v) VALUES (1, 1), (2, 2), (3, 3)');

# worker CPU over three seconds: all lambda_views workers and the launcher
sub workers_cpu_ticks
{
	my $pids = $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type LIKE 'lambda_views%'");
	my $ticks = 0;
	for my $pid (split / /, $pids)
	{
		open(my $fh, '<', "/proc/$pid/stat") or next;
		my $stat = <$fh>;
		close($fh);
		my @f = split / /, (split /\) /, $stat)[1];
		$ticks += $f[11] + $f[12];    # utime, stime
	}
	return $ticks;
}
my $cpu0 = workers_cpu_ticks();
my $w0 = time();
sleep(3);
my $cpu_s = (workers_cpu_ticks() - $cpu0) / 100.0;
my $wall = time() - $w0;
cmp_ok($cpu_s, '<', 0.5 * $wall, sprintf('the workers used %.2f s of CPU in %.1f s', $cpu_s, $wall));
is($node->safe_psql('postgres',
	"SELECT last_fold_at || ' ' || last_recompute_at FROM lambda_views.status WHERE view = 'public.lvw_o_daily'"),
	$before, 'the view with the longest intervals is not folded or recomputed again');
is($node->safe_psql('postgres',
	"SELECT pending_rows FROM lambda_views.status WHERE view = 'public.lvw_o_daily'"),
	'3', 'its new rows wait for the next speed_interval');

$node->stop;
diag(sprintf('040_security_worker took %.1f s', time() - $t0));
done_testing();
