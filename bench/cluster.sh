#!/usr/bin/env bash
# Connections at scale over several instances (see BENCHMARKS.md,
# "Connections at scale"): 100,000 WebSocket members of one group over six
# instances sharing Redis, held by six member processes (a process may hold
# at most 20,000 descriptors here, so five instances cannot hold 100,000).
# The instances' memory per connection, one broadcast to all (first and
# last arrival), then a burst of 100 broadcasts, every delivery counted.
# Three runs; BENCHMARKS.md reports them. Needs a Redis: RPC_REDIS_URL,
# else redis://127.0.0.1:6379.
#
#   bash bench/cluster.sh
#   CONNECTIONS=20000 INSTANCES=3 bash bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rpc-bench --bin fanout
# The soft limit up to the hard one: every process holds one descriptor
# per connection of its share.
ulimit -n "$(ulimit -Hn)"
for _ in 1 2 3; do
    target/release/fanout cluster \
        --connections "${CONNECTIONS:-100000}" --instances "${INSTANCES:-6}" \
        --redis "${RPC_REDIS_URL:-redis://127.0.0.1:6379}" --burst 100
done
