#!/usr/bin/env bash
# Instructions the server executes per round trip, counted by callgrind:
# ours (bench_server), the raw tokio-tungstenite echo and jsonrpsee, under
# the same load. Counts, not seconds: the same binaries and load give
# nearly the same count however busy the machine is. BENCHMARKS.md,
# "Instructions per call", has the table and how to read it.
#
#   bash bench/callgrind.sh                # every payload
#   bash bench/callgrind.sh add echo64k    # some
#   bash bench/callgrind.sh http           # HTTP POST `add` (wrk, 10 connections;
#                                          # the limit is a bare hyper server)
#   SCALE=0.2 bash bench/callgrind.sh      # fewer round trips (quicker, a little less exact)
#   BIN=/tmp/before bash bench/callgrind.sh # binaries built elsewhere, for an A/B
#                                            # (loadgen, echo_server, jsonrpsee_server,
#                                            # examples/bench_server)
set -euo pipefail
# A failure inside $(…) ends the run too.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
bin=${BIN:-target/release}
if [ -z "${BIN:-}" ]; then
    cargo build --release --locked -p rpc-bench --bins
    cargo build --release --locked -p examples --example bench_server
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Each payload: requests in flight on one connection, and round trips
# counted (the large ones are slow under valgrind).
declare -A in_flight=([add]=64 [echo1k]=4 [echo64k]=4 [batch]=4 [http]=10)
declare -A round_trips=([add]=20000 [echo1k]=10000 [echo64k]=500 [batch]=5000 [http]=0)
payloads=("$@")
[ ${#payloads[@]} -gt 0 ] || payloads=(add echo1k echo64k batch http)
if [[ " ${payloads[*]} " == *" http "* ]] && ! command -v wrk >/dev/null; then
    echo "the http payload needs wrk (apt-get install wrk)" >&2
    exit 1
fi
printf '%s\n' 'wrk.method = "POST"' \
    "wrk.body = '{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":1}'" \
    'wrk.headers["Content-Type"] = "application/json"' >"$work/add.lua"

# Prints the instructions per round trip of `$1` (expecting `$2`) on the
# server that the remaining arguments start.
per_round_trip() {
    local payload=$1 expect=$2
    shift 2
    local out="$work/callgrind.out" count
    count=$(awk -v n="${round_trips[$payload]}" -v s="${SCALE:-1}" 'BEGIN { printf "%d", n * s }')
    rm -f "$out"* "$work/stdout"
    # One worker thread on every server: no work stealing in the count.
    TOKIO_WORKER_THREADS=1 RUST_LOG=warn valgrind --tool=callgrind \
        --callgrind-out-file="$out" "$@" --addr 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
    local pid=$! url=""
    for _ in $(seq 600); do
        url=$(grep -o '[wshtp]*://[0-9.:]*' "$work/stdout" || true)
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { echo "$* did not start:" >&2; cat "$work/stderr" >&2; exit 1; }
    load() {
        "$bin/loadgen" count --url "$url" --in-flight "${in_flight[$payload]}" \
            --payload "$payload" --expect "$expect" --round-trips "$1" >/dev/null
    }
    # wrk runs for a time, not a count: the count is what it reports done.
    http_load() {
        wrk -t1 -c"${in_flight[http]}" -d"$1" -s "$work/add.lua" "http://${url#*://}/" >"$work/wrk"
        if grep -q -e Non-2xx -e 'Socket errors' "$work/wrk"; then
            echo "wrk saw errors:" >&2; cat "$work/wrk" >&2; exit 1
        fi
        awk '/ requests in / { print $1 }' "$work/wrk"
    }
    # First use (lazy statics, the allocator's pools) is not counted.
    if [ "$payload" = http ]; then
        http_load 2s >/dev/null
        callgrind_control --zero "$pid" >/dev/null 2>&1
        count=$(http_load "$(awk -v s="${SCALE:-1}" 'BEGIN { printf "%ds", 10 * s + 1 }')")
    else
        load $((count / 10 + 1))
        callgrind_control --zero "$pid" >/dev/null 2>&1
        load "$count"
    fi
    callgrind_control --dump "$pid" >/dev/null 2>&1
    # The echo server has no handler for signals, and under valgrind a
    # default action may not be taken while it waits in the kernel.
    kill -INT "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # The first dump holds the counted load alone (zeroed just before it).
    local total
    total=$(awk '/^summary:/ { print $2; exit }' "$out".1)
    [ -n "$total" ] || { echo "no count from callgrind for $*" >&2; exit 1; }
    echo $((total / count))
}

echo "| payload (1 connection × in flight; http: connections) | rpc-server | the limit (raw echo; bare hyper for http) | jsonrpsee 0.26 | ours ÷ limit | ours ÷ jsonrpsee |"
echo "|---|--:|--:|--:|--:|--:|"
for payload in "${payloads[@]}"; do
    ours=$(per_round_trip "$payload" rpc "$bin/examples/bench_server")
    limit=echo_server
    [ "$payload" = http ] && limit=hyper_server
    echo=$(per_round_trip "$payload" echo "$bin/$limit")
    peer=$(per_round_trip "$payload" rpc "$bin/jsonrpsee_server")
    awk -v p="$payload × ${in_flight[$payload]}" -v o="$ours" -v e="$echo" -v j="$peer" \
        'BEGIN { printf "| %s | %d | %d | %d | %.2f× | %.2f× |\n", p, o, e, j, o / e, o / j }'
done
