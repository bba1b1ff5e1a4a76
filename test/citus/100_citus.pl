# Lambda views over a Citus hash-distributed source, on a coordinator and
# two workers (Citus 12 syncs metadata: every node accepts writes and draws
# append keys from its own range, id >> 48 = its group).  Checks, each
# against the view's query run on the source (EXCEPT ALL both ways):
# storage distributed and co-located with the source; the fold and the
# recompute pushed down (EXPLAIN); reads routed to one shard by a filter on
# the distribution column, the real-time tail included, and real-time
# reads of rows other nodes drew keys for; a swap waiting for a reader of
# the read mark; concurrent inserts through all three
# nodes with aborts and savepoints while the workers fold and recompute;
# a writer left open at one node holds back that node's range only; an
# in-doubt prepared transaction on a shard (what a lost COMMIT PREPARED
# leaves, built by hand and made for real by killing a coordinator's
# connection to a worker between PREPARE and COMMIT PREPARED) holds the
# folds back until Citus' recovery commits it (folded
# once) or rolls another back (never folded); the guard on every node; a
# shard moved each way (block_writes, then logical) during folds; a
# node added during ingest; and
# the refusals with their SQLSTATEs (a query that depends on TimeZone in a
# session whose TimeZone the workers do not share among them).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaViewsTest;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $conf = qq{
shared_preload_libraries = 'citus,lambda_views'
listen_addresses = '127.0.0.1'
max_prepared_transactions = 20
max_connections = 60
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
lambda_views.naptime = '100ms'
citus.recover_2pc_interval = -1
};

# citus_node starts one node with Citus and lambda_views preloaded.
sub citus_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', $conf);
	$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	return $node;
}

my $coord = citus_node('coord');
my $w1 = citus_node('worker1');
my $w2 = citus_node('worker2');
$coord->safe_psql('postgres', qq{
SELECT citus_set_coordinator_host('127.0.0.1', ${\ $coord->port});
SELECT citus_add_node('127.0.0.1', ${\ $w1->port});
SELECT citus_add_node('127.0.0.1', ${\ $w2->port});
});

my $q1 = 'SELECT url, count(*) AS n, sum(x) AS s, max(x) AS hi, avg(x) AS mean FROM public.ev GROUP BY url';
my $q2 = 'SELECT url, g, count(*) AS n, min(x) AS lo FROM public.ev WHERE x % 3 <> 0 GROUP BY url, g';

$coord->safe_psql('postgres', qq{
CREATE EXTENSION lambda_views;
CREATE TABLE public.ev (id bigserial, url text NOT NULL, g int, x int, ts timestamptz DEFAULT now(),
    PRIMARY KEY (id, url));
SELECT create_distributed_table('public.ev', 'url', shard_count => 8);
CREATE INDEX ON public.ev (id);
INSERT INTO public.ev (url, g, x) SELECT '/p' || (i % 40), i % 7, i % 1000 FROM generate_series(1, 3000) i;
SELECT lambda_views.create_view('public.v1', \$\$$q1\$\$, speed_interval => '200 ms');
SELECT lambda_views.create_view('public.v2', \$\$$q2\$\$, speed_interval => '200 ms', batch_interval => '2 seconds');
});
is($w1->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'lambda_views'"),
	$coord->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'lambda_views'"),
	'CREATE EXTENSION reached the workers');

# 1. storage distributed, co-located with the source
is($coord->safe_psql('postgres', q{
SELECT count(DISTINCT p.colocationid) || ' ' || count(*)
  FROM pg_dist_partition p
 WHERE p.logicalrelid IN ('public.ev'::regclass, 'lambda_views_data.v1_speed'::regclass,
                          'lambda_views_data.v1_batch'::regclass, 'lambda_views_data.v2_speed'::regclass,
                          'lambda_views_data.v2_batch'::regclass)}),
	'1 5', 'speed and batch tables are distributed and co-located with the source');

# hold_mark returns SQL that opens a transaction holding the view's read
# lock: no fold or swap of it commits until that transaction ends, so a
# statement after it sees the state row the view is read with (a statement
# that compares the view with folded_sql must not see an older one)
sub hold_mark
{
	my ($view) = @_;
	return "BEGIN; DO \$\$ BEGIN PERFORM FROM lambda_views.serving_mark("
	  . "(SELECT view_id FROM lambda_views.views WHERE view_name = '$view')); END \$\$;";
}

# the view equals its query; realtime on and off (off: once nothing is pending)
sub exact
{
	my ($what) = @_;
	ok(wait_for($coord, 'postgres',
			"SELECT bool_and(pending_rows = 0) FROM lambda_views.status", 60),
		"$what: the workers folded every row");
	for my $rt ('on', 'off')
	{
		is($coord->safe_psql('postgres', "SET lambda_views.realtime = $rt;" . diff_sql('public.v1', $q1)),
			'0', "$what: v1 equals its query (realtime $rt)");
		is($coord->safe_psql('postgres', "SET lambda_views.realtime = $rt;" . diff_sql('public.v2', $q2)),
			'0', "$what: v2 equals its query (realtime $rt)");
	}
}
exact('after create_view');

# 2. pushed down: one task per shard, no pull to the coordinator
my $fold_sql = $coord->safe_psql('postgres', q{SELECT fold_sql FROM lambda_views.views WHERE view_name = 'v1'});
my $plan = $coord->safe_psql('postgres',
	"PREPARE f(int8multirange, bigint) AS $fold_sql; EXPLAIN (COSTS OFF) EXECUTE f('{[1,1001),[281474976710657,281474976711657)}', 1)");
like($plan, qr/Task Count: 8/, 'the fold of two nodes\' key ranges is one statement, one task per shard');
unlike($plan, qr/pull to coordinator|repartition/i, 'the fold is pushed down');
like($plan, qr/Insert on v1_speed_\d+/, 'each task inserts into its co-located speed shard');
my ($gen) = $coord->safe_psql('postgres', q{SELECT batch_gen FROM lambda_views.view_state s JOIN lambda_views.views v USING (view_id) WHERE v.view_name = 'v1'});
my $batch_sql = $coord->safe_psql('postgres', qq{SELECT replace(batch_sql, 'v1_batch_next', 'v1_batch_$gen') FROM lambda_views.views WHERE view_name = 'v1'});
# the recompute's statement with the values it runs with ($4: no holes)
$batch_sql =~ s/\$1/0/g;
$batch_sql =~ s/\$2/1000/g;
$batch_sql =~ s/\$3/1/g;
$batch_sql =~ s/\$4/'{}'/g;
$plan = $coord->safe_psql('postgres', "EXPLAIN (COSTS OFF) $batch_sql");
like($plan, qr/Task Count: 8/, 'the recompute is one task per shard');
unlike($plan, qr/pull to coordinator|repartition/i, 'the recompute is pushed down');

# 2b. reads.  A view that no worker folds (v3): quiet after a recompute,
# then rows arrive through a worker, which draws keys from its own range.
# A real-time read sees them (the coordinator's key sequence cannot tell
# that the tail is empty: such a read takes the routed relation), and a
# filter on the distribution column routes the whole read, the batch,
# speed and tail rows, to one shard; without a filter it is pushed down.
{
	my $q3 = 'SELECT url, count(*) AS n, sum(x) AS s FROM public.ev GROUP BY url';
	$coord->safe_psql('postgres', qq{
SELECT lambda_views.create_view('public.v3', \$\$$q3\$\$, speed_interval => '1 hour');
SELECT lambda_views.recompute('public.v3');
});
	$w1->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) VALUES ('/p1', 1, 5), ('/p2', 1, 6)});
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v3', $q3)),
		'0', 'a quiet view read in real time sees the rows a worker drew keys for');
	is($coord->safe_psql('postgres', q{SET lambda_views.realtime = on; SELECT n FROM public.v3 WHERE url = '/p1'}),
		$coord->safe_psql('postgres', q{SELECT count(*) FROM public.ev WHERE url = '/p1'}),
		'a point lookup in real time sees them too');
	# a fold that finds another one at work (the workers fold early for
	# real-time readers) skips its round: wait until one has folded
	$coord->safe_psql('postgres', q{SELECT lambda_views.fold('public.v3')});
	ok(wait_for($coord, 'postgres', q{SELECT s.speed_watermark <> s.batch_watermark FROM lambda_views.view_state s
	  JOIN lambda_views.views v USING (view_id) WHERE v.view_name = 'v3'}, 30), 'the rows are folded');
	$w2->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) VALUES ('/p1', 1, 7)});
	for my $rt ('on', 'off')
	{
		my $plan = $coord->safe_psql('postgres',
			"SET lambda_views.realtime = $rt; EXPLAIN (COSTS OFF) SELECT * FROM public.v3 WHERE url = '/p1'");
		my @tasks = $plan =~ /Task Count: (\d+)/g;
		is("@tasks", '1', "a filter on the distribution column routes the read to one task (realtime $rt)");
		like($plan, qr/v3_batch_\d+_\d+/, "that task reads the batch shard (realtime $rt)");
		like($plan, qr/v3_speed_\d+/, "and the speed shard (realtime $rt)");
		like($plan, qr/ev_\d+/, "and the source shard, the real-time tail (realtime $rt)");
		unlike($plan, qr/pull to coordinator|repartition/i, "nothing is pulled to the coordinator (realtime $rt)");
		$plan = $coord->safe_psql('postgres', "SET lambda_views.realtime = $rt; EXPLAIN (COSTS OFF) SELECT * FROM public.v3");
		@tasks = $plan =~ /Task Count: (\d+)/g;
		is("@tasks", '8', "a full read is one pushed-down query, a task per shard (realtime $rt)");
		is($coord->safe_psql('postgres', "SET lambda_views.realtime = $rt; " . hold_mark('v3') . " SELECT (SELECT n FROM public.v3 WHERE url = '/p1') = "
				. "(SELECT count(*) FROM public.ev WHERE url = '/p1'"
				. ($rt eq 'off' ? ' AND ' . folded_sql('public.v3') : '') . ')'),
			't', "the routed lookup is exact (realtime $rt)");
	}
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v3', $q3)),
		'0', 'the routed full read is exact');
	# Citus copies the relation to the workers, not the catalog: a read
	# there is refused, never silently empty
	for my $rt ('on', 'off')
	{
		my ($rc, $out, $err) = $w1->psql('postgres', "SET lambda_views.realtime = $rt; SELECT count(*) FROM public.v3",
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		like($err, qr/42704: lambda view \d+ is not defined on this node/,
			"a read of the view on a worker is refused (realtime $rt)");
	}

	# a batch swap commits under the lock a reader of the mark holds: it
	# waits for the reader's transaction, which reads one batch throughout
	my $reader = $coord->background_psql('postgres');
	$reader->query_safe('BEGIN');
	$reader->query_safe(q{SELECT count(*) FROM public.v3 WHERE url = '/p1'});
	my $swap = $coord->background_psql('postgres');
	$swap->query_until(qr/started/, "\\echo started\nSELECT lambda_views.recompute('public.v3');\n");
	ok(wait_for($coord, 'postgres', q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity
	     WHERE query LIKE '%recompute(''public.v3'')%' AND wait_event_type = 'Lock')}, 30),
		'a recompute waits to swap while a reader of the mark is in its transaction');
	is($reader->query_safe(diff_sql('public.v3', $q3)), '0', 'the reader reads the view exactly meanwhile');
	$reader->query_safe('COMMIT');
	$reader->quit;
	$swap->query_safe('SELECT 1');
	$swap->quit;
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v3', $q3)),
		'0', 'exact after the swap');
	$coord->safe_psql('postgres', q{SELECT lambda_views.drop_view('public.v3')});
}

# 3. concurrent inserts through all three nodes, with aborts and savepoints
my $script = "$PostgreSQL::Test::Utils::tmp_check/ins.sql";
open(my $fh, '>', $script) or die;
print $fh q{\set u random(0, 60)
\set x random(0, 999)
\set r random(0, 9)
BEGIN;
INSERT INTO public.ev (url, g, x) VALUES ('/p' || :u, :x % 7, :x), ('/q' || :u, :r, :x + 1);
SAVEPOINT s;
INSERT INTO public.ev (url, g, x) VALUES ('/s' || :u, 1, :x);
ROLLBACK TO SAVEPOINT s;
INSERT INTO public.ev (url, g, x) SELECT '/r' || :u, 2, :x WHERE :r > 2;
END;
BEGIN;
INSERT INTO public.ev (url, g, x) VALUES ('/aborted' || :u, 3, :x);
ROLLBACK;
};
close($fh);
my @benches;
for my $n ($coord, $w1, $w2)
{
	push @benches, IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '6', '-R', '150', '-f', $script,
			'-h', $n->host, '-p', $n->port, 'postgres' ],
		'>', \my $out, '2>', \my $err);
}
# an out-of-order commit at the coordinator: a low key, committed last
my $late = $coord->background_psql('postgres');
$late->query_safe("BEGIN; INSERT INTO public.ev (url, g, x) VALUES ('/late', 1, 1)");
# while it is open, the workers' ranges fold on
ok(wait_for($coord, 'postgres', q{SELECT EXISTS (SELECT 1 FROM lambda_views.view_state s
   JOIN lambda_views.views v USING (view_id)
   WHERE v.view_name = 'v1' AND s.speed_watermark > (1::bigint << 48) + 100)}, 30),
	'a writer open at the coordinator does not hold back the workers\' ranges');
$_->finish for @benches;
is($coord->safe_psql('postgres', q{SELECT count(*) FROM public.ev WHERE url LIKE '/aborted%' OR url LIKE '/s%'}),
	'0', 'the aborted rows are not in the source');
ok($coord->safe_psql('postgres', q{SELECT count(DISTINCT id >> 48) FROM public.ev}) == 3,
	'rows came from three origins');
# realtime off: the view holds exactly the folded rows while /late is open
is($coord->safe_psql('postgres', "SET lambda_views.realtime = off; " . hold_mark('v1')
		. diff_sql('public.v1', "SELECT url, count(*) AS n, sum(x) AS s, max(x) AS hi, avg(x) AS mean FROM public.ev WHERE "
			. folded_sql('public.v1') . " GROUP BY url")),
	'0', 'realtime off: v1 holds exactly its folded rows while a coordinator writer is open');
$late->query_safe('COMMIT');
$late->quit;
exact('after concurrent inserts through three nodes');

# 3b. a reader of the real-time tail reads the watermark on the coordinator
# and the speed rows on the shards in separate steps: no fold commits in
# between.  A fold that finds such a reader's transaction open skips its
# round (nothing written), and folds again once it ends.
{
	my $state = q{SELECT s.speed_watermark || ' ' || s.speed_holes FROM lambda_views.view_state s
	  JOIN lambda_views.views v USING (view_id) WHERE v.view_name = 'v1'};
	my $reader = $coord->background_psql('postgres');
	$reader->query_safe('BEGIN');
	$reader->query_safe('SELECT count(*) FROM public.v1');
	my $before = $coord->safe_psql('postgres', $state);
	$coord->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) SELECT '/reader' || i, 1, i FROM generate_series(1, 20) i});
	usleep(1_500_000);
	is($coord->safe_psql('postgres', $state), $before,
		'no fold commits while a reader of the real-time tail is in its transaction');
	is($reader->query_safe(diff_sql('public.v1', $q1)), '0',
		'that reader still reads the view exactly');
	$reader->query_safe('COMMIT');
	$reader->quit;
	ok(wait_for($coord, 'postgres', "SELECT ($state) <> '$before'", 10),
		'the folds go on once the reader ends');
}

# 3c. a reader whose statement began before a fold committed and who got
# the read lock after it.  Shards on other nodes are read after the lock
# (the latest mark fits them); a view whose source also has shards on the
# coordinator would read those in the statement's older snapshot: such a
# read is refused (40001, retry) rather than answered inconsistently.
{
	# hold_fold returns a session whose open transaction has folded the view
	# and holds the fold-commit lock (a worker's fold may be at work: retry)
	my $hold_fold = sub {
		my ($view, $vid) = @_;
		my $s = $coord->background_psql('postgres');
		my $spid = $s->query_safe('SELECT pg_backend_pid()');
		for my $try (1 .. 100)
		{
			$s->query_safe(qq{BEGIN; SELECT lambda_views.fold('$view')});
			return $s if $coord->safe_psql('postgres', qq{SELECT EXISTS (SELECT 1 FROM pg_locks
			  WHERE locktype = 'advisory' AND classid = $vid AND objid = 5 AND pid = $spid AND granted)}) eq 't';
			$s->query_safe('ROLLBACK');
			usleep(50_000);
		}
		die "no fold of $view got the fold-commit lock";
	};
	my $reader_waits = sub {
		my ($pid) = @_;
		return wait_for($coord, 'postgres', qq{SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $pid}, 30);
	};

	my $q5 = 'SELECT url, count(*) AS n FROM public.ev GROUP BY url';
	$coord->safe_psql('postgres', qq{SELECT lambda_views.create_view('public.v5', \$\$$q5\$\$, speed_interval => '1 hour')});
	my $vid = $coord->safe_psql('postgres', q{SELECT view_id FROM lambda_views.views WHERE view_name = 'v5'});
	$coord->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) SELECT '/fold-race' || i, 1, i FROM generate_series(1, 30) i});
	my $fold = $hold_fold->('public.v5', $vid);
	my $reader = $coord->background_psql('postgres');
	my $rpid = $reader->query_safe('SELECT pg_backend_pid()');
	$reader->query_until(qr/reading/, "\\echo reading\n" . diff_sql('public.v5', $q5) . ";\n");
	ok($reader_waits->($rpid), 'a reader whose statement began before the fold committed waits for it');
	$fold->query_safe('COMMIT');
	$fold->quit;
	is($reader->query_safe('SELECT 0'), "0\n0", 'then reads the view exactly (its shards are all on other nodes)');
	$reader->quit;
	$coord->safe_psql('postgres', q{SELECT lambda_views.drop_view('public.v5')});

	# a source with shards on the coordinator and on the workers
	$coord->safe_psql('postgres', qq{
SELECT citus_set_node_property('127.0.0.1', ${\ $coord->port}, 'shouldhaveshards', true);
CREATE TABLE public.ev2 (id bigserial, url text NOT NULL, x int);
SELECT create_distributed_table('public.ev2', 'url', shard_count => 6, colocate_with => 'none');
CREATE INDEX ON public.ev2 (id);
INSERT INTO public.ev2 (url, x) SELECT '/q' || (i % 30), i FROM generate_series(1, 300) i;
SELECT citus_set_node_property('127.0.0.1', ${\ $coord->port}, 'shouldhaveshards', false);
});
	is($coord->safe_psql('postgres', q{SELECT count(DISTINCT p.groupid) FROM pg_dist_placement p JOIN pg_dist_shard s USING (shardid)
	  WHERE s.logicalrelid = 'public.ev2'::regclass}), '3', 'ev2 has shards on the coordinator and both workers');
	my $q6 = 'SELECT url, count(*) AS n, sum(x) AS s FROM public.ev2 GROUP BY url';
	$coord->safe_psql('postgres', qq{SELECT lambda_views.create_view('public.v6', \$\$$q6\$\$, speed_interval => '1 hour')});
	$vid = $coord->safe_psql('postgres', q{SELECT view_id FROM lambda_views.views WHERE view_name = 'v6'});
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v6', $q6)), '0',
		'a view over it reads exactly');
	$coord->safe_psql('postgres', q{INSERT INTO public.ev2 (url, x) SELECT '/q' || i, i FROM generate_series(1, 30) i});
	$fold = $hold_fold->('public.v6', $vid);
	$reader = $coord->background_psql('postgres', on_error_stop => 0);
	$rpid = $reader->query_safe('SELECT pg_backend_pid()');
	$reader->query_until(qr/reading/, "\\echo reading\n\\set VERBOSITY verbose\nSELECT count(*) FROM public.v6;\n");
	ok($reader_waits->($rpid), 'a reader of it waits for the fold too');
	$fold->query_safe('COMMIT');
	$fold->quit;
	my ($out, $ret) = $reader->query('SELECT 1');
	like($reader->{stderr}, qr/40001: could not read lambda view \d+ consistently/,
		'then its read is refused with 40001 instead of mixing two marks');
	$reader->quit;
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v6', $q6)), '0',
		'a retry reads the view exactly');
	$coord->safe_psql('postgres', q{SELECT lambda_views.drop_view('public.v6'); DROP TABLE public.ev2});
}

# 4. an in-doubt commit: the shard's half of a transaction whose origin
# committed is still prepared (its COMMIT PREPARED never arrived).  Built
# as Citus builds it: the origin's transaction holds the shell table's
# lock, draws the key, prepares the row on the shard's node under a Citus
# transaction name, records the commit in pg_dist_transaction (or not, for
# one that must roll back) and commits locally; recovery ends the rest.
sub shard_node
{
	my ($url) = @_;
	my $port = $coord->safe_psql('postgres', qq{
SELECT p.nodeport FROM pg_dist_shard_placement p
 WHERE p.shardid = get_shard_id_for_distribution_column('public.ev', '$url')});
	return $port == $w1->port ? $w1 : $w2;
}
sub in_doubt
{
	my ($url, $gid, $record) = @_;
	my $node = shard_node($url);
	my $group = $coord->safe_psql('postgres', q{SELECT groupid FROM pg_dist_node WHERE nodeport = } . $node->port);
	my $shard = $coord->safe_psql('postgres', qq{SELECT get_shard_id_for_distribution_column('public.ev', '$url')});
	my $origin = $coord->background_psql('postgres');
	my $key = $origin->query_safe(q{BEGIN; LOCK TABLE public.ev IN ROW EXCLUSIVE MODE; SELECT nextval('public.ev_id_seq')});
	$node->safe_psql('postgres', qq{
BEGIN;
INSERT INTO public.ev_$shard (id, url, g, x) VALUES ($key, '$url', 1, 5);
PREPARE TRANSACTION '$gid';
});
	$origin->query_safe(qq{INSERT INTO pg_dist_transaction (groupid, gid) VALUES ($group, '$gid')}) if $record;
	$origin->query_safe('COMMIT');
	$origin->quit;
	return $key;
}
my $k1 = in_doubt('/doubt1', 'citus_0_999991_1_1', 1);
my $k2 = in_doubt('/doubt2', 'citus_0_999992_1_1', 0);
$coord->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) SELECT '/after' || i, 1, i FROM generate_series(1, 50) i});
usleep(1_500_000);
my $folded = sub {
	my ($key) = @_;
	return $coord->safe_psql('postgres', qq{SELECT $key <= s.speed_watermark AND NOT s.speed_holes @> ${key}::bigint
   FROM lambda_views.view_state s JOIN lambda_views.views v USING (view_id) WHERE v.view_name = 'v1'});
};
is($folded->($k1) . $folded->($k2), 'ff', 'no fold passes a key whose commit is in doubt on its shard');
is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v1', $q1)),
	'0', 'realtime on: v1 equals its query while a commit is in doubt');
$coord->safe_psql('postgres', q{SELECT recover_prepared_transactions()});
is($w1->safe_psql('postgres', q{SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'citus_0_99999%'})
	+ $w2->safe_psql('postgres', q{SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'citus_0_99999%'}),
	'0', 'Citus recovery ended both in-doubt transactions');
is($coord->safe_psql('postgres', q{SELECT string_agg(url, ',') FROM public.ev WHERE url IN ('/doubt1', '/doubt2')}),
	'/doubt1', 'recovery committed the recorded one and rolled back the other');
exact('after recovery of in-doubt commits');
is($folded->($k1), 't', 'the recovered row is folded');

# 4b. the same, for real: a coordinator transaction writing to both
# workers, whose connection to one of them is killed between its PREPARE
# and its COMMIT PREPARED.  The coordinator is held right there: with a
# synchronous standby that never comes, a commit waits after writing its
# commit record and before Citus sends COMMIT PREPARED; the wait is then
# cancelled (the transaction has committed) and the COMMIT PREPARED to the
# killed connection fails.
{
	$coord->safe_psql('postgres', q{ALTER SYSTEM SET synchronous_commit = 'local';
ALTER SYSTEM SET synchronous_standby_names = 'lv_no_such_standby'; SELECT pg_reload_conf()});
	usleep(500_000);
	my $victim = $coord->background_psql('postgres');
	my $pid = $victim->query_safe('SELECT pg_backend_pid()');
	my $gpid = $victim->query_safe('SELECT citus_backend_gpid()');
	$victim->query_safe(q{SET synchronous_commit = on; BEGIN;
INSERT INTO public.ev (url, g, x) SELECT '/lost' || i, 1, i FROM generate_series(1, 40) i});
	my $low = $victim->query_safe(q{SELECT min(id) FROM public.ev WHERE url LIKE '/lost%'});
	$victim->query_until(qr/committing/, "\\echo committing\nCOMMIT;\n");
	ok(wait_for($coord, 'postgres', "SELECT wait_event = 'SyncRep' FROM pg_stat_activity WHERE pid = $pid", 30),
		'the coordinator holds its commit after the PREPAREs, before COMMIT PREPARED');
	my $mine = "SELECT count(*) > 0 FROM pg_prepared_xacts WHERE split_part(gid, '_', 3) = '$pid'";
	is($w1->safe_psql('postgres', $mine), 't', 'the transaction is prepared on worker 1');
	ok($w1->safe_psql('postgres', qq{SELECT count(pg_terminate_backend(pid))
  FROM pg_stat_activity WHERE application_name = 'citus_internal gpid=$gpid'}) > 0,
		'its connection to worker 1 is killed');
	$coord->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	# the COMMIT ends with warnings: the wait cancelled, the commit on the
	# killed connection failed
	like($victim->query('SELECT 1'), qr/^1$/m, 'the commit returns');
	$victim->quit;
	$coord->safe_psql('postgres', q{ALTER SYSTEM RESET synchronous_standby_names; ALTER SYSTEM RESET synchronous_commit;
SELECT pg_reload_conf()});
	is($w1->safe_psql('postgres', $mine), 't', 'its COMMIT PREPARED never reached worker 1: in doubt there');
	ok($coord->safe_psql('postgres', q{SELECT count(*) FROM public.ev WHERE url LIKE '/lost%'}) < 40,
		'the rows on worker 1 are not visible yet');
	$coord->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) SELECT '/after-lost' || i, 1, i FROM generate_series(1, 20) i});
	usleep(1_500_000);
	is($folded->($low), 'f', 'no fold passes the keys of the transaction in doubt');
	is($coord->safe_psql('postgres', "SET lambda_views.realtime = on;" . diff_sql('public.v1', $q1)),
		'0', 'realtime on: v1 equals its query while that commit is in doubt');
	$coord->safe_psql('postgres', q{SELECT recover_prepared_transactions()});
	is($coord->safe_psql('postgres', q{SELECT count(*) FROM public.ev WHERE url LIKE '/lost%'}), '40',
		'recovery committed it on worker 1');
	exact('after recovery of a lost COMMIT PREPARED');
	is($folded->($low), 't', 'its rows are folded, once');
}

# 5. the guard on every node
for my $n ([$coord, 'coordinator'], [$w1, 'worker 1'], [$w2, 'worker 2'])
{
	my ($rc, $out, $err) = $n->[0]->psql('postgres', q{UPDATE public.ev SET x = 0 WHERE url = '/p1'});
	like($err, qr/append-only source of/, "UPDATE through $n->[1] is refused");
	($rc, $out, $err) = $n->[0]->psql('postgres', q{DELETE FROM public.ev});
	like($err, qr/append-only source of/, "DELETE through $n->[1] is refused");
}
{
	my $shard = $coord->safe_psql('postgres', q{SELECT get_shard_id_for_distribution_column('public.ev', '/p1')});
	my ($rc, $out, $err) = shard_node('/p1')->psql('postgres', "DELETE FROM public.ev_$shard");
	like($err, qr/shard of the append-only source/, 'DELETE on a shard itself is refused');
	($rc, $out, $err) = $coord->psql('postgres', 'TRUNCATE public.ev');
	like($err, qr/append-only source of|shard of the append-only source/, 'TRUNCATE is refused');
}
exact('after the refused changes');

# move moves a shard.  Citus refuses a move at once (no wait) while a
# co-located table is being distributed, which every recompute does for
# its new batch partition, and fails one whose co-located shards changed
# while it ran (a recompute dropped an old batch partition): a DBA, or
# the rebalancer, tries again.
sub move
{
	my ($shard, $from, $to, $mode) = @_;
	for my $try (1 .. 120)
	{
		my ($rc, $out, $err) = $coord->psql('postgres',
			"SET statement_timeout = '120s'; SELECT citus_move_shard_placement($shard, '127.0.0.1', ${\ $from->port}, "
			  . "'127.0.0.1', ${\ $to->port}, shard_transfer_mode => '$mode')");
		return if $rc == 0;
		die "move of shard $shard failed: $err"
		  unless $err =~ /could not acquire the lock required to move|could not be cleaned up|could not find valid entry for shard/;
		# a placement left by an earlier move goes once nothing holds it
		$coord->psql('postgres', 'CALL citus_cleanup_orphaned_resources()');
		usleep(250_000);
	}
	die "move of shard $shard: the lock stayed taken";
}

# 6. shard moves (block_writes, then logical) during inserts and folds
{
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '20', '-R', '200', '-f', $script,
			'-h', $w2->host, '-p', $w2->port, 'postgres' ],
		'>', \my $out, '2>', \my $err);
	my $shard = $coord->safe_psql('postgres', q{
SELECT p.shardid FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
 WHERE s.logicalrelid = 'public.ev'::regclass AND p.nodeport = } . $w1->port . q{ ORDER BY 1 LIMIT 1});
	move($shard, $w1, $w2, 'block_writes');
	is($coord->safe_psql('postgres', qq{SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $shard}),
		$w2->port, 'the shard moved (block_writes)');
	# and another the other way by logical replication while the folds update its speed
	# rows (the storage has a replica identity; the apply worker, under a
	# role Citus makes for the move, reads the partial states)
	my $other = $coord->safe_psql('postgres', q{
SELECT p.shardid FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
 WHERE s.logicalrelid = 'public.ev'::regclass AND p.nodeport = } . $w2->port . qq{ AND p.shardid <> $shard ORDER BY 1 LIMIT 1});
	move($other, $w2, $w1, 'force_logical');
	is($coord->safe_psql('postgres', qq{SELECT nodeport FROM pg_dist_shard_placement WHERE shardid = $other}),
		$w1->port, 'another shard moved the other way (logical)');
	$bench->finish;
	$coord->safe_psql('postgres', q{SELECT lambda_views.recompute('public.v1')});
	exact('after a shard move during folds');
}

# 7. a node added during ingest: a new origin range
{
	my $w3 = citus_node('worker3');
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', '4', '-R', '150', '-f', $script,
			'-h', $coord->host, '-p', $coord->port, 'postgres' ],
		'>', \my $out, '2>', \my $err);
	# citus_add_node locks every distributed table's metadata; Citus' deadlock
	# detector may cancel it against a fold's distributed transaction (seen
	# once in CI): a DBA tries again
	for my $try (1 .. 20)
	{
		my ($rc, $out, $err) = $coord->psql('postgres',
			"SELECT citus_add_node('127.0.0.1', ${\ $w3->port})");
		last if $rc == 0;
		die "adding worker3 failed: $err"
		  unless $err =~ /involved in a distributed deadlock/ && $try < 20;
		usleep(250_000);
	}
	$w3->safe_psql('postgres', q{INSERT INTO public.ev (url, g, x) SELECT '/w3_' || i, 4, i FROM generate_series(1, 100) i});
	$bench->finish;
	ok($coord->safe_psql('postgres', q{SELECT max(id >> 48) FROM public.ev}) >= 3, 'the new node drew keys of its own range');
	exact('after a node was added during ingest');
}

# 8. what is refused, with SQLSTATEs
{
	my ($rc, $out, $err) = $coord->psql('postgres',
		q{SELECT lambda_views.create_view('public.bad', 'SELECT g, count(*) FROM public.ev GROUP BY g')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/0A000: a lambda view over Citus table "ev" must group by its distribution column "url"/,
		'a view without the distribution column among its keys is refused');
	$coord->safe_psql('postgres', q{CREATE TABLE public.ref (id bigserial, k text); SELECT create_reference_table('public.ref'); CREATE INDEX ON public.ref (id)});
	($rc, $out, $err) = $coord->psql('postgres',
		q{SELECT lambda_views.create_view('public.bad', 'SELECT k, count(*) FROM public.ref GROUP BY k')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/0A000: source "ref" is a Citus table that is not hash-distributed/,
		'a reference table is refused');
	($rc, $out, $err) = $coord->psql('postgres',
		q{SELECT lambda_views.alter_view('public.v1', 'SELECT url, count(*) AS n FROM public.ev GROUP BY url')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/0A000: alter_view is not supported for lambda view "public.v1" over a Citus distributed table/,
		'alter_view of a view over Citus is refused');
	($rc, $out, $err) = $coord->psql('postgres',
		q{SELECT lambda_views.purge('public.ev', now(), 'ts')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/0A000: purge is not supported for Citus distributed table "ev"/,
		'purge of a Citus source is refused');

	# a query whose result depends on TimeZone, in a session whose TimeZone
	# the workers do not share: they would fold it under theirs
	my $tz = $w1->safe_psql('postgres', 'SHOW TimeZone');
	my $other = $tz eq 'Asia/Tokyo' ? 'America/Lima' : 'Asia/Tokyo';
	($rc, $out, $err) = $coord->psql('postgres',
		qq{SET TimeZone = '$other'; SELECT lambda_views.create_view('public.bad', 'SELECT url, ts::date AS day, count(*) FROM public.ev GROUP BY url, ts::date')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/55000: another node of the Citus cluster runs with TimeZone "\Q$tz\E", this session with "$other"/,
		'a query that depends on TimeZone is refused when the workers run another one');
	is($coord->safe_psql('postgres', q{SELECT count(*) FROM lambda_views.views WHERE view_name = 'bad'}), '0',
		'and nothing was created');
	$coord->safe_psql('postgres', qq{SET TimeZone = '$other'; SELECT lambda_views.create_view('public.tz_free', 'SELECT url, count(*) FROM public.ev GROUP BY url', initial_batch => false)});
	$coord->safe_psql('postgres', qq{SET TimeZone = '$tz'; SELECT lambda_views.create_view('public.tz_same', 'SELECT url, ts::date AS day, count(*) FROM public.ev GROUP BY url, ts::date', initial_batch => false)});
	is($coord->safe_psql('postgres', q{SELECT count(*) FROM lambda_views.views WHERE view_name IN ('tz_free', 'tz_same')}), '2',
		'a query without such functions, or a session with the workers\' TimeZone, is accepted');
	$coord->safe_psql('postgres', q{SELECT lambda_views.drop_view('public.tz_free'); SELECT lambda_views.drop_view('public.tz_same')});
}

# 9. drop: storage goes on every node
$coord->safe_psql('postgres', q{SELECT lambda_views.drop_view('public.v2')});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'lambda_views_data.v2%'}),
	'0', 'drop_view removed the distributed storage');
is($coord->safe_psql('postgres', "SET lambda_views.realtime = off; SELECT lambda_views.fold('public.v1') >= 0;" ),
	't', 'fold() on the coordinator');
is($coord->safe_psql('postgres', "SET lambda_views.realtime = off;" . diff_sql('public.v1', $q1)),
	'0', 'v1 equals its query at the end');

done_testing();
