#!/bin/sh
# Starts PgBouncer with config/pgbouncer/pgbouncer.ini (transaction pooling) in front of one
# PostgreSQL: writes the deployment's ini and auth file into PGBOUNCER_DIR, then execs pgbouncer
# in the foreground (logging to stderr). Used by docker-compose.yml, scripts/run (PGBOUNCER=1) and
# the drills (drills/stack.py). PgBouncer refuses to run as root: as root it drops to the
# postgres user once it has read both files.
#   PGBOUNCER_DIR                      where the ini and auth file go (required)
#   PGBOUNCER_LISTEN_ADDR, _PORT       127.0.0.1, 6432
#   PGBOUNCER_POOL_SIZE                server connections per database (default 20)
#   PGBOUNCER_MAX_CLIENT_CONN          client connections at once (default 1000)
#   PGBOUNCER_SERVER_HOST, _PORT       the PostgreSQL (127.0.0.1, 5432)
#   PGBOUNCER_USER, PGBOUNCER_PASSWORD the one role clients log in as and PgBouncer logs in with
#   PGBOUNCER_AUTH_TYPE                trust (this machine's PostgreSQL trusts 127.0.0.1), or
#                                      scram-sha-256 with a password (compose)
#   PGBOUNCER_STRICT=1                 DISCARD ALL after every transaction: a client relying on
#                                      session state (a SET, a cursor kept open) fails at once
#                                      instead of now and then (the drills)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
dir="${PGBOUNCER_DIR:?PGBOUNCER_DIR: where to write the ini}"
pool_size="${PGBOUNCER_POOL_SIZE:-20}"
mkdir -p "$dir"
printf '"%s" "%s"\n' "${PGBOUNCER_USER:-postgres}" "${PGBOUNCER_PASSWORD:-}" >"$dir/userlist.txt"
chmod 600 "$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=${PGBOUNCER_SERVER_HOST:-127.0.0.1} port=${PGBOUNCER_SERVER_PORT:-5432}

[pgbouncer]
listen_addr = ${PGBOUNCER_LISTEN_ADDR:-127.0.0.1}
listen_port = ${PGBOUNCER_PORT:-6432}
unix_socket_dir =
auth_type = ${PGBOUNCER_AUTH_TYPE:-trust}
auth_file = $dir/userlist.txt
default_pool_size = $pool_size
max_db_connections = $pool_size
max_client_conn = ${PGBOUNCER_MAX_CLIENT_CONN:-1000}
server_reset_query_always = ${PGBOUNCER_STRICT:-0}
stats_users = ${PGBOUNCER_USER:-postgres}
%include $here/pgbouncer.ini
INI
if [ "$(id -u)" = 0 ]; then
  exec pgbouncer -u postgres "$dir/pgbouncer.ini"
fi
exec pgbouncer "$dir/pgbouncer.ini"
