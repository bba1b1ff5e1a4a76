# lambda_views: PGXS build.  `make`, `make install`, `make installcheck`
# (regression + isolation + TAP, each on its own throwaway cluster).

EXTENSION = lambda_views
MODULE_big = lambda_views
# Released install scripts are never edited: 1.0 is the base, every later
# catalog change is an upgrade script (CREATE EXTENSION runs 1.0 and then
# each step to default_version).
DATA = lambda_views--1.0.sql lambda_views--0.1--1.0.sql lambda_views--1.0--1.1.sql lambda_views--1.1--1.2.sql lambda_views--1.2--1.3.sql lambda_views--1.3--1.4.sql lambda_views--1.4--1.5.sql lambda_views--1.5--1.6.sql lambda_views--1.6--1.7.sql

# The Lambda diagram, bottom up; a file calls only its own level or lower
# ones (scripts/check-layers): ground, then the layers, then the operations,
# then the SQL entry points, the workers and the module entry in src/.
OBJS = \
	src/ground/settings.o \
	src/ground/agg_state.o \
	src/ground/definition.o \
	src/ground/run.o \
	src/ground/citus.o \
	src/ground/catalog.o \
	src/ground/shmem.o \
	src/layers/capture.o \
	src/layers/speed.o \
	src/layers/batch.o \
	src/layers/serving.o \
	src/layers/quiet.o \
	src/layers/guard.o \
	src/operations/create.o \
	src/operations/version.o \
	src/operations/products.o \
	src/operations/upgrade.o \
	src/api.o \
	src/partial.o \
	src/worker.o \
	src/lambda_views.o

# the version of the SQL objects the library is built for (the library
# refuses to fold or create views against an older catalog)
LV_EXTENSION_VERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" $(srcdir)/lambda_views.control)
PG_CPPFLAGS = -I$(srcdir)/include -Wall -Werror -DLV_EXTENSION_VERSION='"$(LV_EXTENSION_VERSION)"'
PG_CONFIG ?= pg_config

# pg_regress: one file per feature, on a temp instance that preloads the library.
REGRESS = create appendkey reject aggregates fold recompute realtime tailkeys tailrange quiet immutable lifecycle privileges alter products security battery
REGRESS_OPTS = --temp-instance=./tmp_check_regress \
	--temp-config=$(srcdir)/test/regress.conf --inputdir=$(srcdir)

# isolation specs compare the view with its query on the source (EXCEPT ALL both ways).
ISOLATION = out_of_order_commit aborted_insert fold_during_recompute read_during_swap drop_during_fold lock_dos open_writer busy_recheck
ISOLATION_OPTS = --temp-instance=./tmp_check_iso \
	--temp-config=$(srcdir)/test/regress.conf \
	--inputdir=$(srcdir)/test/isolation --outputdir=./output_iso

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# pg_regress again on a temp instance WITHOUT shared_preload_libraries: the
# library is loaded late (CREATE EXTENSION, a session's first read) and
# everything but the workers must work.  Runs whenever REGRESS does
# (make installcheck REGRESS= skips both); REGRESS_NOPRELOAD= skips it alone.
REGRESS_NOPRELOAD = nopreload
REGRESS_NOPRELOAD_OPTS = --temp-instance=./tmp_check_nopreload \
	--temp-config=$(srcdir)/test/regress_nopreload.conf --inputdir=$(srcdir)

EXTRA_CLEAN = src/*.bc tmp_check_regress tmp_check_iso tmp_check_nopreload output_iso results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every object depends on every header
$(OBJS): $(wildcard $(srcdir)/include/*.h)
# ... and on the control file, whose default_version they are built for
$(OBJS): $(srcdir)/lambda_views.control
ifeq ($(strip $(LV_EXTENSION_VERSION)),)
$(error no default_version in $(srcdir)/lambda_views.control)
endif

# after PGXS, which resets it: the TAP tests' shared helpers
PROVE_FLAGS += -I $(srcdir)/test/perl

# after PGXS: its installcheck rule runs REGRESS, ISOLATION and TAP_TESTS;
# this prerequisite adds the suite without the preload (before them).
ifneq ($(strip $(REGRESS)),)
ifneq ($(strip $(REGRESS_NOPRELOAD)),)
installcheck: installcheck-nopreload
endif
endif

.PHONY: installcheck-nopreload
installcheck-nopreload: submake
	$(pg_regress_installcheck) $(REGRESS_NOPRELOAD_OPTS) --dbname=$(CONTRIB_TESTDB) $(REGRESS_NOPRELOAD)
