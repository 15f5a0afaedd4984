#!/usr/bin/env bash
# Installs what is missing (tools/install_deps.sh) and runs the tests.
#
#   ./run_tests.sh              unit, functional and integration tests
#   ./run_tests.sh -u           unit tests only
#   ./run_tests.sh -f           unit and functional tests (skip the slow integration tier)
#   ./run_tests.sh -N           do not install anything first
#   ./run_tests.sh -- ARGS      pass ARGS to pytest (e.g. -- -k rpc -x)
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

tiers=(tests/unit tests/functional tests/integration)
install=1
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        -u|--unit) tiers=(tests/unit) ;;
        -f|--no-integration) tiers=(tests/unit tests/functional) ;;
        -N|--no-install) install=0 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) echo "run_tests.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$install" = 1 ]; then
    tools/install_deps.sh
fi
exec .venv/bin/python -m pytest "${tiers[@]}" "$@"
