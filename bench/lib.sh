# Shared by the benchmark scripts (sourced, not run): where things are, the PostgreSQL admin
# helpers, the settings the service runs with under load, and waiting for a server. 127.0.0.1
# only.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

# A scratch folder, and the server a script started (its pid), both gone when the script ends.
WORK="$(mktemp -d /tmp/wa-bench.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
export PGOPTIONS="-c client_min_messages=warning"

psql_admin() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -qAtc "$1"; }

fresh_db() {
    psql_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
    psql_admin "CREATE DATABASE $1" >/dev/null
}

drop_db() { psql_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

# The service as the benchmarks run it, exported for every command that follows: the offline
# model without delay, no WhatsApp workers, warnings only, and no rate limits (they would answer
# most of the load with 429; the benchmarks measure the turns).
export APP_LOG__LEVEL=warn APP_LLM__PROVIDER=offline APP_LLM__OFFLINE_WORD_DELAY_MS=0 \
    APP_WORKER__CONCURRENCY=0 APP_LIMITS__PER_KEY_PER_MINUTE=0 APP_LIMITS__PER_USER_PER_MINUTE=0 \
    HOST=127.0.0.1

port_free() {
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then
        echo "port $1 is taken by another process; choose another" >&2
        exit 1
    fi
}

wait_http() { # port path
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$1$2"; then return 0; fi
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}
