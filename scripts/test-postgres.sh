#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 cluster: initdb into a temp dir as the
# unprivileged `postgres` user, listen on 127.0.0.1 on a free port with trust auth, export
# PAPERBOY_TEST_DATABASE_URL, run "$@", then stop the cluster and remove it (on any exit).
#   scripts/test-postgres.sh npx vitest run test/store/contract.test.ts
set -euo pipefail
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
  echo "test-postgres: $PGBIN/initdb not found (apt-get install postgresql); running without PostgreSQL" >&2
  exec "$@"
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
dir=$(mktemp -d /tmp/paperboy-pg.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
export PAPERBOY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "test-postgres: PostgreSQL 15 on 127.0.0.1:$port ($dir)" >&2
status=0
"$@" || status=$?
exit "$status"
