# Hot standby: a streaming replica made with pg_basebackup -R reads every
# lambda view exactly for its own snapshot.  On the primary (library
# preloaded, workers folding every 300 ms) pgbench writers insert rows with
# timestamps up to 2 s old and some late ones (minutes to hours, or a day
# back), a fifth of them rolled back, into a plain source and a source partitioned by day,
# while the test folds and recomputes there by hand.  Meanwhile the standby
# reads five views of different kinds (count/sum/avg with a NULL group key,
# min/max with a FILTER, a minute bucket with WHERE and HAVING, a global
# row, an hourly bucket over the partitioned source), each round in one
# REPEATABLE READ transaction with lambda_views.realtime on (the view equals
# its query on the standby's source) and one with it off (the view equals its
# query over the rows up to the speed watermark, read in the same snapshot).
# A standby transaction that took its snapshot before recomputes on the
# primary and reads the views only after they were replayed still reads them
# exactly (hot_standby_feedback keeps the old batch on the primary; without
# it this part fails).  With rows after the batch, the standby reads each
# view with group keys busy, exactly.  On the
# standby every write entry point fails with SQLSTATE 25006, no lambda_views
# process runs and its log shows none; after promotion the workers start and
# fold there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $seconds = 10;    # how long the writers run

# The views: select list, source, WHERE (or undef) and what follows it.
my @views = (
	{
		name => 'ev_device',
		sel => 'device, count(*) AS n, count(value) AS nv, sum(value) AS s, avg(value) AS mean',
		src => 'public.events',
		rest => 'GROUP BY device'
	},
	{
		name => 'ev_kind',
		sel => 'kind, min(value) AS lo, max(value) AS hi, min(ts) AS first_seen, '
		  . 'max(ts) AS last_seen, count(*) FILTER (WHERE value > 900) AS big',
		src => 'public.events',
		rest => 'GROUP BY kind'
	},
	{
		name => 'ev_minute',
		sel => "date_trunc('minute', ts) AS minute, count(*) AS n, sum(value) AS s",
		src => 'public.events',
		where => 'kind <> 3',
		rest => "GROUP BY date_trunc('minute', ts) HAVING count(*) > 1"
	},
	{
		name => 'ev_total',
		sel => 'count(*) AS n, sum(value) AS s, max(ts) AS newest',
		src => 'public.events',
		rest => ''
	},
	{
		name => 'rd_hourly',
		sel => "sensor, date_trunc('hour', ts) AS hour, count(*) AS n, sum(reading) AS s, "
		  . 'avg(reading) AS mean, max(reading) AS hi',
		src => 'public.readings',
		rest => "GROUP BY sensor, date_trunc('hour', ts)"
	});

# query returns a view's own query; restricted to the rows its batch and
# speed layers hold (append key up to the speed watermark, read in the
# caller's snapshot) if $upto.
sub query
{
	my ($v, $upto) = @_;
	my @quals;
	push @quals, "($v->{where})" if defined $v->{where};
	push @quals, folded_sql("public.$v->{name}") if $upto;
	return "SELECT $v->{sel} FROM $v->{src}"
	  . (@quals ? ' WHERE ' . join(' AND ', @quals) : '')
	  . ($v->{rest} ne '' ? " $v->{rest}" : '');
}

# The primary: streaming allowed (wal_level replica, replication in
# pg_hba.conf), library preloaded, workers folding every 300 ms.
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lambda_views'
shared_buffers = 32MB
max_connections = 30
max_worker_processes = 16
lambda_views.naptime = 100
});
$primary->start;

$primary->safe_psql('postgres', q{
CREATE EXTENSION lambda_views;
CREATE TABLE public.events (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts     timestamptz NOT NULL,
    device text,
    kind   int NOT NULL,
    value  int
);
INSERT INTO public.events (ts, device, kind, value)
SELECT now() - (4000 - i) * interval '30 seconds',
       CASE WHEN i % 13 = 0 THEN NULL ELSE 'dev-' || (i % 30) END,
       i % 6, CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37) % 1100 - 100 END
  FROM generate_series(1, 4000) i;

-- readings: partitioned by day around today, plus a default partition
CREATE TABLE public.readings (
    id      bigint GENERATED ALWAYS AS IDENTITY,
    ts      timestamptz NOT NULL,
    sensor  text,
    reading numeric(8,2)
) PARTITION BY RANGE (ts);
CREATE INDEX ON public.readings (id);
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT generate_series(current_date - 3, current_date + 1, interval '1 day')::date
    LOOP
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.readings FOR VALUES FROM (%L) TO (%L)',
                       'readings_' || to_char(d, 'YYYYMMDD'), d::timestamptz, (d + 1)::timestamptz);
    END LOOP;
END $$;
CREATE TABLE public.readings_other PARTITION OF public.readings DEFAULT;
INSERT INTO public.readings (ts, sensor, reading)
SELECT now() - (3000 - i) * interval '1 minute',
       CASE WHEN i % 11 = 0 THEN NULL ELSE 's' || (i % 11) END,
       round(((i * 53) % 2000) / 7.0, 2)
  FROM generate_series(1, 3000) i;
});
for my $v (@views)
{
	$primary->safe_psql('postgres', qq{
SELECT lambda_views.create_view('public.$v->{name}', \$lv\$@{[ query($v) ]}\$lv\$,
                                speed_interval => '300 milliseconds')});
}

# ev_spare gets a second version, so the standby has one to roll back to.
$primary->safe_psql('postgres', q{
SELECT lambda_views.create_view('public.ev_spare',
    $$SELECT kind, count(*) AS n FROM public.events GROUP BY kind$$);
SELECT lambda_views.alter_view('public.ev_spare',
    $$SELECT kind, count(*) AS n, sum(value) AS s FROM public.events GROUP BY kind$$);
});
ok( wait_for($primary, 'postgres', q{
SELECT bool_or(version = 2 AND role = 'serving') AND bool_or(version = 1 AND role = 'retired')
  FROM lambda_views.views
 WHERE family = (SELECT family FROM lambda_views.views WHERE view_schema = 'public' AND view_name = 'ev_spare')}, 60),
	'the second version of ev_spare serves on the primary');
ok( wait_for($primary, 'postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'", 30),
	'a lambda_views worker folds on the primary');

# The standby: pg_basebackup -R writes primary_conninfo and standby.signal.
$primary->backup('base', backup_options => ['-R']);
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base');
ok(-f $standby->data_dir . '/standby.signal', 'pg_basebackup -R wrote standby.signal');
like(slurp_file($standby->data_dir . '/postgresql.auto.conf'),
	qr/^primary_conninfo = /m, 'pg_basebackup -R wrote primary_conninfo');
$standby->append_conf('postgresql.conf', q{
hot_standby_feedback = on
wal_receiver_status_interval = 1s
log_error_verbosity = verbose
});
$standby->start;
catchup();
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'lambda_views', 'the standby preloads lambda_views too');

# catchup waits until the standby has replayed all WAL the primary wrote.
# (pg_stat_replication knows the standby by the application_name its
# walreceiver inherits, so wait on the standby's side.)
sub catchup
{
	my $lsn = $primary->lsn('insert');
	$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'")
	  or die "the standby did not replay up to $lsn";
}

# The standby's reader: one session, as an application's connection would
# be (its cached tail watermarks live across transactions).
my $reader = $standby->background_psql('postgres');

# read_round reads every view on the standby in one REPEATABLE READ
# transaction and returns, per view, the rows in which the view and its query
# differ; with realtime off, the query over the rows up to the speed
# watermark.  Also per view: the rows of the full query the view lacks or
# has extra (0 with realtime on; with it off, nonzero when rows wait), the
# source rows beyond the watermark, the watermark and the batch generation.
sub read_round
{
	my ($realtime) = @_;
	my @sel;
	for my $v (@views)
	{
		push @sel,
		  "SELECT '$v->{name}', ("
		  . diff_sql("public.$v->{name}", query($v, $realtime eq 'off'))
		  . '), ('
		  . diff_sql("public.$v->{name}", query($v, 0))
		  . "), (SELECT count(*) FROM $v->{src} WHERE id > s.speed_watermark), "
		  . 's.speed_watermark, s.batch_gen FROM lambda_views.view_state s '
		  . 'JOIN lambda_views.views w USING (view_id) '
		  . "WHERE w.view_schema = 'public' AND w.view_name = '$v->{name}'";
	}
	my $out = $reader->query_safe(qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL lambda_views.realtime = $realtime;
@{[ join(";\n", @sel) ]};
COMMIT;});
	my %r;
	for my $line (split /\n/, $out)
	{
		my ($name, $diff, $lag, $unfolded, $wm, $gen) = split /\|/, $line;
		$r{$name} = { diff => $diff, lag => $lag, unfolded => $unfolded, wm => $wm, gen => $gen };
	}
	return \%r;
}

# The writers on the primary: an event and three readings per transaction;
# a tenth of them minutes to hours late (the events, 2% of all, a day and
# more); a fifth roll back.
my $script = $primary->basedir . '/insert.sql';
append_to_file($script, q{
\set r random(1, 100)
\set dev random(0, 30)
\set kind random(0, 5)
\set v random(-100, 1000)
\set ms random(0, 2000)
\set late random(60, 7200)
BEGIN;
INSERT INTO public.events (ts, device, kind, value)
VALUES (CASE WHEN :r <= 8 THEN now() - :late * interval '1 second'
             WHEN :r <= 10 THEN now() - interval '1 day' - :late * interval '1 second'
             ELSE now() - :ms * interval '1 millisecond' END,
        CASE WHEN :dev = 0 THEN NULL ELSE 'dev-' || :dev END,
        :kind,
        CASE WHEN :r % 7 = 0 THEN NULL ELSE :v END);
INSERT INTO public.readings (ts, sensor, reading)
SELECT CASE WHEN :r <= 10 THEN now() - :late * i * interval '1 second'
            ELSE now() - :ms * i * interval '1 millisecond' END,
       CASE WHEN (:dev + i) % 11 = 0 THEN NULL ELSE 's' || ((:dev + i) % 11) END,
       round(:v * i / 7.0, 2)
  FROM generate_series(1, 3) i;
\if :r > 80
ROLLBACK;
\else
COMMIT;
\endif
});
my ($bench_out, $bench_err) = ('', '');
my $bench = IPC::Run::start(
	[
		$primary->installed_command('pgbench'), '-n',
		'-h', $primary->host, '-p', $primary->port,
		'-c', 2, '-j', 2, '-T', $seconds, '-R', 300,
		'-f', $script, 'postgres'
	],
	'>', \$bench_out, '2>', \$bench_err);

# While they run: folds and recomputes by hand on the primary at set times,
# and read rounds on the standby in between.
my @names = map { $_->{name} } @views;
my @plan = (
	[ 1.5, [ map { "SELECT lambda_views.fold('public.$_')" } 'ev_device', 'rd_hourly' ] ],
	[ 3.0, [ map { "SELECT lambda_views.recompute('public.$_')" } 'ev_minute', 'rd_hourly' ] ],
	[ 4.5, [ map { "SELECT lambda_views.recompute('public.$_')" } @names ] ],
	[ 6.0, [ map { "SELECT lambda_views.fold('public.$_')" } @names ] ],
	[ 7.0, [ map { "SELECT lambda_views.recompute('public.$_')" } 'ev_total', 'ev_device', 'ev_kind' ] ],
	[ 8.5, [ map { "SELECT lambda_views.recompute('public.$_')" } @names ] ]);
my ($rounds, $bad_on, $bad_off, $tails, $lags, $done) = (0, 0, 0, 0, 0, 0);
my (%wms, %gens);
my $start = time();
while ($bench->pumpable)
{
	my $t = time() - $start;
	while ($done < @plan && $t >= $plan[$done][0])
	{
		$primary->safe_psql('postgres', "$_;") for @{ $plan[$done][1] };
		$done++;
	}
	$rounds++;
	for my $realtime ('on', 'off')
	{
		my $r = read_round($realtime);
		for my $name (@names)
		{
			my $x = $r->{$name};
			if (!defined $x || $x->{diff} ne '0')
			{
				$realtime eq 'on' ? $bad_on++ : $bad_off++;
				diag(sprintf('%.1fs: realtime %s, %s differs from its query in %s rows',
						$t, $realtime, $name, $x ? $x->{diff} : 'all'));
				next;
			}
			$wms{$name}{ $x->{wm} } = 1;
			$gens{$name}{ $x->{gen} } = 1;
			$bad_on++, diag("$name: realtime on differs from the full query")
			  if $realtime eq 'on' && $x->{lag} ne '0';
			$tails++ if $realtime eq 'on' && $x->{unfolded} > 0;
			$lags++ if $realtime eq 'off' && $name eq 'ev_total' && $x->{lag} eq '2';
		}
	}
	$bench->pump_nb;
	usleep(50_000);
}
$bench->finish;
is($bench->result(0), 0, 'pgbench writers finished without error')
  or diag("pgbench stdout:\n$bench_out\npgbench stderr:\n$bench_err");
note("writers: $1") if $bench_out =~ /(number of transactions actually processed: \S+)/;
note(sprintf('%d read rounds on the standby in %.1fs; %d manual steps on the primary',
		$rounds, time() - $start, $done));
is($done, scalar(@plan), 'every manual fold and recompute ran during the inserts');
cmp_ok($rounds, '>=', 5, 'the standby read every view many times during the inserts');
is($bad_on, 0, 'realtime on: every view equaled its query in every standby snapshot');
is($bad_off, 0,
	'realtime off: every view equaled its query up to the speed watermark in every standby snapshot');
cmp_ok($tails, '>', 0, "realtime on read unfolded rows ($tails view reads had a tail)");
cmp_ok($lags, '>', 0, "realtime off lagged the full query while rows waited ($lags reads)");
for my $name (@names)
{
	cmp_ok(scalar(keys %{ $wms{$name} }), '>=', 3,
		"$name: the standby read it at several speed watermarks");
	cmp_ok(scalar(keys %{ $gens{$name} }), '>=', 2,
		"$name: the standby read it across a recompute");
}
is( $primary->safe_psql('postgres',
		q{SELECT (SELECT max(id) > count(*) FROM public.events)
		     AND (SELECT count(DISTINCT tableoid) >= 3 FROM public.readings)}),
	't', 'rows were rolled back, and readings reached several partitions');

# A standby transaction whose snapshot predates recomputes on the primary
# and that reads the views only once those were replayed: the primary keeps
# the batch that snapshot reads (hot_standby_feedback), so the views are
# still exact in it.
my $long = $standby->background_psql('postgres');
$long->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $seen = $long->query_safe('SELECT count(*) FROM public.events');
$primary->safe_psql('postgres', q{
INSERT INTO public.events (ts, device, kind, value)
SELECT now() - i * interval '1 second', 'dev-late', i % 6, i FROM generate_series(1, 200) i;
INSERT INTO public.readings (ts, sensor, reading)
SELECT now() - i * interval '1 second', NULL, i FROM generate_series(1, 200) i;
});
for my $step ('fold', 'recompute', 'fold', 'recompute', 'fold')
{
	$primary->safe_psql('postgres', "SELECT lambda_views.$step('public.$_')") for @names;
}
catchup();
my $partitions = q{
SELECT min(n) FROM (SELECT (SELECT count(*) FROM pg_inherits i
                             WHERE i.inhparent = format('lambda_views_data.v%s_batch', w.view_id)::regclass) AS n
                      FROM lambda_views.views w
                     WHERE w.view_schema = 'public' AND w.view_name IN (}
  . join(', ', map { "'$_'" } @names) . ')) p';
cmp_ok($primary->safe_psql('postgres', $partitions), '>', 1,
	'the primary keeps the old batches while the standby snapshot may read them');
is($long->query_safe('SELECT count(*) FROM public.events'), $seen,
	'the long standby transaction still reads its old snapshot');
for my $v (@views)
{
	is($long->query_safe(diff_sql("public.$v->{name}", query($v, 0))), '0',
		"old standby snapshot after replayed recomputes, realtime on: $v->{name} equals its query");
}
$long->query_safe('SET LOCAL lambda_views.realtime = off');
for my $v (@views)
{
	is($long->query_safe(diff_sql("public.$v->{name}", query($v, 1))), '0',
		"old standby snapshot after replayed recomputes, realtime off: $v->{name} equals its query up to the speed watermark");
}
$long->query_safe('COMMIT');
$long->quit;
# Once it is gone, the old batches go on the primary's next folds.
my $fold_all = 'DO $$BEGIN '
  . join(' ', map { "PERFORM lambda_views.fold('public.$_');" } @names)
  . ' END$$;';
ok( wait_for($primary, 'postgres', "$fold_all\nSELECT ($partitions) = 1", 30),
	'after the standby transaction ends the primary drops the old batches');

# After the last fold and a recompute, realtime off is the whole query too.
$primary->safe_psql('postgres', "SELECT lambda_views.fold('public.$_')") for @names;
$primary->safe_psql('postgres', "SELECT lambda_views.recompute('public.$_')") for @names;
catchup();
for my $realtime ('on', 'off')
{
	my $r = read_round($realtime);
	for my $name (@names)
	{
		is("$r->{$name}{diff}/$r->{$name}{lag}", '0/0',
			"all folded and recomputed, realtime $realtime: $name equals its query on the standby");
	}
}

# Rows folded after that batch, and rows not folded yet: the standby reads
# each view busy (its batch partition but the groups read after it, which
# one query of the speed rows and the tail returns), and exactly.
$primary->safe_psql('postgres', q{
INSERT INTO public.events (ts, device, kind, value)
SELECT now() - i * interval '1 second', 'dev-' || (i % 40), i % 6, i FROM generate_series(1, 300) i;
INSERT INTO public.readings (ts, sensor, reading)
SELECT now() - i * interval '1 second', 's' || (i % 13), i FROM generate_series(1, 300) i;
});
$primary->safe_psql('postgres', "SELECT lambda_views.fold('public.$_')") for @names;
$primary->safe_psql('postgres', q{
INSERT INTO public.events (ts, device, kind, value) VALUES (now(), 'dev-1', 1, 1), (now(), NULL, 2, NULL);
INSERT INTO public.readings (ts, sensor, reading) VALUES (now(), 's1', 1);
});
catchup();
for my $v (@views)
{
	# a view without GROUP BY is one row, always read merged
	next if $v->{rest} eq '';
	like(
		$standby->safe_psql('postgres',
			"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM public.$v->{name}"),
		qr/Lambda View Read: busy/,
		"rows after the batch: the standby reads $v->{name} busy");
	is($standby->safe_psql('postgres', diff_sql("public.$v->{name}", query($v, 0))), '0',
		"rows after the batch, realtime on: $v->{name} equals its query on the standby");
}

# status and catalog read on the standby; no worker runs there.
is( $standby->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE worker_state = 'no worker running') || '/' || count(*)
		    FROM lambda_views.status}),
	$primary->safe_psql('postgres', q{SELECT count(*) || '/' || count(*) FROM lambda_views.views}),
	'status reads on the standby and says no worker runs there');
is( $standby->safe_psql('postgres', 'SELECT count(*) FROM lambda_views.catalog'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM lambda_views.catalog'),
	'catalog reads on the standby');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'lambda_views%'"),
	'0', 'no lambda_views process in pg_stat_activity on the standby');
my @procs;
my ($postmaster) = split /\n/, slurp_file($standby->data_dir . '/postmaster.pid');
for my $pid (children($postmaster))
{
	open(my $fh, '<', "/proc/$pid/cmdline") or next;
	my $cmd = <$fh> // '';
	close($fh);
	push @procs, $cmd if $cmd =~ /lambda_views/;
}
is(scalar(@procs), 0, 'no lambda_views process among the standby postmaster\'s children')
  or diag(join("\n", @procs));
is( $primary->safe_psql('postgres',
		"SELECT count(*) > 1 FROM pg_stat_activity WHERE backend_type LIKE 'lambda_views%'"),
	't', 'while the launcher and a worker run on the primary');

# Every entry point that writes fails on the standby with 25006, cleanly.
my $standby_log_offset = -s $standby->logfile;
for my $t (
	[ 'fold',          "SELECT lambda_views.fold('public.ev_device')" ],
	[ 'recompute',     "SELECT lambda_views.recompute('public.rd_hourly')" ],
	[ 'create_view',   "SELECT lambda_views.create_view('public.ev_new', \$\$SELECT kind, count(*) AS n FROM public.events GROUP BY kind\$\$)" ],
	[ 'drop_view',     "SELECT lambda_views.drop_view('public.ev_kind')" ],
	[ 'alter_view',    "SELECT lambda_views.alter_view('public.ev_total', \$\$SELECT count(*) AS n FROM public.events\$\$)" ],
	[ 'rollback_view', "SELECT lambda_views.rollback_view('public.ev_spare')" ],
	[ 'set_product',   "SELECT lambda_views.set_product('public.ev_device', description => 'events per device')" ],
	[ 'add_check',     "SELECT lambda_views.add_check('public.ev_device', 'positive', \$\$SELECT 1 WHERE false\$\$)" ],
	[ 'check',         "SELECT * FROM lambda_views.check('public.ev_device')" ],
	[ 'purge',         "SELECT lambda_views.purge('public.events', now() - interval '1 year', 'ts')" ])
{
	my ($what, $sql) = @$t;
	my ($rc, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($rc, 0, "$what on the standby fails");
	like($err, qr/ERROR:  25006: /, "$what on the standby: read-only transaction (25006)")
	  or diag($err);
	unlike($err, qr/XX000|PANIC|TRAP|server closed/, "$what on the standby: no internal error");
}
is( read_round('on')->{ev_device}{diff} . read_round('off')->{ev_kind}{diff},
	'00', 'the standby still reads exactly after the refused calls');

# The standby's log: the refused calls, nothing from lambda_views workers,
# no internal error.
my $log = slurp_file($standby->logfile);
unlike($log, qr/lambda_views (launcher|worker)|background worker "lambda_views/,
	'the standby log shows no lambda_views worker');
unlike($log, qr/XX000|PANIC|TRAP|terminated by signal/, 'the standby log shows no internal error');
my @errors = grep { /ERROR:/ } split /\n/, substr($log, $standby_log_offset);
is(scalar(grep { !/ERROR:  25006: / } @errors), 0, 'every error logged on the standby is 25006')
  or diag(join("\n", grep { !/ERROR:  25006: / } @errors));

# After promotion the launcher starts there and its worker folds.
$primary->stop;
$standby->promote;
ok( wait_for($standby, 'postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'lambda_views worker'", 30),
	'after promotion a lambda_views worker runs on the former standby');
$standby->safe_psql('postgres', q{
INSERT INTO public.events (ts, device, kind, value) VALUES (now(), NULL, 2, 7), (now(), 'dev-new', 4, NULL);
INSERT INTO public.readings (ts, sensor, reading) VALUES (now(), 's-new', 1.25);
});
ok( wait_for($standby, 'postgres', qq{
SET lambda_views.realtime = off;
SELECT (@{[ diff_sql('public.ev_device', query($views[0], 0)) ]}) = 0
   AND (@{[ diff_sql('public.rd_hourly', query($views[4], 0)) ]}) = 0}, 30),
	'after promotion the worker folds new rows there');
is($standby->safe_psql('postgres', "SELECT lambda_views.recompute('public.ev_total') > 0"),
	't', 'after promotion recompute works there');

$reader->quit;
$standby->stop;
done_testing();
