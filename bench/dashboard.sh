#!/usr/bin/env bash
# The picture of the Grafana dashboard (ops/grafana/rpc-dashboard.json) in
# the README's "Operating it": two instances of a shop service sharing
# their groups on Redis, a load shaped like a day (150 s: a ramp, a plateau,
# a surge, a payment incident, a ramp down), a Prometheus of the run's own
# scraping both every second, and every panel's query evaluated by it and
# drawn at its place. Grafana is in no registry this project reaches, so
# the panels are drawn by rpc-bench (bench/src/dashboard/render.rs), not
# by Grafana. Installs Debian's prometheus and librsvg2-bin when missing;
# needs a Redis: RPC_REDIS_URL, else redis://127.0.0.1:6379.
#
#   bash bench/dashboard.sh
#   SECONDS_OF_LOAD=60 bash bench/dashboard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v rsvg-convert >/dev/null || missing+=(librsvg2-bin)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cargo build --release --locked -p rpc-bench --bin dashboard
svg="$(mktemp --suffix .svg)"
target/release/dashboard --out "$svg" \
    --seconds "${SECONDS_OF_LOAD:-150}" --peak-clients "${PEAK_CLIENTS:-120}" \
    --redis "${RPC_REDIS_URL:-redis://127.0.0.1:6379}"
rsvg-convert "$svg" -o ops/grafana/dashboard.png
rm -f "$svg"
echo "wrote ops/grafana/dashboard.png"
