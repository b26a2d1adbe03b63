#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for the demo, the tests, CI and benchmarks.
#
#   scripts/pgcluster.sh install        install PostgreSQL, pg_partman, pgTAP, pg_cron, pgAudit and pgBackRest when missing (root only)
#   scripts/pgcluster.sh start DIR      create (if needed) and start a cluster in DIR on a free port
#   scripts/pgcluster.sh stop DIR       stop it (fast shutdown)
#   scripts/pgcluster.sh restart DIR    stop and start again on the same port
#   scripts/pgcluster.sh crash DIR      stop it as a crash would (immediate shutdown: no checkpoint, clients cut off)
#   scripts/pgcluster.sh bouncer CLUSTER DIR MODE   start PgBouncer (pool_mode MODE) in DIR in front of the cluster in CLUSTER
#   scripts/pgcluster.sh replica CLUSTER DIR   start a streaming replica (hot standby) of the cluster in CLUSTER in DIR
#   scripts/pgcluster.sh dsn DIR        print its DSN (PgBouncer's for a bouncer DIR)
#   scripts/pgcluster.sh destroy DIR    stop it and remove DIR
#
# pg_ctl refuses to run as root, so as root the cluster belongs to the `postgres` user.
# Connections go over TCP to 127.0.0.1 as the superuser `postgres` (trust: local and throwaway).
set -euo pipefail

die() { echo "pgcluster: $*" >&2; exit 1; }
note() { echo "pgcluster: $*" >&2; }

pg_major() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] || return 1
    basename "$(dirname "$dir")"
}

apt_install() {
    # One update per run at most: a fresh machine has no package lists yet.
    if [ ! -f /tmp/.pyevents-apt-updated ]; then
        apt-get update -qq >&2 && touch /tmp/.pyevents-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

cmd_install() {
    if ! pg_major >/dev/null; then
        [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and installing it needs root"
        note "installing PostgreSQL"
        apt_install postgresql postgresql-contrib
    fi
    local major share
    major=$(pg_major)
    share=/usr/share/postgresql/$major/extension
    local wanted=()
    [ -f "$share/pg_partman.control" ] || wanted+=("postgresql-$major-partman")
    [ -f "$share/pgtap.control" ] || wanted+=("postgresql-$major-pgtap")
    # pg_cron schedules `CALL pyevents.retention_maintenance()`; it only works in a cluster
    # started with shared_preload_libraries = 'pg_cron' (the tests start one for that).
    [ -f "$share/pg_cron.control" ] || wanted+=("postgresql-$major-cron")
    # pgAudit logs the calls of pyevents' functions (docs/access-audit.md); like pg_cron it
    # works only in a cluster started with it in shared_preload_libraries.
    [ -f "$share/pgaudit.control" ] || wanted+=("postgresql-$major-pgaudit")
    command -v pg_prove >/dev/null || wanted+=("libtap-parser-sourcehandler-pgtap-perl")
    command -v pgbackrest >/dev/null || wanted+=("pgbackrest")  # point-in-time recovery test
    [ -x /usr/sbin/pgbouncer ] || wanted+=("pgbouncer")  # tests through the pooler
    if [ ${#wanted[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            note "not root: cannot install ${wanted[*]}; tests that need them will be skipped"
            return 0
        fi
        for package in "${wanted[@]}"; do
            apt_install "$package" || note "WARNING: $package cannot be installed for PostgreSQL $major; tests that need it will be skipped"
        done
    fi
    [ -f "$share/pg_partman.control" ] && note "pg_partman: $(grep default_version "$share/pg_partman.control" | tr -d "'" | awk '{print $3}')" \
        || note "WARNING: pg_partman is not available for PostgreSQL $major"
    [ -f "$share/pgtap.control" ] || note "WARNING: pgTAP is not available for PostgreSQL $major"
    [ -f "$share/pg_cron.control" ] || note "WARNING: pg_cron is not available for PostgreSQL $major"
    [ -f "$share/pgaudit.control" ] || note "WARNING: pgAudit is not available for PostgreSQL $major (package postgresql-$major-pgaudit)"
    return 0
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
    local dir=$1 bin port
    bin=/usr/lib/postgresql/$(pg_major || die "PostgreSQL is not installed: run scripts/pgcluster.sh install")/bin
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "user postgres does not exist (install the postgresql package)"
        chown postgres: "$dir"
        chmod 755 "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    as_owner sh -c "echo $port > '$dir/port'"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 300 start \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir' -c max_connections=200 -c shared_buffers=256MB -c max_locks_per_transaction=256" >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; die "server did not start"; }
    cmd_dsn "$dir"
}

cmd_bouncer() {
    # PgBouncer on a free port, every database of the cluster behind it, trust for its superuser
    # (throwaway, loopback only). It refuses to run as root, like pg_ctl.
    local cluster=$1 dir=$2 mode=$3 port
    [ -x /usr/sbin/pgbouncer ] || die "PgBouncer is not installed: run scripts/pgcluster.sh install"
    [ -f "$cluster/port" ] || die "no cluster in $cluster"
    case "$mode" in session|transaction|statement) ;; *) die "pool mode must be session, transaction or statement" ;; esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    port=$(free_port)
    as_owner sh -c "echo $port > '$dir/port' && echo '\"postgres\" \"\"' > '$dir/userlist.txt'"
    as_owner sh -c "cat > '$dir/pgbouncer.ini'" <<INI
[databases]
* = host=127.0.0.1 port=$(cat "$cluster/port")

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $mode
max_client_conn = 500
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    as_owner /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini" >/dev/null 2>&1 \
        || { tail -n 20 "$dir/pgbouncer.log" >&2 || true; die "PgBouncer did not start"; }
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
        sleep 0.1
    done
    cmd_dsn "$dir"
}

cmd_replica() {
    # A physical copy taken with pg_basebackup; -R makes it a standby that streams from CLUSTER.
    local cluster=$1 dir=$2 bin
    bin=/usr/lib/postgresql/$(pg_major || die "PostgreSQL is not installed: run scripts/pgcluster.sh install")/bin
    [ -f "$cluster/port" ] || die "no cluster in $cluster"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 755 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/pg_basebackup" -D "$dir/data" -R -X stream -c fast -h 127.0.0.1 -p "$(cat "$cluster/port")" -U postgres \
            >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; die "pg_basebackup failed"; }
    fi
    cmd_start "$dir"
}

cmd_stop() {
    local dir=$1 bin
    if [ -f "$dir/pgbouncer.ini" ]; then
        [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
        for _ in $(seq 50); do [ -f "$dir/pgbouncer.pid" ] || break; sleep 0.1; done
        return 0
    fi
    bin=/usr/lib/postgresql/$(pg_major)/bin
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 300 stop >/dev/null
}

cmd_crash() {
    local dir=$1 bin
    bin=/usr/lib/postgresql/$(pg_major)/bin
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 300 stop >/dev/null
}

cmd_dsn() {
    [ -f "$1/port" ] || die "no cluster in $1"
    echo "postgresql://postgres@127.0.0.1:$(cat "$1/port")/postgres"
}

case "${1:-}" in
    install) cmd_install ;;
    start) [ $# = 2 ] || die "usage: $0 start DIR"; cmd_start "$2" ;;
    stop) [ $# = 2 ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
    restart) [ $# = 2 ] || die "usage: $0 restart DIR"; cmd_stop "$2"; cmd_start "$2" ;;
    crash) [ $# = 2 ] || die "usage: $0 crash DIR"; cmd_crash "$2" ;;
    bouncer) [ $# = 4 ] || die "usage: $0 bouncer CLUSTER DIR MODE"; cmd_bouncer "$2" "$3" "$4" ;;
    replica) [ $# = 3 ] || die "usage: $0 replica CLUSTER DIR"; cmd_replica "$2" "$3" ;;
    dsn) [ $# = 2 ] || die "usage: $0 dsn DIR"; cmd_dsn "$2" ;;
    destroy) [ $# = 2 ] || die "usage: $0 destroy DIR"; cmd_stop "$2"; rm -rf "$2" ;;
    *) die "usage: $0 install | start DIR | stop DIR | restart DIR | crash DIR | bouncer CLUSTER DIR MODE | replica CLUSTER DIR | dsn DIR | destroy DIR" ;;
esac
