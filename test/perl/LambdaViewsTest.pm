# LambdaViewsTest: helpers shared by the TAP tests of lambda_views.
package LambdaViewsTest;

use strict;
use warnings;
use Exporter 'import';
use Test::More;
use PostgreSQL::Test::Cluster;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(start_node diff_sql wait_for children folded_sql);

# start_node creates, configures and starts a cluster named $name with
# lambda_views preloaded and the postgresql.conf lines $conf (a later
# shared_preload_libraries line overrides the preloaded default).
sub start_node
{
	my ($name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'lambda_views'\n" . ($conf // ''));
	$node->start;
	return $node;
}

# folded_sql returns a predicate on the source rows (append key $key) that
# a lambda view's batch and speed layers hold: up to its speed watermark,
# but not in its holes (keys a fold passed whose rows it could not see yet:
# src/layers/speed.c), read from the catalog in the caller's snapshot.
# $view is schema-qualified, as format('%I.%I') gives it.
sub folded_sql
{
	my ($view, $key) = @_;
	$key //= 'id';
	my $state = 'FROM lambda_views.view_state s JOIN lambda_views.views w USING (view_id) '
	  . "WHERE format('%I.%I', w.view_schema, w.view_name) = '$view'";
	return "($key <= (SELECT s.speed_watermark $state) AND NOT "
	  . "(SELECT s.speed_holes $state) OPERATOR(pg_catalog.@>) ${key}::pg_catalog.int8)";
}

# diff_sql returns a query counting the rows in which a view and its own
# query on the source differ (EXCEPT ALL in both directions).
sub diff_sql
{
	my ($view, $query) = @_;
	return "SELECT count(*) FROM ((SELECT * FROM $view EXCEPT ALL ($query)) "
	  . "UNION ALL (($query) EXCEPT ALL SELECT * FROM $view)) d";
}

# wait_for polls until $sql returns 't' in $db, for at most $secs seconds.
sub wait_for
{
	my ($node, $db, $sql, $secs) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		# the server may be restarting: psql can fail or close its stdin early
		my ($rc, $out) = (1, '');
		eval { ($rc, $out) = $node->psql($db, $sql); };
		return 1 if $rc == 0 && $out eq 't';
		usleep(50_000);
	}
	diag("timed out after ${secs}s waiting for: $sql");
	return 0;
}

# children lists the processes whose parent is the given pid.
sub children
{
	my ($ppid) = @_;
	my @kids;
	opendir(my $dh, '/proc') or die "no /proc: $!";
	for my $p (grep { /^\d+$/ } readdir($dh))
	{
		open(my $fh, '<', "/proc/$p/stat") or next;
		my $stat = <$fh>;
		close($fh);
		next unless defined $stat && $stat =~ /\)\s+\S\s+(\d+)/;
		push @kids, $p if $1 == $ppid;
	}
	closedir($dh);
	return @kids;
}

1;
