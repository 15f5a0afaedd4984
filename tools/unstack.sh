#!/usr/bin/env bash
# Stops what tools/stack.sh started, and undoes what it made.
#
#   tools/unstack.sh [--purge] [SERVICE...]
#
# SERVICEs: nova, glance, swift (default: all, in that order).  nova:
# destroys and undefines every guest of the cloud's libvirtd, stops the nova
# daemons, the dnsmasq processes nova-network started, libvirtd (and any
# QEMU it left) and the AMQP relay; removes the iSCSI targets whose backing
# store is under $STACK_DIR; without STACK_NETNS also removes the bridges
# this cloud made, its floating addresses on an interface it did not make,
# and every nova-* iptables chain and rule.  With all services and
# STACK_NETNS, every process left in the namespace is stopped and the
# namespace deleted (taking its bridges and rules with it).
#
# A pid is only signalled when its command line names $STACK_DIR (or, for
# what is left in the namespace, when it runs in it), so a stale pid file
# never hits an unrelated process.  Data stays unless --purge: then
# $STACK_DIR (configs, data, logs) goes too -- only when it carries
# tools/stack.sh's marker file -- and the RabbitMQ virtual host stack.sh
# made.
#
# Environment: STACK_DIR [<repo>/.stack]; the rest is read from
# $STACK_DIR/stack.env, as tools/stack.sh wrote it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=$(realpath -m "${STACK_DIR:-$top/.stack}")
PY="$top/.venv/bin/python"
KNOWN_SERVICES=(nova glance swift)
STOP_WAIT=${STOP_WAIT:-15}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
say() { echo "unstack: $*"; }

# ours PID: alive and started with an argument under $STACK_DIR.
ours() {
    [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] || return 1
    tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$STACK_DIR/"
}

# stop_pidfile FILE: TERM the process (group), KILL after $STOP_WAIT s.
stop_pidfile() {
    local file=$1 pid
    pid=$(head -n1 "$file" 2>/dev/null | tr -dc '0-9')
    if [ -z "$pid" ] || ! ours "$pid"; then
        rm -f "$file"
        return 0
    fi
    say "stopping pid $pid ($(basename "$file" .pid))"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < STOP_WAIT * 10; i++)); do
        ours "$pid" || break
        sleep 0.1
    done
    if ours "$pid"; then
        say "pid $pid ignored SIGTERM; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

# The settings stack.sh recorded (stack.env): NAME=value lines.
setting() {
    [ -f "$STACK_DIR/stack.env" ] || return 0
    sed -n "s/^$1=//p" "$STACK_DIR/stack.env" | tail -n1
}

made_has() { grep -qxF "$1 $2" "$STACK_DIR/made" 2>/dev/null; }

# ---------------------------------------------------------------- swift

swift_down() {
    local etc="$STACK_DIR/etc/swift"
    if [ -f "$etc/swift.conf" ] && [ -x "$PY" ]; then
        "$PY" "$top/bin/swift-init" --swift-dir "$etc" \
            --run-dir "$STACK_DIR/pids/swift" --log-dir "$STACK_DIR/logs/swift" \
            all stop | sed 's/^/unstack: swift: /' || true
    fi
    # the replicators' rsync daemon
    if [ -f "$STACK_DIR/pids/swift/rsyncd.pid" ]; then
        stop_pidfile "$STACK_DIR/pids/swift/rsyncd.pid"
    fi
    sweep "$STACK_DIR/pids/swift"
}

# ---------------------------------------------------------------- nova

LIBVIRT_DIR="$STACK_DIR/libvirt"
LIBVIRT_URI="qemu:///system?socket=$LIBVIRT_DIR/run/libvirt-sock"

# Every guest of our libvirtd: destroyed, undefined.
destroy_guests() {
    [ -S "$LIBVIRT_DIR/run/libvirt-sock" ] || return 0
    command -v virsh > /dev/null || return 0
    local name
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        say "destroying guest $name"
        timeout 60 virsh -q -c "$LIBVIRT_URI" destroy "$name" > /dev/null 2>&1 || true
        timeout 60 virsh -q -c "$LIBVIRT_URI" undefine --managed-save \
            --snapshots-metadata --nvram "$name" > /dev/null 2>&1 \
            || timeout 60 virsh -q -c "$LIBVIRT_URI" undefine "$name" > /dev/null 2>&1 || true
    done < <(timeout 60 virsh -q -c "$LIBVIRT_URI" list --all --name 2>/dev/null || true)
}

# QEMU processes libvirtd left (its pid files under our run dir).
kill_leftover_qemu() {
    local f pid
    for f in "$LIBVIRT_DIR"/run/qemu/*.pid; do
        [ -f "$f" ] || continue
        pid=$(tr -dc '0-9' < "$f")
        if [ -n "$pid" ] && ours "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q qemu; then
            say "killing QEMU pid $pid left by libvirtd"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

# dnsmasq processes nova-network started (pid files under networks_path).
stop_dnsmasq() {
    local f
    for f in "$STACK_DIR"/data/nova/networks/*.pid; do
        [ -f "$f" ] && stop_pidfile "$f"
    done
    return 0
}

# iSCSI targets whose backing store lives under $STACK_DIR.
remove_iscsi_targets() {
    command -v tgtadm > /dev/null || return 0
    local tid
    for tid in $(timeout 30 tgtadm --lld iscsi --mode target --op show 2>/dev/null | awk -v d="$STACK_DIR/" '
            /^Target [0-9]+:/ {tid = $2; sub(":", "", tid)}
            /Backing store path:/ && index($0, d) {print tid}' | sort -u); do
        say "removing iSCSI target $tid"
        timeout 30 tgtadm --lld iscsi --mode target --op delete --force --tid "$tid" \
            > /dev/null 2>&1 || say "could not remove iSCSI target $tid"
    done
}

# Host mode only (a namespace takes these with it): nova's iptables rules,
# the bridges this cloud made, floating addresses on a public interface it
# did not make.
host_network_cleanup() {
    local tool table saved
    for tool in iptables ip6tables; do
        command -v "$tool-save" > /dev/null || continue
        saved=$("$tool-save" 2>/dev/null) || continue
        if echo "$saved" | grep -q 'nova-'; then
            say "removing nova's $tool chains and rules"
            echo "$saved" | grep -v -- 'nova-' | "$tool-restore" \
                || say "$tool-restore failed; nova rules may remain"
        fi
    done
    local bridge public floating
    bridge=$(setting STACK_BRIDGE)
    public=$(setting STACK_PUBLIC_INTERFACE)
    floating=$(setting STACK_FLOATING_RANGE)
    for link in "$bridge" "$public"; do
        [ -n "$link" ] || continue
        if made_has link "$link" && ip link show dev "$link" > /dev/null 2>&1; then
            say "removing interface $link"
            ip link set "$link" down 2>/dev/null || true
            ip link del "$link" || say "could not remove $link"
        fi
    done
    if [ -n "$public" ] && ! made_has link "$public" && [ -n "$floating" ] && [ -x "$PY" ]; then
        local addr
        for addr in $(ip -o -4 addr show dev "$public" 2>/dev/null | awk '{print $4}'); do
            if "$PY" -c 'import sys, netaddr
sys.exit(0 if netaddr.IPNetwork(sys.argv[1]).ip in netaddr.IPNetwork(sys.argv[2]) else 1)' \
                    "$addr" "$floating"; then
                say "removing floating address $addr from $public"
                ip addr del "$addr" dev "$public" || true
            fi
        done
    fi
}

nova_down() {
    destroy_guests
    local name
    for name in nova-compute nova-network nova-scheduler nova-objectstore nova-api; do
        [ -f "$STACK_DIR/pids/nova/$name.pid" ] && stop_pidfile "$STACK_DIR/pids/nova/$name.pid"
    done
    stop_dnsmasq
    [ -f "$STACK_DIR/pids/libvirtd.pid" ] && stop_pidfile "$STACK_DIR/pids/libvirtd.pid"
    kill_leftover_qemu
    local f
    for f in amqp-relay-ns amqp-relay-host; do
        [ -f "$STACK_DIR/pids/$f.pid" ] && stop_pidfile "$STACK_DIR/pids/$f.pid"
    done
    sweep "$STACK_DIR/pids/nova"
    remove_iscsi_targets
    if [ -z "$(setting STACK_NETNS)" ]; then
        host_network_cleanup
    fi
    return 0
}

# ---------------------------------------------------------------- glance

glance_down() {
    sweep "$STACK_DIR/pids/glance"
}

# ---------------------------------------------------------------- netns

# Every process still in the namespace (all started for this cloud), then
# the namespace itself.
netns_down() {
    local ns=$1 pids i
    ip netns list | awk '{print $1}' | grep -qxF "$ns" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [ -n "$pids" ]; then
        say "stopping what is left in namespace $ns: $(echo $pids)"
        kill -TERM $pids 2>/dev/null || true
        for ((i = 0; i < STOP_WAIT * 10; i++)); do
            [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || break
            sleep 0.1
        done
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    fi
    say "deleting network namespace $ns"
    ip netns del "$ns" || say "could not delete namespace $ns"
}

purge_vhost() {
    local vhost
    vhost=$(setting STACK_RABBIT_VHOST)
    if [ -n "$vhost" ] && made_has vhost "$vhost" && command -v rabbitmqctl > /dev/null; then
        say "deleting RabbitMQ virtual host $vhost"
        timeout --kill-after=10 60 rabbitmqctl -q delete_vhost "$vhost" > /dev/null 2>&1 \
            || say "could not delete RabbitMQ virtual host $vhost"
    fi
}

# ---------------------------------------------------------------- dispatch

sweep() {  # whatever pid files remain under a directory
    [ -d "$1" ] || return 0
    local f
    while IFS= read -r f; do
        stop_pidfile "$f"
    done < <(find "$1" -name '*.pid' -type f 2>/dev/null)
}

main() {
    local purge=0 services=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --purge) purge=1 ;;
            -h|--help) usage; exit 0 ;;
            -*) echo "unstack: unknown option $1" >&2; usage >&2; exit 2 ;;
            *) services+=("$1") ;;
        esac
        shift
    done
    local svc k known
    for svc in "${services[@]}"; do
        known=0
        for k in "${KNOWN_SERVICES[@]}"; do [ "$svc" = "$k" ] && known=1; done
        if [ $known = 0 ]; then
            echo "unstack: unknown service '$svc' (known: ${KNOWN_SERVICES[*]})" >&2
            exit 2
        fi
    done
    local all=0
    if [ ${#services[@]} = 0 ]; then
        services=("${KNOWN_SERVICES[@]}")
        all=1
    fi
    if [ ! -d "$STACK_DIR" ]; then
        say "nothing to do: no $STACK_DIR"
        exit 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "unstack: run as root (the processes and devices of the cloud are root's)" >&2
        exit 1
    fi
    for svc in "${services[@]}"; do "${svc}_down"; done
    local ns
    ns=$(setting STACK_NETNS)
    if [ $all = 1 ]; then
        sweep "$STACK_DIR/pids"
        if [ -n "$ns" ] && made_has netns "$ns"; then
            netns_down "$ns"
        fi
    fi
    if [ $purge = 1 ]; then
        if [ ! -f "$STACK_DIR/.stack-dir" ]; then
            echo "unstack: not purging $STACK_DIR: it lacks tools/stack.sh's marker" >&2
            exit 1
        fi
        if [ $all = 1 ]; then
            purge_vhost
            rm -rf "$STACK_DIR"
            say "removed $STACK_DIR"
        else
            for svc in "${services[@]}"; do
                rm -rf "$STACK_DIR/etc/$svc" "$STACK_DIR/data/$svc" \
                    "$STACK_DIR/logs/$svc" "$STACK_DIR/pids/$svc"
                [ "$svc" = nova ] && rm -rf "$STACK_DIR/libvirt"
                say "removed $svc's configs, data and logs"
            done
        fi
    fi
    say "done"
}

main "$@"
