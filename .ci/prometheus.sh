# Sourced by .ci/run: Debian's `prometheus` for the dashboard's test
# (bench/tests/dashboard.rs evaluates every panel's query with it),
# installed when missing. The test starts its own on a free port; the
# package's service is not needed.
if ! command -v prometheus >/dev/null; then
    echo "prometheus is missing: installing Debian's package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
prometheus --version 2>&1 | head -1
