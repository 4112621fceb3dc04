# Sourced by .ci/run: what the tests beyond Rust need, installed here, so
# that those tests may not skip (RPC_REQUIRE_*):
# - node and npm (Debian's packages when missing);
# - tests/openrpc-validator: the official OpenRPC validator;
# - tests/typescript-client: @open-rpc/generator and typescript;
# - tests/explorer: playwright-core, driving Debian's chromium (installed
#   when missing; playwright-core downloads no browser of its own).

apt_install() {
    echo "$* missing: installing Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v npm >/dev/null || apt_install nodejs npm
command -v chromium >/dev/null || apt_install chromium

# playwright-core needs node 20 or later (Debian 12's own nodejs is 18).
node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
if (( node_major < 20 )); then
    echo "node $(node --version) is too old for playwright-core: install node 20 or later" >&2
    exit 1
fi

for project in openrpc-validator typescript-client explorer; do
    (cd "tests/$project" && npm ci --no-audit --no-fund)
done

export RPC_REQUIRE_OPENRPC_VALIDATOR=1 RPC_REQUIRE_TYPESCRIPT=1 RPC_REQUIRE_BROWSER=1
