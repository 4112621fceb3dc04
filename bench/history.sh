#!/usr/bin/env bash
# What group history costs (see BENCHMARKS.md, "Group history"): broadcasts
# through Redis with history on and off, next to redis-rs alone doing the
# same PUBLISH (and XADD + PUBLISH); 1,000 followers coming back at once
# with 100 missed messages each; memory per group of history. Each line is
# printed three times (three runs); BENCHMARKS.md reports the medians.
# Needs a Redis: RPC_REDIS_URL, else redis://127.0.0.1:6379.
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
scenario "2 members, 2 instances, Redis, no history" run --members 2 --instances 2 --backend redis --redis "$redis" --burst 1000 --bursts 50
scenario "2 members, 2 instances, Redis, history" run --members 2 --instances 2 --backend redis --redis "$redis" --burst 1000 --bursts 50 --history
scenario "1,000 members, 2 instances, Redis, no history" run --members 1000 --instances 2 --backend redis --redis "$redis" --burst 100 --bursts 10
scenario "1,000 members, 2 instances, Redis, history" run --members 1000 --instances 2 --backend redis --redis "$redis" --burst 100 --bursts 10 --history
scenario "2 members, 1 instance, local, no history" run --members 2 --instances 1 --backend local --burst 1000 --bursts 50
scenario "2 members, 1 instance, local, history" run --members 2 --instances 1 --backend local --burst 1000 --bursts 50 --history
scenario "redis-rs alone: PUBLISH" raw --redis "$redis" --subscribers 2 --burst 1000 --bursts 50
scenario "redis-rs alone: XADD + PUBLISH" raw --redis "$redis" --subscribers 2 --burst 1000 --bursts 50 --history
scenario "1,000 followers back at once, 100 missed, local" recovery --clients 1000 --missed 100 --backend local
scenario "1,000 followers back at once, 100 missed, Redis" recovery --clients 1000 --missed 100 --backend redis --redis "$redis"
scenario "memory: 1,000 groups x 1,000 messages of 100 bytes" memory --groups 1000 --messages 1000 --frame-bytes 100 --redis "$redis"
