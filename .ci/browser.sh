# Sourced by .ci/run: Debian's Chromium and playwright-core (from npm) for
# the API explorer's browser test (examples/tests/explorer.rs), which then
# may not skip. Debian's package is installed when the binary is missing;
# playwright-core downloads no browser of its own.

if ! command -v chromium >/dev/null; then
    echo "chromium is missing: installing Debian's package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
(cd tests/explorer && npm ci --no-audit --no-fund)
export RPC_REQUIRE_BROWSER=1
