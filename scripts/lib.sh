# shellcheck shell=bash
# Shared helpers for scripts/demo, scripts/test and scripts/install-deps.
# Sourced, not executed.  The sourcing script sets SCRIPT_PATH first.

# PG_CONFIG from the environment selects another PostgreSQL 15 installation
# (its bindir holds pg_ctl, initdb, psql and pgbench); default: Debian's.
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$(dirname "$PG_CONFIG")
if [[ -x "$PG_CONFIG" ]]; then PG_BIN=$("$PG_CONFIG" --bindir); fi
REPO=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd -P)
SCRIPT_NAME="scripts/$(basename "$SCRIPT_PATH")"
STEP="startup"

# A user's locale may not exist on this machine; initdb would refuse it.
# C.UTF-8 always exists on Debian and gives the same results everywhere.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE
# Connection settings from the caller's environment must not leak into
# our throwaway clusters or the tests.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGPASSFILE PGOPTIONS
export PATH="$PG_BIN:$PATH"

say()  { printf '%s\n' "$*"; }
step() { STEP="$*"; printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# ON_ERR_HINT, when set, is printed after the one-line failure message.
ON_ERR_HINT=""

# on_err is the ERR trap: one line that names the step that failed.
on_err() {
    local rc=$?
    # A failing command substitution reports through its caller.
    if (( BASH_SUBSHELL > 0 )); then exit "$rc"; fi
    printf 'error: %s failed (exit status %d) during: %s\n' "$SCRIPT_NAME" "$rc" "$STEP" >&2
    [[ -z "$ON_ERR_HINT" ]] || printf '%s\n' "$ON_ERR_HINT" >&2
    exit "$rc"
}

# need_root re-runs the calling script as root through sudo when needed.
need_root() {
    [[ $EUID -eq 0 ]] && return 0
    if command -v sudo >/dev/null 2>&1; then
        local sudo_flags=() env_args=() v
        # Never prompt under CI or without a terminal.
        if [[ "${CI:-}" == true || ! -t 0 ]]; then sudo_flags=(-n); fi
        for v in CI PG_CONFIG LAMBDA_VIEWS_DEMO_PORT LAMBDA_VIEWS_DEMO_SKIP_SQL LAMBDA_VIEWS_TEST_TIMEOUT; do
            [[ -z "${!v+x}" ]] || env_args+=("$v=${!v}")
        done
        say "$SCRIPT_NAME needs root; re-running it with sudo"
        exec sudo "${sudo_flags[@]}" -- env "${env_args[@]}" bash "$SCRIPT_PATH" "$@"
    fi
    die "$SCRIPT_NAME must run as root (it installs packages and runs PostgreSQL as the postgres user) and sudo is not installed; run it as root, e.g. su -c '$SCRIPT_PATH'"
}

# pg_as runs a command as the postgres user, from / so that an unreadable
# working directory does not matter.
pg_as() {
    local home
    home=$(getent passwd postgres | cut -d: -f6)
    ( cd / && exec runuser -u postgres -- env HOME="${home:-/var/lib/postgresql}" "$@" )
}

# postgres_can_enter succeeds when the postgres user can traverse DIR.
postgres_can_enter() {
    pg_as test -x "$1" >/dev/null 2>&1
}

# build_extension runs make and make install (as root) in the working tree.
build_extension() {
    step "building and installing lambda_views (make, make install)"
    local log
    log=$(mktemp /tmp/lambda_views_build.XXXXXX)
    if ! make -C "$REPO" PG_CONFIG="$PG_CONFIG" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "build failed (make); full output in $log"
    fi
    if ! make -C "$REPO" PG_CONFIG="$PG_CONFIG" install >>"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "make install failed; full output in $log"
    fi
    rm -f "$log"
    say "installed into $("$PG_CONFIG" --pkglibdir) and $("$PG_CONFIG" --sharedir)/extension"
}
