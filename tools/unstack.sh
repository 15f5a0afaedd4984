#!/usr/bin/env bash
# Stops what tools/stack.sh started.
#
#   tools/unstack.sh [--purge] [SERVICE...]
#
# Stops SERVICEs (default: all) by their pid files under $STACK_DIR/pids,
# then any process left behind by a pid file there.  A pid is only signalled
# when its command line still names $STACK_DIR, so a stale pid file never
# hits an unrelated process.  --purge also removes $STACK_DIR (configs, data,
# logs) — only when it carries tools/stack.sh's marker file.
#
# Environment: STACK_DIR [<repo>/.stack], the same as for tools/stack.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=$(realpath -m "${STACK_DIR:-$top/.stack}")
PY="$top/.venv/bin/python"
KNOWN_SERVICES=(swift)
STOP_WAIT=${STOP_WAIT:-15}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
say() { echo "unstack: $*"; }

# ours PID: alive and started with an argument under $STACK_DIR.
ours() {
    [ -r "/proc/$1/cmdline" ] || return 1
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
    for svc in "${services[@]}"; do "${svc}_down"; done
    [ $all = 1 ] && sweep "$STACK_DIR/pids"
    if [ $purge = 1 ]; then
        if [ ! -f "$STACK_DIR/.stack-dir" ]; then
            echo "unstack: not purging $STACK_DIR: it lacks tools/stack.sh's marker" >&2
            exit 1
        fi
        if [ $all = 1 ]; then
            rm -rf "$STACK_DIR"
            say "removed $STACK_DIR"
        else
            for svc in "${services[@]}"; do
                rm -rf "$STACK_DIR/etc/$svc" "$STACK_DIR/data/$svc" \
                    "$STACK_DIR/logs/$svc" "$STACK_DIR/pids/$svc"
                say "removed $svc's configs, data and logs"
            done
        fi
    fi
    say "done"
}

main "$@"
