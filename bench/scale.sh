#!/usr/bin/env bash
# Connections at scale, one instance (see BENCHMARKS.md, "Connections at
# scale"): as many WebSocket connections as a process may hold here (the
# descriptor limit is 20,000 and cannot be raised), each in one group;
# the server's memory per connection, one broadcast to all (first and last
# arrival), and one more client's `add` latency beside them, against its
# latency alone. Three runs; BENCHMARKS.md reports the medians.
#
#   bash bench/scale.sh                 # 19,500 connections
#   CONNECTIONS=5000 bash bench/scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rpc-bench --bin fanout
# The soft limit up to the hard one: the members' process and the instance
# each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
for _ in 1 2 3; do
    target/release/fanout scale --connections "${CONNECTIONS:-19500}"
done
