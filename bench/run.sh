#!/usr/bin/env bash
# Builds the servers and the load generator in release mode, then runs the
# comparison (see BENCHMARKS.md) and draws its charts into bench/charts.
# Arguments go to `compare`, e.g.
#   bash bench/run.sh --rounds 1 --duration 2 --only pipelined
set -euo pipefail
cd "$(dirname "$0")/.."
# The HTTP scenario's load generator, from Debian's packages.
if ! command -v wrk >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
        echo "warning: wrk could not be installed: the HTTP scenario is skipped" >&2
fi
cargo build --release --locked -p rpc-bench --bins
cargo build --release --locked -p examples --example bench_server
# 5,000 idle connections need more descriptors than some shells allow.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec target/release/compare --charts bench/charts "$@"
