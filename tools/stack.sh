#!/usr/bin/env bash
# The one-host cloud: brings services up on this machine, on loopback.
#
#   tools/stack.sh [up] [SERVICE...]   start SERVICEs (default: all known)
#   tools/stack.sh status [SERVICE...] say whether each service is alive
#   tools/stack.sh -h|--help
#
# Services: swift (more are added as functions <name>_up / <name>_status).
# Re-running `up` on a running cloud changes nothing and says so.  Stop it
# all with tools/unstack.sh [--purge].
#
# Environment (defaults in brackets):
#   STACK_DIR          where configs, data, logs and pid files live [<repo>/.stack]
#   STACK_SKIP_DEPS=1  do not run tools/install_deps.sh first
#   STACK_WAIT         seconds to wait for a service to answer [90]
#   SWIFT_PROXY_PORT   proxy port [8080]
#   SWIFT_PORT_BASE    storage ports: node N uses BASE+10*(N-1) for its
#                      object, +1 container and +2 account server [6010]
#   SWIFT_PART_POWER   log2 of the ring's partition count [8]
#   SWIFT_RSYNC_PORT   the rsync daemon the replicators push to
#                      [SWIFT_PORT_BASE + 3]
#
# Swift: 4 devices (directories under $STACK_DIR/data/swift) in 4 zones,
# 3 replicas, each account/container/object server its own process (started
# by bin/swift-init; logs in $STACK_DIR/logs/swift, pids in
# $STACK_DIR/pids/swift) with its consistency daemons (replicator, auditor,
# updater or reaper), one rsync daemon on 127.0.0.1 for the replicators
# (module <type><port> per server: vm_test_mode), and a proxy with tempauth
# users test:tester/testing (.admin), test2:tester2/testing2 (.admin) and
# test:tester3/testing3.
# $STACK_DIR/swiftrc exports ST_AUTH, ST_USER and ST_KEY for bin/swift.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=$(realpath -m "${STACK_DIR:-$top/.stack}")
STACK_WAIT=${STACK_WAIT:-90}
PY="$top/.venv/bin/python"
KNOWN_SERVICES=(swift)

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

say() { echo "stack: $*"; }

# die REASON [LOG]: the log's tail (when given) then one line saying why.
die() {
    local reason=$1 log=${2:-}
    if [ -n "$log" ] && [ -f "$log" ]; then
        echo "---- last lines of $log ----" >&2
        tail -n 30 "$log" >&2 || true
        echo "----" >&2
    fi
    echo "stack: FAILED: $reason" >&2
    exit 1
}

# http_status URL [HEADER...]: the HTTP status, or 000 when nothing answers.
http_status() {
    "$PY" - "$@" <<'PYEOF' 2>/dev/null || echo 000
import sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1])
for h in sys.argv[2:]:
    name, _, value = h.partition(':')
    req.add_header(name.strip(), value.strip())
try:
    with urllib.request.urlopen(req, timeout=5) as resp:
        print(resp.status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print('000')
PYEOF
}

prepare_stack_dir() {
    mkdir -p "$STACK_DIR/logs" "$STACK_DIR/pids"
    # unstack.sh --purge only removes a directory carrying this marker.
    [ -f "$STACK_DIR/.stack-dir" ] || echo "made by tools/stack.sh" > "$STACK_DIR/.stack-dir"
}

install_deps() {
    if [ "${STACK_SKIP_DEPS:-0}" = 1 ]; then
        return
    fi
    say "installing dependencies (tools/install_deps.sh)"
    "$top/tools/install_deps.sh" > "$STACK_DIR/logs/install_deps.log" 2>&1 \
        || die "tools/install_deps.sh failed" "$STACK_DIR/logs/install_deps.log"
}

# ---------------------------------------------------------------- swift

SWIFT_PROXY_PORT=${SWIFT_PROXY_PORT:-8080}
SWIFT_PORT_BASE=${SWIFT_PORT_BASE:-6010}
SWIFT_PART_POWER=${SWIFT_PART_POWER:-8}
# node 1 uses BASE+0..2: +3 is free in the port scheme
SWIFT_RSYNC_PORT=${SWIFT_RSYNC_PORT:-$((SWIFT_PORT_BASE + 3))}
SWIFT_ETC="$STACK_DIR/etc/swift"
SWIFT_DATA="$STACK_DIR/data/swift"
SWIFT_LOGS="$STACK_DIR/logs/swift"
SWIFT_PIDS="$STACK_DIR/pids/swift"
SWIFT_NODES=4

swift_init() {
    "$PY" "$top/bin/swift-init" --swift-dir "$SWIFT_ETC" --run-dir "$SWIFT_PIDS" \
        --log-dir "$SWIFT_LOGS" --start-wait "$STACK_WAIT" "$@"
}

swift_port() {  # swift_port NODE KIND
    local off
    case $2 in object) off=0 ;; container) off=1 ;; account) off=2 ;; esac
    echo $((SWIFT_PORT_BASE + 10 * ($1 - 1) + off))
}

swift_write_storage_conf() {  # NODE KIND
    local node=$1 kind=$2 module=$2
    [ "$kind" = object ] && module=obj
    mkdir -p "$SWIFT_ETC/$kind-server"
    cat > "$SWIFT_ETC/$kind-server/$node.conf" <<EOF
# $kind server of node $node (written by tools/stack.sh)
[DEFAULT]
devices = $SWIFT_DATA/node$node
mount_check = false
bind_ip = 127.0.0.1
bind_port = $(swift_port "$node" "$kind")
workers = 0
swift_dir = $SWIFT_ETC
log_name = $kind-server-$node

[pipeline:main]
pipeline = $kind-server

[app:$kind-server]
paste.app_factory = swift.$module.server:app_factory
EOF
    swift_write_daemon_sections "$node" "$kind" >> "$SWIFT_ETC/$kind-server/$node.conf"
}

# The consistency daemons of one storage server (they read its config):
# replicators push to the rsync daemon of this host (module <type><port>),
# and passes come more often than on a production node, so a one-host cloud
# repairs itself while you watch.
swift_write_daemon_sections() {  # NODE KIND
    local node=$1 kind=$2
    cat <<EOF

[$kind-replicator]
log_name = $kind-replicator-$node
vm_test_mode = yes
rsync_port = $SWIFT_RSYNC_PORT
run_pause = 30
EOF
    case $kind in
        object)
            cat <<EOF

[object-auditor]
log_name = object-auditor-$node
interval = 60

[object-updater]
log_name = object-updater-$node
interval = 30
EOF
            ;;
        container)
            cat <<EOF

[container-updater]
log_name = container-updater-$node
interval = 30

[container-auditor]
log_name = container-auditor-$node
interval = 300
EOF
            ;;
        account)
            cat <<EOF

[account-auditor]
log_name = account-auditor-$node
interval = 300

[account-reaper]
log_name = account-reaper-$node
interval = 60
EOF
            ;;
    esac
}

# rsyncd.conf for the replicators: one writable module per storage server,
# bound to loopback only (rsync daemon modules have no authentication).
swift_write_rsyncd_conf() {
    local node kind
    {
        echo "# rsync daemon for the swift replicators (written by tools/stack.sh)"
        echo "uid = $(id -un)"
        echo "gid = $(id -gn)"
        echo "use chroot = no"
        echo "address = 127.0.0.1"
        echo "port = $SWIFT_RSYNC_PORT"
        echo "pid file = $SWIFT_PIDS/rsyncd.pid"
        echo "log file = $SWIFT_LOGS/rsyncd.log"
        for node in $(seq 1 $SWIFT_NODES); do
            for kind in account container object; do
                echo
                echo "[$kind$(swift_port "$node" "$kind")]"
                echo "path = $SWIFT_DATA/node$node"
                echo "read only = false"
            done
        done
    } > "$SWIFT_ETC/rsyncd.conf"
}

swift_write_configs() {
    mkdir -p "$SWIFT_ETC" "$SWIFT_LOGS" "$SWIFT_PIDS"
    cat > "$SWIFT_ETC/swift.conf" <<EOF
# written by tools/stack.sh; the suffix must never change once data exists
[swift-hash]
swift_hash_path_suffix = $("$PY" -c 'import uuid; print(uuid.uuid4().hex)')
EOF
    local node kind
    for node in $(seq 1 $SWIFT_NODES); do
        mkdir -p "$SWIFT_DATA/node$node/sdb$node"
        for kind in account container object; do
            swift_write_storage_conf "$node" "$kind"
        done
    done
    swift_write_rsyncd_conf
    cat > "$SWIFT_ETC/proxy-server.conf" <<EOF
# proxy server (written by tools/stack.sh)
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_PROXY_PORT
workers = 0
swift_dir = $SWIFT_ETC
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors healthcheck proxy-logging cache tempauth proxy-server

[app:proxy-server]
paste.app_factory = swift.proxy.server:app_factory
allow_account_management = true
account_autocreate = true

[filter:tempauth]
paste.filter_factory = swift.common.middleware.tempauth:filter_factory
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin
user_test_tester3 = testing3

[filter:healthcheck]
paste.filter_factory = swift.common.middleware.healthcheck:filter_factory

[filter:cache]
paste.filter_factory = swift.common.middleware.memcache:filter_factory

[filter:catch_errors]
paste.filter_factory = swift.common.middleware.catch_errors:filter_factory

[filter:proxy-logging]
paste.filter_factory = swift.common.middleware.proxy_logging:filter_factory
EOF
}

swift_build_rings() {
    local kind node builder log="$SWIFT_LOGS/ring-builder.log"
    : > "$log"
    for kind in account container object; do
        builder="$SWIFT_ETC/$kind.builder"
        rm -f "$builder" "$SWIFT_ETC/$kind.ring.gz"
        local add=()
        for node in $(seq 1 $SWIFT_NODES); do
            add+=("z$node-127.0.0.1:$(swift_port "$node" "$kind")/sdb$node" 1)
        done
        {
            "$PY" "$top/bin/swift-ring-builder" "$builder" create "$SWIFT_PART_POWER" 3 1 &&
            "$PY" "$top/bin/swift-ring-builder" "$builder" add "${add[@]}" &&
            "$PY" "$top/bin/swift-ring-builder" "$builder" rebalance
        } >> "$log" 2>&1 || die "could not build the $kind ring" "$log"
        if [ ! -f "$SWIFT_ETC/$kind.ring.gz" ]; then
            "$PY" "$top/bin/swift-ring-builder" "$builder" write_ring >> "$log" 2>&1 \
                || die "could not write the $kind ring" "$log"
        fi
    done
}

swift_proxy_url() { echo "http://127.0.0.1:$SWIFT_PROXY_PORT"; }

# swift_rsync_pid: the pid of our rsync daemon, if it runs.
swift_rsync_pid() {
    local pid
    pid=$(head -n1 "$SWIFT_PIDS/rsyncd.pid" 2>/dev/null | tr -dc '0-9')
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
        && tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qxF -- "--config=$SWIFT_ETC/rsyncd.conf" \
        && echo "$pid"
}

swift_rsync_listening() {
    "$PY" -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' \
        "$SWIFT_RSYNC_PORT" 2>/dev/null
}

swift_rsync_up() {
    if [ -n "$(swift_rsync_pid)" ]; then
        return
    fi
    [ -f "$SWIFT_ETC/rsyncd.conf" ] || swift_write_rsyncd_conf
    # rsync will not start over a pid file left by a daemon that died
    rm -f "$SWIFT_PIDS/rsyncd.pid"
    if swift_rsync_listening; then
        die "port $SWIFT_RSYNC_PORT (SWIFT_RSYNC_PORT) is already in use by another process"
    fi
    command -v rsync > /dev/null || die "rsync is not installed (tools/install_deps.sh)"
    rsync --daemon --config="$SWIFT_ETC/rsyncd.conf" >> "$SWIFT_LOGS/rsyncd.log" 2>&1 \
        || die "the rsync daemon did not start" "$SWIFT_LOGS/rsyncd.log"
    local i
    for ((i = 0; i < 100; i++)); do
        [ -n "$(swift_rsync_pid)" ] && swift_rsync_listening && return
        sleep 0.1
    done
    die "the rsync daemon does not listen on 127.0.0.1:$SWIFT_RSYNC_PORT" "$SWIFT_LOGS/rsyncd.log"
}

swift_auth_ok() {
    [ "$(http_status "$(swift_proxy_url)/auth/v1.0" 'X-Auth-User: test:tester' \
        'X-Auth-Key: testing')" = 200 ]
}

swift_healthy() {
    [ "$(http_status "$(swift_proxy_url)/healthcheck")" = 200 ] && swift_auth_ok
}

swift_up() {
    if [ -f "$SWIFT_ETC/swift.conf" ] && swift_init all status > /dev/null 2>&1 \
            && [ -n "$(swift_rsync_pid)" ] && swift_healthy; then
        say "swift is already running at $(swift_proxy_url); nothing changed"
        return
    fi
    if [ ! -f "$SWIFT_ETC/swift.conf" ] || [ ! -f "$SWIFT_ETC/object.ring.gz" ]; then
        say "swift: writing configs and building rings in $SWIFT_ETC"
        swift_write_configs
        swift_build_rings
    else
        say "swift: keeping the configs and rings already in $SWIFT_ETC"
    fi
    say "swift: starting the rsync daemon on 127.0.0.1:$SWIFT_RSYNC_PORT"
    swift_rsync_up
    say "swift: starting servers and daemons (logs in $SWIFT_LOGS)"
    if ! swift_init all start > "$SWIFT_LOGS/swift-init.log" 2>&1; then
        local why
        why=$(grep -m1 -E 'in use|failed|no config|launcher|will not' \
            "$SWIFT_LOGS/swift-init.log" || true)
        die "swift-init could not start every server${why:+: $why}" \
            "$SWIFT_LOGS/swift-init.log"
    fi
    local deadline=$((SECONDS + STACK_WAIT))
    until swift_healthy; do
        if [ $SECONDS -ge $deadline ]; then
            die "the swift proxy on port $SWIFT_PROXY_PORT does not answer or auth fails after ${STACK_WAIT}s" \
                "$SWIFT_LOGS/proxy-server.log"
        fi
        sleep 0.5
    done
    cat > "$STACK_DIR/swiftrc" <<EOF
# source this file to use bin/swift against the tools/stack.sh cloud
export ST_AUTH=$(swift_proxy_url)/auth/v1.0
export ST_USER=test:tester
export ST_KEY=testing
EOF
    say "swift is up: proxy $(swift_proxy_url), auth $(swift_proxy_url)/auth/v1.0;" \
        "credentials in $STACK_DIR/swiftrc"
}

swift_status() {
    if [ ! -f "$SWIFT_ETC/swift.conf" ]; then
        echo "swift: not set up (no $SWIFT_ETC/swift.conf)"
        return 1
    fi
    local out rc=0
    out=$(swift_init all status 2>&1) || rc=$?
    echo "$out" | sed 's/^/swift: /'
    local rsync_pid
    rsync_pid=$(swift_rsync_pid || true)
    if [ -n "$rsync_pid" ] && swift_rsync_listening; then
        echo "swift: rsync daemon running (pid $rsync_pid) on 127.0.0.1:$SWIFT_RSYNC_PORT"
    else
        echo "swift: rsync daemon not running"
        rc=1
    fi
    if swift_healthy; then
        echo "swift: proxy $(swift_proxy_url) answers and auth works"
    else
        echo "swift: proxy $(swift_proxy_url) is not answering (or auth fails)"
        rc=1
    fi
    if [ $rc = 0 ]; then echo "swift: alive"; else echo "swift: NOT alive"; fi
    return $rc
}

# ---------------------------------------------------------------- dispatch

check_services() {
    local svc known
    for svc in "$@"; do
        known=0
        for k in "${KNOWN_SERVICES[@]}"; do [ "$svc" = "$k" ] && known=1; done
        if [ $known = 0 ]; then
            echo "stack: unknown service '$svc' (known: ${KNOWN_SERVICES[*]})" >&2
            exit 2
        fi
    done
}

main() {
    local action=up
    case "${1:-}" in
        -h|--help) usage; exit 0 ;;
        up|status) action=$1; shift ;;
    esac
    local services=("$@")
    [ ${#services[@]} -gt 0 ] || services=("${KNOWN_SERVICES[@]}")
    check_services "${services[@]}"
    local svc rc=0
    if [ "$action" = status ]; then
        for svc in "${services[@]}"; do "${svc}_status" || rc=1; done
        exit $rc
    fi
    if [ "$(id -u)" != 0 ] && [ "${STACK_SKIP_DEPS:-0}" != 1 ]; then
        say "note: not root; tools/install_deps.sh may fail to install system packages"
    fi
    prepare_stack_dir
    install_deps
    [ -x "$PY" ] || die "no $PY (run tools/install_deps.sh)"
    for svc in "${services[@]}"; do "${svc}_up"; done
}

main "$@"
