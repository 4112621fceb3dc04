#!/usr/bin/env bash
# Broadcast fan-out (see BENCHMARKS.md): members on one instance with
# LocalGroups, the same members over two instances sharing Redis, and
# redis-rs pub/sub alone. Each line is printed three times (three runs);
# BENCHMARKS.md reports the medians. Needs a Redis: RPC_REDIS_URL, else
# redis://127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")/.."
redis="${RPC_REDIS_URL:-redis://127.0.0.1:6379}"
cargo build --release --locked -p rpc-bench --bin fanout
ulimit -n 20000 2>/dev/null || true
fanout=target/release/fanout
scenario() { # label, then fanout's arguments
    local label=$1
    shift
    for _ in 1 2 3; do
        printf '%s\t%s\n' "$label" "$("$fanout" "$@")"
    done
}
scenario "1,000 members, 1 instance, local" run --members 1000 --instances 1 --backend local --burst 100 --bursts 10
scenario "1,000 members, 2 instances, Redis" run --members 1000 --instances 2 --backend redis --redis "$redis" --burst 100 --bursts 10
scenario "10,000 members, 1 instance, local" run --members 10000 --instances 1 --backend local --burst 100 --bursts 3
scenario "10,000 members, 2 instances, Redis" run --members 10000 --instances 2 --backend redis --redis "$redis" --burst 100 --bursts 3
scenario "2 members, 1 instance, local" run --members 2 --instances 1 --backend local --burst 1000 --bursts 50
scenario "2 members, 2 instances, Redis" run --members 2 --instances 2 --backend redis --redis "$redis" --burst 1000 --bursts 50
scenario "redis-rs alone, 2 subscribers" raw --redis "$redis" --subscribers 2 --burst 1000 --bursts 50
scenario "9,000 connections close: a new join" churn --connections 9000
