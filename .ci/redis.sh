# Sourced by .ci/run: makes sure the Redis tests have a Redis server.
#
# `redis-server` must be installed (some tests start private ones they can
# stop and restart), and RPC_REDIS_URL must name a Redis that answers: the
# one given, else 127.0.0.1:6379 if it answers, else one started here on a
# free port (stopped when .ci/run exits). Debian's package is installed
# when the binary is missing.

redis_answers() { # host port
    local reply
    { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    read -r -t 2 reply <&3 || true
    exec 3<&- 3>&-
    [[ "$reply" == +PONG* ]]
}

if ! command -v redis-server >/dev/null; then
    echo "redis-server is missing: installing Debian's package"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if [[ -n "${RPC_REDIS_URL:-}" ]]; then
    echo "Redis: RPC_REDIS_URL is set"
elif redis_answers 127.0.0.1 6379; then
    export RPC_REDIS_URL="redis://127.0.0.1:6379"
    echo "Redis: the one answering on 127.0.0.1:6379"
else
    # The first port nothing listens on, from 16379 up.
    port=16379
    while { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; do
        exec 3<&- 3>&-
        port=$((port + 1))
    done
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "/tmp/rpc-ci-redis-$port.pid" >/dev/null
    for _ in $(seq 100); do redis_answers 127.0.0.1 "$port" && break; sleep 0.1; done
    redis_answers 127.0.0.1 "$port" || { echo "redis-server did not start" >&2; exit 1; }
    trap 'kill "$(cat "/tmp/rpc-ci-redis-'"$port"'.pid")" 2>/dev/null || true' EXIT
    export RPC_REDIS_URL="redis://127.0.0.1:$port"
    echo "Redis: started on port $port"
fi
