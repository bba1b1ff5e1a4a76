# LambdaViewsBuild: build lambda_views releases into a private copy of the
# PostgreSQL installation the tests run against, for tests that need an
# older release next to the current one (test/t/060_upgrade.pl).
#
#   my $pg   = copy_postgres("$tmp/root");     # { install_path, pg_config }
#   export_release($repo, 'ebb7938', "$tmp/old");
#   copy_working_tree($srcdir, "$tmp/new");
#   build_install($pg, "$tmp/old");             # make, make install
#   uninstall($pg, "$tmp/old");                 # make uninstall
#
# Nothing is cached outside the directories the caller passes.
package LambdaViewsBuild;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IPC::Run;

our @EXPORT = qw(copy_postgres export_release copy_working_tree build_install uninstall);

# run_cmd runs a command with the environment of a plain shell (no make
# variables of the make that runs the tests) and dies with its output when
# it fails.
sub run_cmd
{
	my ($what, @cmd) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	delete $ENV{$_} foreach qw(MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES GNUMAKEFLAGS);
	if (!IPC::Run::run(\@cmd, '>', \$out, '2>', \$err))
	{
		# the end of the output says why
		my @lines = split /\n/, "$out$err";
		splice(@lines, 0, @lines - 40) if @lines > 40;
		die "$what failed (exit status " . ($? >> 8) . "): @cmd\n" . join("\n", @lines) . "\n";
	}
	return $out;
}

# pg_config_value returns one directory pg_config reports.
sub pg_config_value
{
	my ($pg_config, $what) = @_;
	my $v = run_cmd("pg_config $what", $pg_config, "--$what");
	chomp $v;
	return $v;
}

# copy_postgres copies the PostgreSQL installation whose pg_config is first
# in PATH (the one the tests run against) to $root: its bin, lib, share and
# include directories, at the same paths under $root.  PostgreSQL finds its
# lib and share directories relative to its binaries, so the copy works on
# its own, and an extension installed into it stays out of the original.
# Files of lambda_views already installed there are removed.  Returns the
# copy's install_path (for PostgreSQL::Test::Cluster->new) and pg_config.
sub copy_postgres
{
	my ($root) = @_;
	my %dir;
	$dir{$_} = pg_config_value('pg_config', $_)
	  foreach qw(bindir pkglibdir sharedir pkgincludedir includedir);
	# the installation's own directories, outer ones first, nested ones
	# (Debian: includedir = pkgincludedir) copied once
	my @copied;
	foreach my $d (sort { length($a) <=> length($b) } values %dir)
	{
		next if grep { $d eq $_ || index($d, "$_/") == 0 } @copied;
		make_path($root . dirname($d));
		run_cmd("copying $d", 'cp', '-a', $d, $root . dirname($d) . '/');
		push @copied, $d;
	}
	my $pg_config = "$root$dir{bindir}/pg_config";
	foreach my $what (qw(pkglibdir sharedir))
	{
		my $got = pg_config_value($pg_config, $what);
		die "the copy of PostgreSQL in $root is not relocatable: its pg_config reports $what $got"
		  unless $got eq "$root$dir{$what}";
	}
	unlink(glob("$root$dir{pkglibdir}/lambda_views.so"),
		glob("$root$dir{sharedir}/extension/lambda_views*"));
	run_cmd('removing lambda_views bitcode', 'rm', '-rf',
		"$root$dir{pkglibdir}/bitcode/lambda_views",
		"$root$dir{pkglibdir}/bitcode/lambda_views.index.bc");
	return { install_path => dirname("$root$dir{bindir}"), pg_config => $pg_config };
}

# export_release writes the tree of commit $commit of the git repository
# $repo to $dest.  Dies with a clear message when $repo has no git history
# or lacks the commit.
sub export_release
{
	my ($repo, $commit, $dest) = @_;
	my @git = ('git', '-c', "safe.directory=$repo", '-C', $repo);
	die "no git repository in $repo: this test builds the released version "
	  . "from the repository's history (commit $commit); run it from a git clone, "
	  . "or set LAMBDA_VIEWS_REPO to one\n"
	  unless -e "$repo/.git";
	eval { run_cmd("git cat-file $commit", @git, 'cat-file', '-e', "$commit^{commit}"); 1 }
	  or die "commit $commit (the released version) is not in the repository $repo "
	  . "(a shallow clone?): fetch the full history\n$@";
	make_path($dest);
	my ($err) = ('');
	IPC::Run::run([ @git, 'archive', '--format=tar', $commit ],
		'|', [ 'tar', '-x', '-C', $dest ], '2>', \$err)
	  or die "git archive $commit | tar -x -C $dest failed\n$err";
	return;
}

# copy_working_tree copies what builds and installs the extension (the
# Makefile, the control file, the SQL scripts, src/ and include/) from the
# working tree $src to $dest, without build products.
sub copy_working_tree
{
	my ($src, $dest) = @_;
	make_path($dest);
	my @parts = ('Makefile', 'lambda_views.control', 'src', 'include',
		map { substr($_, length($src) + 1) } glob("$src/lambda_views--*.sql"));
	my $err = '';
	IPC::Run::run(
		[
			'tar', '-C', $src, '--exclude=*.o', '--exclude=*.so',
			'--exclude=*.bc', '-cf', '-', @parts
		],
		'|', [ 'tar', '-x', '-C', $dest ], '2>', \$err)
	  or die "copying the working tree $src to $dest failed\n$err";
	return;
}

# build_install builds the tree in $dir with the copy's pg_config and
# installs it into the copy (without LLVM bitcode: the copy's servers run
# without JIT inlining of the extension, and the build takes half as long).
sub build_install
{
	my ($pg, $dir) = @_;
	my @make = ('make', '-C', $dir, "PG_CONFIG=$pg->{pg_config}", 'with_llvm=no');
	run_cmd("building $dir", @make, '-j2');
	run_cmd("installing $dir", @make, 'install');
	return;
}

# uninstall removes what the tree in $dir installed into the copy, as
# replacing a package does.
sub uninstall
{
	my ($pg, $dir) = @_;
	run_cmd("uninstalling $dir", 'make', '-C', $dir, "PG_CONFIG=$pg->{pg_config}",
		'with_llvm=no', 'uninstall');
	return;
}

1;
