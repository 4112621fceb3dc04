#!/usr/bin/env bash
# Builds the servers and the load generator in release mode, then runs the
# comparison (see BENCHMARKS.md). Arguments go to `compare`, e.g.
#   bash bench/run.sh --rounds 1 --duration 2 --only pipelined
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rpc-bench --bins
cargo build --release --locked -p examples --example bench_server
# 5,000 idle connections need more descriptors than some shells allow.
ulimit -n 65536 2>/dev/null || true
exec target/release/compare "$@"
