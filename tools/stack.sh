#!/usr/bin/env bash
# The one-host cloud: nova, swift and glance on this machine, one command.
#
#   tools/stack.sh [up] [SERVICE...]   start SERVICEs (default: all, in order)
#   tools/stack.sh status [SERVICE...] say whether each service is alive
#   tools/stack.sh -h|--help
#
# Run it as root on Debian 12.  Services, in the order `up` starts them:
#   swift   proxy, 4 storage nodes (account, container, object servers and
#           their consistency daemons), rsync for the replicators
#   glance  glance-registry (SQLite) and glance-api, images stored in swift
#   nova    RabbitMQ (started if none answers; a virtual host of its own),
#           a private libvirtd, nova-api (EC2 + OpenStack API + metadata),
#           nova-objectstore, nova-scheduler, nova-network (FlatDHCP) and
#           nova-compute (libvirt); the database synced, an admin user and
#           project with keys, a fixed network and a floating range
#   images  tools/build_test_image.sh, registered in glance: the aki/ari/ami
#           triple (kernel_id/ramdisk_id) and the qcow2 whole-disk image
# Then $STACK_DIR/novarc holds the admin's credentials and the endpoints are
# printed.  Re-running `up` on a running cloud changes nothing and says so.
# Each daemon is its own process with its own log ($STACK_DIR/logs) and pid
# file ($STACK_DIR/pids).  Stop it all with tools/unstack.sh [--purge].
#
# STACK_NETNS=NAME runs the whole cloud inside network namespace NAME, made
# here: loopback, the guest bridge, the floating range, libvirtd and every
# daemon live in it (RabbitMQ is reached through a relay on its loopback);
# run clients with `ip netns exec NAME ...`.  Without it the cloud uses the
# host's network: APIs on STACK_HOST_IP (loopback), guests on a private
# bridge, floating IPs on a bridge of its own; interfaces it did not make
# are never touched.
#
# Environment (defaults in brackets); the values of the first run are kept
# in $STACK_DIR/stack.env and win over later ones (unstack.sh --purge to
# start over):
#   STACK_DIR             configs, data, logs and pid files [<repo>/.stack]
#   STACK_NETNS           network namespace to run in [none: host network]
#   STACK_SKIP_DEPS=1     do not run tools/install_deps.sh first
#   STACK_WAIT            seconds to wait for a service to answer [90]
#   STACK_HOST_IP         address clients and services use [127.0.0.1]
#   STACK_EC2_LISTEN      address nova-api's EC2/metadata port binds; guests
#                         reach it through their gateway [0.0.0.0]
#   STACK_EC2_PORT [8773]  STACK_OSAPI_PORT [8774]  STACK_S3_PORT [3333]
#   STACK_GLANCE_PORT [9292]  STACK_GLANCE_REGISTRY_PORT [9191]
#   STACK_FIXED_RANGE     the guests' network [10.11.12.0/24]
#   STACK_BRIDGE          the guests' bridge [br100]
#   STACK_FLOATING_RANGE  floating IPs [172.24.4.224/28]
#   STACK_PUBLIC_INTERFACE  where floating IPs are bound; made (a bridge)
#                         when missing [stackpub0]
#   STACK_PUBLIC_IP       its own address, STACK_NETNS mode only
#                         [172.24.4.1/24]
#   STACK_LIBVIRT_TYPE    qemu or kvm [qemu: nested KVM hangs here]
#   STACK_RABBIT_HOST [127.0.0.1]  STACK_RABBIT_PORT [5672]
#   STACK_RABBIT_USER [guest]  STACK_RABBIT_PASSWORD [guest]
#   STACK_RABBIT_VHOST    [nova-stack-<hash of STACK_DIR>]
#   STACK_ADMIN           admin user and project [admin]
#   STACK_IMAGE_DIR       where the test image is built [/var/tmp/nova-test-image]
#   SWIFT_PROXY_PORT      proxy port [8080]
#   SWIFT_PORT_BASE       storage ports: node N uses BASE+10*(N-1) for its
#                         object, +1 container and +2 account server [6010]
#   SWIFT_PART_POWER      log2 of the ring's partition count [8]
#   SWIFT_RSYNC_PORT      the rsync daemon the replicators push to
#                         [SWIFT_PORT_BASE + 3]
#
# Swift: 4 devices (directories under $STACK_DIR/data/swift) in 4 zones,
# 3 replicas, tempauth users test:tester/testing (.admin, in novarc),
# test2:tester2/testing2 (.admin, glance's store) and test:tester3/testing3.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=$(realpath -m "${STACK_DIR:-$top/.stack}")
export STACK_DIR
PY="$top/.venv/bin/python"
KNOWN_SERVICES=(swift glance nova images)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

say() { echo "stack: $*"; }

# die REASON [LOG...]: the logs' tails (when given) then one line saying why.
die() {
    local reason=$1 log
    shift
    for log in "$@"; do
        if [ -n "$log" ] && [ -s "$log" ]; then
            echo "---- last lines of $log ----" >&2
            tail -n 30 "$log" >&2 || true
            echo "----" >&2
        fi
    done
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
    mkdir -p "$STACK_DIR/logs" "$STACK_DIR/pids" "$STACK_DIR/run"
    # dnsmasq drops to 'nobody' and then re-reads its hosts file under here
    chmod 755 "$STACK_DIR"
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

# ---------------------------------------------------------------- settings
#
# The settings of a STACK_DIR are fixed by its first run (stack.env): ports
# and ranges are baked into configs, databases and rules, and unstack.sh
# needs to know what was made.

SETTINGS=(STACK_NETNS STACK_HOST_IP STACK_EC2_LISTEN STACK_EC2_PORT
    STACK_OSAPI_PORT STACK_S3_PORT STACK_GLANCE_PORT STACK_GLANCE_REGISTRY_PORT
    STACK_FIXED_RANGE STACK_BRIDGE STACK_FLOATING_RANGE STACK_PUBLIC_INTERFACE
    STACK_PUBLIC_IP STACK_LIBVIRT_TYPE STACK_RABBIT_HOST STACK_RABBIT_PORT
    STACK_RABBIT_USER STACK_RABBIT_PASSWORD STACK_RABBIT_VHOST STACK_ADMIN
    STACK_NOVA_HOST SWIFT_PROXY_PORT SWIFT_PORT_BASE SWIFT_PART_POWER
    SWIFT_RSYNC_PORT)

load_settings() {
    local file="$STACK_DIR/stack.env" line name value known
    [ -f "$file" ] || return 0
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        name=${line%%=*}
        value=${line#*=}
        known=0
        for k in "${SETTINGS[@]}"; do [ "$k" = "$name" ] && known=1; done
        [ $known = 1 ] || continue
        if [ -n "${!name+x}" ] && [ "${!name}" != "$value" ] && [ "${STACK_INSIDE:-0}" != 1 ]; then
            say "note: $name=${!name} ignored: $STACK_DIR was set up with $name=$value" \
                "(tools/unstack.sh --purge to start over)"
        fi
        printf -v "$name" '%s' "$value"
    done < "$file"
}

save_settings() {
    local name file="$STACK_DIR/stack.env"
    [ -f "$file" ] && return 0
    {
        echo "# settings of this one-host cloud (written by tools/stack.sh at its first run)"
        for name in "${SETTINGS[@]}"; do
            echo "$name=${!name-}"
        done
    } > "$file.tmp"
    mv "$file.tmp" "$file"
}

load_settings
STACK_WAIT=${STACK_WAIT:-90}
STACK_NETNS=${STACK_NETNS-}
STACK_HOST_IP=${STACK_HOST_IP:-127.0.0.1}
STACK_EC2_LISTEN=${STACK_EC2_LISTEN:-0.0.0.0}
STACK_EC2_PORT=${STACK_EC2_PORT:-8773}
STACK_OSAPI_PORT=${STACK_OSAPI_PORT:-8774}
STACK_S3_PORT=${STACK_S3_PORT:-3333}
STACK_GLANCE_PORT=${STACK_GLANCE_PORT:-9292}
STACK_GLANCE_REGISTRY_PORT=${STACK_GLANCE_REGISTRY_PORT:-9191}
STACK_FIXED_RANGE=${STACK_FIXED_RANGE:-10.11.12.0/24}
STACK_BRIDGE=${STACK_BRIDGE:-br100}
STACK_FLOATING_RANGE=${STACK_FLOATING_RANGE:-172.24.4.224/28}
STACK_PUBLIC_INTERFACE=${STACK_PUBLIC_INTERFACE:-stackpub0}
STACK_PUBLIC_IP=${STACK_PUBLIC_IP:-172.24.4.1/24}
STACK_LIBVIRT_TYPE=${STACK_LIBVIRT_TYPE:-qemu}
STACK_RABBIT_HOST=${STACK_RABBIT_HOST:-127.0.0.1}
STACK_RABBIT_PORT=${STACK_RABBIT_PORT:-5672}
STACK_RABBIT_USER=${STACK_RABBIT_USER:-guest}
STACK_RABBIT_PASSWORD=${STACK_RABBIT_PASSWORD:-guest}
STACK_RABBIT_VHOST=${STACK_RABBIT_VHOST:-nova-stack-$(printf '%s' "$STACK_DIR" | sha1sum | cut -c1-8)}
STACK_ADMIN=${STACK_ADMIN:-admin}
STACK_NOVA_HOST=${STACK_NOVA_HOST:-$(hostname -s)}
STACK_IMAGE_DIR=${STACK_IMAGE_DIR:-/var/tmp/nova-test-image}

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

# ---------------------------------------------------------------- processes
#
# Every daemon runs in a session of its own (setsid), its output appended to
# a log, its pid in a file under $STACK_DIR/pids.  A pid only counts as ours
# while its command line names $STACK_DIR, so a stale pid file never makes
# an unrelated process look like a service.

ours() {
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
    tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$STACK_DIR/"
}

pid_of() {  # pid_of PIDFILE: the pid, when it is alive and ours
    local pid
    pid=$(head -n1 "$1" 2>/dev/null | tr -dc '0-9')
    ours "$pid" && echo "$pid"
}

# start_daemon PIDFILE OUT CMD...: CMD in its own session, output to OUT.
start_daemon() {
    local pidfile=$1 out=$2
    shift 2
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$out")"
    echo "==== $(date -u +%FT%TZ) starting: $*" >> "$out"
    # Not a process group leader here (no job control), so setsid execs in
    # place and $! is the daemon's own pid.
    setsid "$@" >> "$out" 2>&1 < /dev/null &
    echo $! > "$pidfile"
}

port_taken() {  # port_taken PORT [HOST]: something accepts connections there
    "$PY" -c 'import socket, sys
socket.create_connection((sys.argv[2], int(sys.argv[1])), timeout=2).close()' \
        "$1" "${2:-127.0.0.1}" 2>/dev/null
}

# wait_until WHAT PIDFILE SECONDS CMD...: poll CMD until it succeeds; fail
# early when the daemon of PIDFILE died, late when SECONDS are over.
wait_until() {
    local what=$1 pidfile=$2 limit=$3
    shift 3
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if [ -n "$pidfile" ] && [ -z "$(pid_of "$pidfile")" ]; then
            return 2
        fi
        if [ $SECONDS -ge $deadline ]; then
            return 1
        fi
        sleep 0.5
    done
}

# run_logged LOG TIMEOUT CMD...: CMD bounded in time, its output in LOG.
run_logged() {
    local log=$1 limit=$2
    shift 2
    echo "==== $(date -u +%FT%TZ) $*" >> "$log"
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
}

# ---------------------------------------------------------------- network

# netcalc: validate the ranges; prints "GATEWAY SIZE" of the fixed range.
# In host mode it also refuses ranges that overlap the host's addresses
# (other than on the interfaces this cloud made).
netcalc() {
    local mine=""
    [ -f "$STACK_DIR/made" ] && mine=$(awk '$1 == "link" {print $2}' "$STACK_DIR/made" | tr '\n' ,)
    local host_addrs=""
    if [ -z "$STACK_NETNS" ]; then
        host_addrs=$(ip -o -4 addr show 2>/dev/null | awk '{print $2, $4}' | tr '\n' ';')
    fi
    "$PY" - "$STACK_FIXED_RANGE" "$STACK_FLOATING_RANGE" "$STACK_PUBLIC_IP" \
        "$host_addrs" "$mine" <<'PYEOF'
import sys
import netaddr
fixed_s, floating_s, public_s, host_addrs, mine = sys.argv[1:6]

def net(text, what):
    try:
        n = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError):
        sys.exit('%s %r is not an IPv4 CIDR' % (what, text))
    if n.version != 4:
        sys.exit('%s %s is not IPv4' % (what, text))
    return n

fixed = net(fixed_s, 'STACK_FIXED_RANGE')
floating = net(floating_s, 'STACK_FLOATING_RANGE')
public = net(public_s, 'STACK_PUBLIC_IP')
if fixed.ip != fixed.network:
    sys.exit('STACK_FIXED_RANGE %s has host bits set' % fixed)
if fixed.size < 8 or fixed.size > 65536:
    sys.exit('STACK_FIXED_RANGE %s: between /16 and /29, please' % fixed)
if floating.size > 1024:
    sys.exit('STACK_FLOATING_RANGE %s: at most 1024 addresses' % floating)
if fixed in floating or floating in fixed or \
        fixed.first <= floating.last and floating.first <= fixed.last:
    sys.exit('STACK_FIXED_RANGE %s overlaps STACK_FLOATING_RANGE %s'
             % (fixed, floating))
mine = set(filter(None, mine.split(',')))
for entry in filter(None, host_addrs.split(';')):
    dev, cidr = entry.split()
    if dev in mine:
        continue
    a = netaddr.IPNetwork(cidr)
    for ours, what in ((fixed, 'STACK_FIXED_RANGE'),
                       (floating, 'STACK_FLOATING_RANGE')):
        if a.ip in ours or ours.first <= a.last and a.first <= ours.last:
            sys.exit('%s %s overlaps %s of this host (%s): pick a private '
                     'range of your own' % (what, ours, cidr, dev))
print(fixed.network + 1, fixed.size)
PYEOF
}

made_add() {  # made_add KIND NAME: record what this cloud made, for unstack
    grep -qxF "$1 $2" "$STACK_DIR/made" 2>/dev/null || echo "$1 $2" >> "$STACK_DIR/made"
}

made_has() { grep -qxF "$1 $2" "$STACK_DIR/made" 2>/dev/null; }

link_exists() { ip link show dev "$1" > /dev/null 2>&1; }

in_netns() {  # true when this shell runs in namespace STACK_NETNS
    [ -n "$STACK_NETNS" ] && [ "$(ip netns identify $$ 2>/dev/null)" = "$STACK_NETNS" ]
}

# netns_up (on the host): the namespace with loopback up.
netns_up() {
    case $STACK_NETNS in
        *[!A-Za-z0-9_.-]*|.*|'') die "STACK_NETNS=$STACK_NETNS: use letters, digits, _ . -" ;;
    esac
    if ip netns list | awk '{print $1}' | grep -qxF "$STACK_NETNS"; then
        made_has netns "$STACK_NETNS" \
            || die "network namespace $STACK_NETNS exists and was not made for $STACK_DIR"
    else
        say "making network namespace $STACK_NETNS"
        made_add netns "$STACK_NETNS"
        ip netns add "$STACK_NETNS" || die "ip netns add $STACK_NETNS failed"
    fi
    ip netns exec "$STACK_NETNS" ip link set lo up || die "cannot bring lo up in $STACK_NETNS"
}

# The guests' bridge (made by nova-network) and the public interface: in
# host mode, never take over one that exists already and is not ours.
host_links_check() {
    if ! made_has link "$STACK_BRIDGE" && link_exists "$STACK_BRIDGE"; then
        die "interface $STACK_BRIDGE exists and was not made by this cloud (set STACK_BRIDGE)"
    fi
    made_add link "$STACK_BRIDGE"
}

public_interface_up() {
    if ! link_exists "$STACK_PUBLIC_INTERFACE"; then
        say "making $STACK_PUBLIC_INTERFACE (a bridge of its own) for floating IPs"
        made_add link "$STACK_PUBLIC_INTERFACE"
        ip link add "$STACK_PUBLIC_INTERFACE" type bridge \
            || die "cannot make bridge $STACK_PUBLIC_INTERFACE"
    fi
    if made_has link "$STACK_PUBLIC_INTERFACE"; then
        ip link set "$STACK_PUBLIC_INTERFACE" up
        if [ -n "$STACK_NETNS" ] && ! ip -o -4 addr show dev "$STACK_PUBLIC_INTERFACE" \
                | grep -qF " $STACK_PUBLIC_IP "; then
            ip addr add "$STACK_PUBLIC_IP" dev "$STACK_PUBLIC_INTERFACE" \
                || die "cannot put $STACK_PUBLIC_IP on $STACK_PUBLIC_INTERFACE"
        fi
    fi
}

# ---------------------------------------------------------------- rabbit

rabbit_answers() { port_taken "$STACK_RABBIT_PORT" "$STACK_RABBIT_HOST"; }

rabbitmqctl_() { timeout --kill-after=10 60 rabbitmqctl -q "$@"; }

# rabbit_up (on the host): a broker answers, and our virtual host exists.
rabbit_up() {
    local log="$STACK_DIR/logs/rabbitmq.log"
    if ! rabbit_answers; then
        case $STACK_RABBIT_HOST in 127.*|localhost) ;;
            *) die "no AMQP broker answers at $STACK_RABBIT_HOST:$STACK_RABBIT_PORT" ;;
        esac
        say "starting Debian's rabbitmq-server (none answers on port $STACK_RABBIT_PORT)"
        command -v rabbitmq-server > /dev/null || die "rabbitmq-server is not installed (tools/install_deps.sh)"
        run_logged "$log" 180 service rabbitmq-server start \
            || die "service rabbitmq-server start failed" "$log" /var/log/rabbitmq/startup_log
        wait_until "rabbitmq" "" "$STACK_WAIT" rabbit_answers \
            || die "RabbitMQ does not answer on port $STACK_RABBIT_PORT after ${STACK_WAIT}s" \
                "$log" /var/log/rabbitmq/startup_log
    fi
    case $STACK_RABBIT_HOST in 127.*|localhost) ;; *) return ;; esac
    [ "$STACK_RABBIT_VHOST" = / ] && return
    if ! rabbitmqctl_ list_vhosts 2>> "$log" | grep -qxF "$STACK_RABBIT_VHOST"; then
        say "RabbitMQ: virtual host $STACK_RABBIT_VHOST"
        made_add vhost "$STACK_RABBIT_VHOST"
        run_logged "$log" 90 rabbitmqctl -q add_vhost "$STACK_RABBIT_VHOST" \
            || die "rabbitmqctl add_vhost $STACK_RABBIT_VHOST failed" "$log"
    fi
    run_logged "$log" 90 rabbitmqctl -q set_permissions -p "$STACK_RABBIT_VHOST" \
        "$STACK_RABBIT_USER" '.*' '.*' '.*' \
        || die "rabbitmqctl set_permissions on $STACK_RABBIT_VHOST failed" "$log"
}

# In STACK_NETNS mode the daemons reach the host's broker at their own
# 127.0.0.1:$STACK_RABBIT_PORT: socat in the namespace -> a Unix socket
# under $STACK_DIR/run -> socat on the host -> the broker.  No address
# outside loopback is involved.
RELAY_SOCK="$STACK_DIR/run/amqp.sock"

relay_host_up() {
    local pidfile="$STACK_DIR/pids/amqp-relay-host.pid"
    [ -n "$(pid_of "$pidfile")" ] && [ -S "$RELAY_SOCK" ] && return
    [ ${#RELAY_SOCK} -lt 100 ] || die "STACK_DIR is too long for a Unix socket path ($RELAY_SOCK)"
    command -v socat > /dev/null || die "socat is not installed (tools/install_deps.sh)"
    rm -f "$RELAY_SOCK"
    start_daemon "$pidfile" "$STACK_DIR/logs/amqp-relay-host.log" socat \
        "UNIX-LISTEN:$RELAY_SOCK,fork,mode=600" \
        "TCP:$STACK_RABBIT_HOST:$STACK_RABBIT_PORT"
    wait_until "the AMQP relay socket" "$pidfile" 20 test -S "$RELAY_SOCK" \
        || die "the host side of the AMQP relay did not start" "$STACK_DIR/logs/amqp-relay-host.log"
}

relay_ns_up() {
    local pidfile="$STACK_DIR/pids/amqp-relay-ns.pid"
    [ -n "$(pid_of "$pidfile")" ] && return
    start_daemon "$pidfile" "$STACK_DIR/logs/amqp-relay-ns.log" socat \
        "TCP-LISTEN:$STACK_RABBIT_PORT,bind=127.0.0.1,reuseaddr,fork" \
        "UNIX-CONNECT:$RELAY_SOCK"
    wait_until "the AMQP relay" "$pidfile" 20 port_taken "$STACK_RABBIT_PORT" \
        || die "the AMQP relay in $STACK_NETNS does not listen on 127.0.0.1:$STACK_RABBIT_PORT" \
            "$STACK_DIR/logs/amqp-relay-ns.log"
}

# ---------------------------------------------------------------- libvirt
#
# A libvirtd of our own (as tests/integration/libvirt_env.py runs one): in a
# mount namespace of its own, /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt are directories under
# $STACK_DIR/libvirt, so it shares no socket, state or domain with any other
# libvirtd of the machine; nova-compute reaches it by its socket path.  QEMU
# runs as root without cgroups or a security driver, and logs to files.

LIBVIRT_DIR="$STACK_DIR/libvirt"
LIBVIRT_URI="qemu:///system?socket=$LIBVIRT_DIR/run/libvirt-sock"

libvirt_write_conf() {
    local d
    for d in etc etc/qemu run lib cache log; do mkdir -p "$LIBVIRT_DIR/$d"; done
    cat > "$LIBVIRT_DIR/etc/libvirtd.conf" <<'EOF'
# written by tools/stack.sh: local socket only, root only
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat > "$LIBVIRT_DIR/etc/qemu.conf" <<'EOF'
# written by tools/stack.sh
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
}

libvirt_answers() {
    timeout 15 virsh -q -c "$LIBVIRT_URI" version > /dev/null 2>&1
}

libvirt_up() {
    local pidfile="$STACK_DIR/pids/libvirtd.pid"
    if [ -n "$(pid_of "$pidfile")" ] && libvirt_answers; then
        return
    fi
    if [ "$STACK_LIBVIRT_TYPE" = kvm ] && [ ! -w /dev/kvm ]; then
        die "STACK_LIBVIRT_TYPE=kvm but /dev/kvm is missing or not usable"
    fi
    command -v libvirtd > /dev/null || die "libvirtd is not installed (tools/install_deps.sh)"
    libvirt_write_conf
    rm -f "$LIBVIRT_DIR/run/libvirt-sock" "$LIBVIRT_DIR/libvirtd.pid"
    say "nova: starting libvirtd (socket $LIBVIRT_DIR/run/libvirt-sock)"
    # shellcheck disable=SC2016
    start_daemon "$pidfile" "$STACK_DIR/logs/libvirtd.out" \
        unshare -m --propagation private sh -ec '
            d=$1
            mkdir -p /run/libvirt
            for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt \
                        cache:/var/cache/libvirt log:/var/log/libvirt; do
                mkdir -p "${pair#*:}"
                mount --bind "$d/${pair%%:*}" "${pair#*:}"
            done
            exec libvirtd -f /etc/libvirt/libvirtd.conf -p "$d/libvirtd.pid"' \
        sh "$LIBVIRT_DIR"
    local rc=0
    wait_until "libvirtd" "$pidfile" "$STACK_WAIT" libvirt_answers || rc=$?
    case $rc in
        0) ;;
        2) die "libvirtd exited at start" "$STACK_DIR/logs/libvirtd.out" "$LIBVIRT_DIR/log/libvirtd.log" ;;
        *) die "libvirtd does not answer on $LIBVIRT_URI after ${STACK_WAIT}s" \
               "$STACK_DIR/logs/libvirtd.out" "$LIBVIRT_DIR/log/libvirtd.log" ;;
    esac
}

# ---------------------------------------------------------------- glance

GLANCE_ETC="$STACK_DIR/etc/glance"
GLANCE_DATA="$STACK_DIR/data/glance"
GLANCE_LOGS="$STACK_DIR/logs/glance"

glance_write_configs() {
    mkdir -p "$GLANCE_ETC" "$GLANCE_DATA/images" "$GLANCE_LOGS"
    cat > "$GLANCE_ETC/glance-registry.conf" <<EOF
# glance-registry of the one-host cloud (written by tools/stack.sh)
[DEFAULT]
bind_host = $STACK_HOST_IP
bind_port = $STACK_GLANCE_REGISTRY_PORT
sql_connection = sqlite:///$GLANCE_DATA/registry.sqlite
db_auto_sync = True
log_file = $GLANCE_LOGS/glance-registry.log

[app:glance-registry]
paste.app_factory = glance.registry.server:app_factory
EOF
    cat > "$GLANCE_ETC/glance-api.conf" <<EOF
# glance-api of the one-host cloud (written by tools/stack.sh).  Open
# (noauth), as in glance's first release, so it listens on $STACK_HOST_IP
# only; nova checks image visibility itself.
[DEFAULT]
bind_host = $STACK_HOST_IP
bind_port = $STACK_GLANCE_PORT
registry_host = $STACK_HOST_IP
registry_port = $STACK_GLANCE_REGISTRY_PORT
auth_strategy = noauth
log_file = $GLANCE_LOGS/glance-api.log
default_store = swift
filesystem_store_datadir = $GLANCE_DATA/images
swift_store_auth_address = http://127.0.0.1:$SWIFT_PROXY_PORT/auth/v1.0
swift_store_user = test2:tester2
swift_store_key = testing2
swift_store_container = glance
swift_store_create_container_on_put = True

[pipeline:glance-api]
pipeline = authcontext apiv1app

[filter:authcontext]
paste.filter_factory = glance.api.auth:filter_factory

[app:apiv1app]
paste.app_factory = glance.api.server:app_factory
EOF
}

glance_url() { echo "http://$STACK_HOST_IP:$STACK_GLANCE_PORT"; }

glance_registry_ok() {
    [ "$(http_status "http://$STACK_HOST_IP:$STACK_GLANCE_REGISTRY_PORT/images")" = 200 ]
}

glance_api_ok() { [ "$(http_status "$(glance_url)/v1/images")" = 200 ]; }

# glance_start NAME PORT CHECK
glance_start() {
    local name=$1 port=$2 check=$3 pidfile="$STACK_DIR/pids/glance/$1.pid"
    if [ -n "$(pid_of "$pidfile")" ] && $check; then
        return 1
    fi
    if port_taken "$port" "$STACK_HOST_IP"; then
        die "port $port ($name) is already in use by another process"
    fi
    start_daemon "$pidfile" "$GLANCE_LOGS/$name.out" \
        "$PY" "$top/bin/$name" "$GLANCE_ETC/$name.conf"
    local rc=0
    wait_until "$name" "$pidfile" "$STACK_WAIT" $check || rc=$?
    case $rc in
        0) return 0 ;;
        2) die "$name exited at start" "$GLANCE_LOGS/$name.out" "$GLANCE_LOGS/$name.log" ;;
        *) die "$name does not answer on port $port after ${STACK_WAIT}s" \
               "$GLANCE_LOGS/$name.out" "$GLANCE_LOGS/$name.log" ;;
    esac
}

glance_up() {
    if ! swift_healthy; then
        die "glance stores images in swift, which is not running: tools/stack.sh up swift glance"
    fi
    [ -f "$GLANCE_ETC/glance-api.conf" ] || glance_write_configs
    local changed=0
    glance_start glance-registry "$STACK_GLANCE_REGISTRY_PORT" glance_registry_ok && changed=1
    glance_start glance-api "$STACK_GLANCE_PORT" glance_api_ok && changed=1
    if [ $changed = 0 ]; then
        say "glance is already running at $(glance_url); nothing changed"
    else
        say "glance is up: $(glance_url) (registry on port $STACK_GLANCE_REGISTRY_PORT," \
            "images in swift as test2:tester2)"
    fi
}

glance_status() {
    local rc=0 name
    for name in glance-registry glance-api; do
        local pid
        pid=$(pid_of "$STACK_DIR/pids/glance/$name.pid" || true)
        if [ -n "$pid" ]; then echo "glance: $name running (pid $pid)"
        else echo "glance: $name not running"; rc=1; fi
    done
    if glance_api_ok; then echo "glance: $(glance_url)/v1/images answers"
    else echo "glance: $(glance_url) does not answer"; rc=1; fi
    if [ $rc = 0 ]; then echo "glance: alive"; else echo "glance: NOT alive"; fi
    return $rc
}

# ---------------------------------------------------------------- nova

NOVA_ETC="$STACK_DIR/etc/nova"
NOVA_STATE="$STACK_DIR/data/nova"
NOVA_LOGS="$STACK_DIR/logs/nova"
NOVA_CONF="$NOVA_ETC/nova.conf"
NOVA_DAEMONS=(nova-api nova-objectstore nova-scheduler nova-network nova-compute)

nova_write_conf() {
    local gateway=$1 size=$2 my_ip routing_ip
    mkdir -p "$NOVA_ETC" "$NOVA_STATE/instances" "$NOVA_LOGS"
    # dnsmasq (as nobody) re-reads its hosts file under networks/
    chmod 755 "$STACK_DIR/data" "$NOVA_STATE"
    if [ -n "$STACK_NETNS" ]; then
        my_ip=${STACK_PUBLIC_IP%/*}
    else
        my_ip=$("$PY" -c 'from nova import flags; print(flags.FLAGS.my_ip)' 2>/dev/null || echo 127.0.0.1)
    fi
    routing_ip=$my_ip
    cat > "$NOVA_CONF" <<EOF
# nova.conf of the one-host cloud (written by tools/stack.sh); every nova
# daemon and nova-manage here reads it: nova-manage --flagfile=$NOVA_CONF
--state_path=$NOVA_STATE
--logdir=$NOVA_LOGS
--verbose
--host=$STACK_NOVA_HOST
--my_ip=$my_ip
--sql_connection=sqlite:///$NOVA_STATE/nova.sqlite

--rabbit_host=$([ -n "$STACK_NETNS" ] && echo 127.0.0.1 || echo "$STACK_RABBIT_HOST")
--rabbit_port=$STACK_RABBIT_PORT
--rabbit_userid=$STACK_RABBIT_USER
--rabbit_password=$STACK_RABBIT_PASSWORD
--rabbit_virtual_host=$STACK_RABBIT_VHOST
--rabbit_retry_interval=2
--report_interval=10
--periodic_interval=20

# nova-api: EC2 (and the metadata service guests reach through their
# gateway $gateway) and the OpenStack API
--api_paste_config=$top/etc/nova/api-paste.ini
--ec2_listen=$STACK_EC2_LISTEN
--ec2_host=$STACK_HOST_IP
--ec2_port=$STACK_EC2_PORT
--ec2_dmz_host=$gateway
--osapi_listen=$STACK_HOST_IP
--osapi_host=$STACK_HOST_IP
--osapi_port=$STACK_OSAPI_PORT
--osapi_path=/v1.1/
--osapi_storage_url=http://$STACK_HOST_IP:$SWIFT_PROXY_PORT/v1

# nova-objectstore
--s3_listen=$STACK_HOST_IP
--s3_host=$STACK_HOST_IP
--s3_dmz=$gateway
--s3_port=$STACK_S3_PORT

# images come from glance
--image_service=nova.image.glance.GlanceImageService
--glance_host=$STACK_HOST_IP
--glance_port=$STACK_GLANCE_PORT

# compute: libvirt (libvirtd of its own, see $LIBVIRT_DIR)
--connection_type=libvirt
--libvirt_type=$STACK_LIBVIRT_TYPE
--libvirt_uri=$LIBVIRT_URI
--instances_path=$NOVA_STATE/instances
--libvirt_boot_timeout=180

# network: FlatDHCP on bridge $STACK_BRIDGE, dnsmasq per bridge, NAT,
# floating IPs bound to $STACK_PUBLIC_INTERFACE
--network_manager=nova.network.manager.FlatDHCPManager
--flat_network_bridge=$STACK_BRIDGE
--flat_injected=false
--fixed_range=$STACK_FIXED_RANGE
--network_size=$size
--public_interface=$STACK_PUBLIC_INTERFACE
--routing_source_ip=$routing_ip
--dhcp_lease_time=120

--scheduler_driver=nova.scheduler.simple.SimpleScheduler
EOF
}

manage() {  # manage ARGS...: nova-manage with our flagfile (bounded)
    timeout --kill-after=10 180 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" "$@"
}

# nova_rpc_ping TOPIC PIDFILE SECONDS: until the service consumes
# TOPIC.<host> (its queue exists only once init_host is over).
nova_rpc_ping() {
    "$PY" - "$NOVA_CONF" "$1.$STACK_NOVA_HOST" "$(pid_of "$2" || echo 0)" "$3" <<'PYEOF'
import os, sys, time
from nova import context, exception, flags, rpc
from nova import service
service.parse_args(['ping', '--flagfile=' + sys.argv[1]], '')
topic, pid, limit = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + limit
while True:
    if not os.path.exists('/proc/%d' % pid):
        sys.exit(2)
    try:
        rpc.call(context.get_admin_context(), topic,
                 {'method': 'service_version', 'args': {}}, timeout=3)
        sys.exit(0)
    except exception.RPCTimeout:
        pass
    except Exception as e:  # the broker not reachable yet: say, then retry
        print('ping %s: %s' % (topic, e), file=sys.stderr)
        time.sleep(1)
    if time.monotonic() > deadline:
        sys.exit(1)
PYEOF
}

nova_api_ok() {
    [ "$(http_status "http://$STACK_HOST_IP:$STACK_EC2_PORT/")" = 200 ] &&
    [ "$(http_status "http://$STACK_HOST_IP:$STACK_OSAPI_PORT/")" = 200 ]
}

nova_objectstore_ok() {
    [ "$(http_status "http://$STACK_HOST_IP:$STACK_S3_PORT/")" != 000 ]
}

# nova_start DAEMON: start one nova daemon (unless it runs) and wait until
# it answers.  Returns 1 when it was running already.
nova_start() {
    local name=$1 pidfile="$STACK_DIR/pids/nova/$1.pid" out="$NOVA_LOGS/$1.out"
    local log="$NOVA_LOGS/$1.log" rc=0
    if [ -n "$(pid_of "$pidfile")" ]; then
        return 1
    fi
    case $name in
        nova-api)
            local p
            for p in "$STACK_EC2_PORT" "$STACK_OSAPI_PORT"; do
                port_taken "$p" "$STACK_HOST_IP" && die "port $p (nova-api) is already in use by another process"
            done ;;
        nova-objectstore)
            port_taken "$STACK_S3_PORT" "$STACK_HOST_IP" \
                && die "port $STACK_S3_PORT (nova-objectstore) is already in use by another process" ;;
    esac
    say "nova: starting $name"
    start_daemon "$pidfile" "$out" "$PY" "$top/bin/$name" --flagfile="$NOVA_CONF"
    case $name in
        nova-api) wait_until "$name" "$pidfile" "$STACK_WAIT" nova_api_ok || rc=$? ;;
        nova-objectstore) wait_until "$name" "$pidfile" "$STACK_WAIT" nova_objectstore_ok || rc=$? ;;
        *) nova_rpc_ping "${name#nova-}" "$pidfile" "$STACK_WAIT" 2>> "$out" || rc=$? ;;
    esac
    case $rc in
        0) return 0 ;;
        2) die "$name exited at start" "$out" "$log" ;;
        *) die "$name does not answer after ${STACK_WAIT}s" "$out" "$log" ;;
    esac
}

# The database, the admin, the networks: each step only when missing.
nova_setup_db() {
    local log="$NOVA_LOGS/setup.log"
    run_logged "$log" 300 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" db sync \
        || die "nova-manage db sync failed" "$log"
    if ! manage user exports "$STACK_ADMIN" > /dev/null 2>&1; then
        say "nova: admin user and project $STACK_ADMIN"
        run_logged "$log" 180 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" \
            user admin "$STACK_ADMIN" || die "nova-manage user admin failed" "$log"
    fi
    if ! manage project list 2>> "$log" | grep -q "^$STACK_ADMIN "; then
        run_logged "$log" 180 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" \
            project create "$STACK_ADMIN" "$STACK_ADMIN" \
            || die "nova-manage project create failed" "$log"
    fi
    local gateway=$1 size=$2
    if ! manage network list 2>> "$log" | grep -q "^$STACK_FIXED_RANGE "; then
        say "nova: fixed network $STACK_FIXED_RANGE on $STACK_BRIDGE"
        run_logged "$log" 180 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" \
            network create "$STACK_FIXED_RANGE" 1 "$size" \
            || die "nova-manage network create failed" "$log"
    fi
    if [ -z "$(manage floating list "$STACK_NOVA_HOST" 2>> "$log")" ]; then
        say "nova: floating range $STACK_FLOATING_RANGE"
        run_logged "$log" 180 "$PY" "$top/bin/nova-manage" --flagfile="$NOVA_CONF" \
            floating create "$STACK_NOVA_HOST" "$STACK_FLOATING_RANGE" \
            || die "nova-manage floating create failed" "$log"
    fi
}

nova_keys() {  # prints "ACCESS SECRET" of the admin
    manage user exports "$STACK_ADMIN" 2>/dev/null | awk -F= '
        /EC2_ACCESS_KEY/ {a = $2} /EC2_SECRET_KEY/ {s = $2} END {print a, s}'
}

nova_up() {
    local calc gateway size
    calc=$(netcalc) || die "bad network settings (see above)"
    read -r gateway size <<< "$calc"
    [ -n "$STACK_NETNS" ] && relay_ns_up
    if [ -z "$STACK_NETNS" ]; then host_links_check; fi
    public_interface_up
    local running=1 name
    for name in "${NOVA_DAEMONS[@]}"; do
        [ -n "$(pid_of "$STACK_DIR/pids/nova/$name.pid")" ] || running=0
    done
    [ -n "$(pid_of "$STACK_DIR/pids/libvirtd.pid")" ] || running=0
    if [ $running = 1 ] && nova_api_ok; then
        say "nova is already running (EC2 http://$STACK_HOST_IP:$STACK_EC2_PORT/services/Cloud); nothing changed"
        return
    fi
    [ -f "$NOVA_CONF" ] || nova_write_conf "$gateway" "$size"
    libvirt_up
    nova_setup_db "$gateway" "$size"
    for name in "${NOVA_DAEMONS[@]}"; do
        nova_start "$name" || true
    done
    say "nova is up: EC2 http://$STACK_HOST_IP:$STACK_EC2_PORT/services/Cloud," \
        "OpenStack API http://$STACK_HOST_IP:$STACK_OSAPI_PORT/v1.1/," \
        "S3 http://$STACK_HOST_IP:$STACK_S3_PORT"
}

nova_status() {
    local rc=0 name pid
    if [ ! -f "$NOVA_CONF" ]; then
        echo "nova: not set up (no $NOVA_CONF)"
        return 1
    fi
    pid=$(pid_of "$STACK_DIR/pids/libvirtd.pid" || true)
    if [ -n "$pid" ] && libvirt_answers; then echo "nova: libvirtd running (pid $pid)"
    else echo "nova: libvirtd not running"; rc=1; fi
    if [ -n "$STACK_NETNS" ]; then
        pid=$(pid_of "$STACK_DIR/pids/amqp-relay-ns.pid" || true)
        if [ -n "$pid" ]; then echo "nova: AMQP relay running (pid $pid)"
        else echo "nova: AMQP relay not running"; rc=1; fi
    fi
    for name in "${NOVA_DAEMONS[@]}"; do
        pid=$(pid_of "$STACK_DIR/pids/nova/$name.pid" || true)
        if [ -n "$pid" ]; then echo "nova: $name running (pid $pid)"
        else echo "nova: $name not running"; rc=1; fi
    done
    if nova_api_ok; then echo "nova: EC2 and OpenStack APIs answer"
    else echo "nova: the APIs do not answer"; rc=1; fi
    manage service list 2>/dev/null | sed 's/^/nova: /' || true
    if [ $rc = 0 ]; then echo "nova: alive"; else echo "nova: NOT alive"; fi
    return $rc
}

# ---------------------------------------------------------------- images

IMAGE_NAMES=(nova-test-kernel nova-test-ramdisk nova-test-ami nova-test-disk)

glance_cli() {
    timeout --kill-after=10 600 "$PY" "$top/bin/glance" -H "$STACK_HOST_IP" -p "$STACK_GLANCE_PORT" "$@"
}

IMAGES_SEEN=""

images_refresh() {  # what glance holds: "ID NAME" lines, in IMAGES_SEEN
    IMAGES_SEEN=$(glance_cli index 2>/dev/null | awk 'NR > 3 {print $1, $2}' || true)
}

image_id() {  # image_id NAME: the id of the image named NAME (IMAGES_SEEN)
    echo "$IMAGES_SEEN" | awk -v n="$1" '$2 == n {print $1; exit}'
}

image_add() {  # image_add FILE key=value...: prints the new id
    local file=$1 out
    shift
    out=$(glance_cli add "$@" is_public=true --file "$file" 2>&1) \
        || die "glance add $* failed: $out"
    echo "$out" | sed -n 's/^Added new image with ID: *//p'
}

images_up() {
    glance_api_ok || die "glance is not running: tools/stack.sh up glance images"
    local log="$STACK_DIR/logs/build_test_image.log" missing=0 name
    images_refresh
    for name in "${IMAGE_NAMES[@]}"; do
        [ -n "$(image_id "$name")" ] || missing=1
    done
    if [ $missing = 0 ]; then
        say "the test images are already in glance; nothing changed"
        images_print
        return
    fi
    say "images: building the test image in $STACK_IMAGE_DIR (log $log)"
    run_logged "$log" 1200 "$top/tools/build_test_image.sh" "$STACK_IMAGE_DIR" \
        || die "tools/build_test_image.sh failed" "$log"
    local aki ari ami disk
    aki=$(image_id nova-test-kernel)
    [ -n "$aki" ] || aki=$(image_add "$STACK_IMAGE_DIR/aki-vmlinuz" name=nova-test-kernel \
        disk_format=aki container_format=aki)
    ari=$(image_id nova-test-ramdisk)
    [ -n "$ari" ] || ari=$(image_add "$STACK_IMAGE_DIR/ari-initrd.img" name=nova-test-ramdisk \
        disk_format=ari container_format=ari)
    ami=$(image_id nova-test-ami)
    [ -n "$ami" ] || ami=$(image_add "$STACK_IMAGE_DIR/ami-root.img" name=nova-test-ami \
        disk_format=ami container_format=ami "kernel_id=$aki" "ramdisk_id=$ari")
    disk=$(image_id nova-test-disk)
    [ -n "$disk" ] || disk=$(image_add "$STACK_IMAGE_DIR/disk.qcow2" name=nova-test-disk \
        disk_format=qcow2 container_format=bare)
    say "images: registered in glance"
    images_refresh
    images_print
}

images_print() {
    local name id kind
    for name in "${IMAGE_NAMES[@]}"; do
        id=$(image_id "$name")
        case $name in
            *kernel) kind=aki ;; *ramdisk) kind=ari ;; *) kind=ami ;;
        esac
        [ -n "$id" ] && say "  $name: glance id $id, EC2 id $(printf '%s-%08x' "$kind" "$id")"
    done
    return 0
}

images_status() {
    local name rc=0
    images_refresh
    for name in "${IMAGE_NAMES[@]}"; do
        if [ -n "$(image_id "$name")" ]; then echo "images: $name registered"
        else echo "images: $name missing"; rc=1; fi
    done
    if [ $rc = 0 ]; then echo "images: alive"; else echo "images: NOT alive"; fi
    return $rc
}

# ---------------------------------------------------------------- novarc

write_novarc() {
    local keys access secret
    [ -f "$NOVA_CONF" ] || return 0
    keys=$(nova_keys)
    read -r access secret <<< "$keys"
    [ -n "$access" ] || die "cannot read the keys of $STACK_ADMIN (nova-manage user exports)"
    cat > "$STACK_DIR/novarc.tmp" <<EOF
# The admin's credentials for the one-host cloud (written by tools/stack.sh).
#   . $STACK_DIR/novarc
EOF
    if [ -n "$STACK_NETNS" ]; then
        echo "# The cloud lives in network namespace $STACK_NETNS: run clients with" >> "$STACK_DIR/novarc.tmp"
        echo "#   ip netns exec $STACK_NETNS COMMAND" >> "$STACK_DIR/novarc.tmp"
    fi
    cat >> "$STACK_DIR/novarc.tmp" <<EOF
export STACK_NETNS=$STACK_NETNS
export EC2_URL=http://$STACK_HOST_IP:$STACK_EC2_PORT/services/Cloud
export EC2_REGION=nova
export EC2_ACCESS_KEY=$access:$STACK_ADMIN
export EC2_SECRET_KEY=$secret
export S3_URL=http://$STACK_HOST_IP:$STACK_S3_PORT
export NOVA_URL=http://$STACK_HOST_IP:$STACK_OSAPI_PORT/v1.1/
export NOVA_USERNAME=$STACK_ADMIN
export NOVA_API_KEY=$access
export NOVA_PROJECT_ID=$STACK_ADMIN
export ST_AUTH=http://127.0.0.1:$SWIFT_PROXY_PORT/auth/v1.0
export ST_USER=test:tester
export ST_KEY=testing
export GLANCE_HOST=$STACK_HOST_IP
export GLANCE_PORT=$STACK_GLANCE_PORT
EOF
    chmod 600 "$STACK_DIR/novarc.tmp"
    mv "$STACK_DIR/novarc.tmp" "$STACK_DIR/novarc"
}

print_endpoints() {
    local pre="" where=""
    if [ -n "$STACK_NETNS" ]; then
        pre="ip netns exec $STACK_NETNS "
        where=" in network namespace $STACK_NETNS"
    fi
    echo
    echo "The cloud is up$where."
    if [ -f "$NOVA_CONF" ]; then
        echo "  EC2 API          http://$STACK_HOST_IP:$STACK_EC2_PORT/services/Cloud  (region nova)"
        echo "  OpenStack API    http://$STACK_HOST_IP:$STACK_OSAPI_PORT/v1.1/"
        echo "  S3 objectstore   http://$STACK_HOST_IP:$STACK_S3_PORT"
        echo "  Guests           $STACK_FIXED_RANGE on $STACK_BRIDGE, floating $STACK_FLOATING_RANGE"
    fi
    if [ -f "$SWIFT_ETC/swift.conf" ]; then
        echo "  Swift            http://127.0.0.1:$SWIFT_PROXY_PORT/auth/v1.0"
    fi
    if [ -f "$GLANCE_ETC/glance-api.conf" ]; then
        echo "  Glance           $(glance_url)"
    fi
    local rc="$STACK_DIR/novarc"
    [ -f "$rc" ] || rc="$STACK_DIR/swiftrc"
    echo "  Credentials      $rc"
    echo "  Logs             $STACK_DIR/logs"
    echo
    echo "  . $top/.venv/bin/activate; . $rc"
    if [ -f "$NOVA_CONF" ]; then
        echo "  ${pre}$top/bin/nova-manage --flagfile=$NOVA_CONF service list"
        echo "  ${pre}$top/bin/nova list"
    fi
    if [ -f "$GLANCE_ETC/glance-api.conf" ]; then
        echo "  ${pre}$top/bin/glance -H $STACK_HOST_IP -p $STACK_GLANCE_PORT index"
    fi
    if [ -f "$SWIFT_ETC/swift.conf" ]; then
        echo "  ${pre}$top/bin/swift stat"
    fi
    echo "Status: $top/tools/stack.sh status; stop: $top/tools/unstack.sh [--purge]"
}

# ---------------------------------------------------------------- dispatch

check_services() {
    local svc known k
    for svc in "$@"; do
        known=0
        for k in "${KNOWN_SERVICES[@]}"; do [ "$svc" = "$k" ] && known=1; done
        if [ $known = 0 ]; then
            echo "stack: unknown service '$svc' (known: ${KNOWN_SERVICES[*]})" >&2
            exit 2
        fi
    done
}

wants() {  # wants SERVICE LIST...: SERVICE is in LIST
    local svc=$1 s
    shift
    for s in "$@"; do [ "$s" = "$svc" ] && return 0; done
    return 1
}

# The host's part: what must run outside the namespace (installing, the
# broker and rabbitmqctl, the namespace itself, the relay's host side).
host_side() {
    if [ "$(id -u)" != 0 ]; then
        die "run tools/stack.sh as root (it starts libvirtd, bridges, dnsmasq and iptables rules)"
    fi
    prepare_stack_dir
    install_deps
    [ -x "$PY" ] || die "no $PY (run tools/install_deps.sh)"
    save_settings
    if wants nova "$@"; then
        rabbit_up
    fi
    if [ -n "$STACK_NETNS" ]; then
        netns_up
        if wants nova "$@"; then relay_host_up; fi
    fi
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
    # keep the order of KNOWN_SERVICES whatever the command line's
    local ordered=() svc
    for svc in "${KNOWN_SERVICES[@]}"; do
        wants "$svc" "${services[@]}" && ordered+=("$svc")
    done
    services=("${ordered[@]}")

    if [ -n "$STACK_NETNS" ] && ! in_netns; then
        if [ "$action" = up ]; then
            host_side "${services[@]}"
        elif ! ip netns list | awk '{print $1}' | grep -qxF "$STACK_NETNS"; then
            echo "stack: network namespace $STACK_NETNS does not exist: nothing runs"
            exit 1
        fi
        # Everything else happens inside the namespace.
        exec ip netns exec "$STACK_NETNS" env STACK_INSIDE=1 STACK_SKIP_DEPS=1 \
            STACK_DIR="$STACK_DIR" "$0" "$action" "${services[@]}"
    fi

    local rc=0
    if [ "$action" = status ]; then
        [ -n "$STACK_NETNS" ] && echo "stack: in network namespace $STACK_NETNS"
        for svc in "${services[@]}"; do "${svc}_status" || rc=1; done
        exit $rc
    fi
    if [ "${STACK_INSIDE:-0}" != 1 ]; then
        host_side "${services[@]}"
    fi
    for svc in "${services[@]}"; do "${svc}_up"; done
    write_novarc
    print_endpoints
}

main "$@"
