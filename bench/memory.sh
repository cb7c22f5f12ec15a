#!/usr/bin/env bash
# Resident memory of the service, as the release binary runs on its own: idle (after start-up,
# once /health answers) and peak (VmHWM) under `POST /chat/` from 1,000 keep-alive clients, on
# a fresh PostgreSQL database and on a fresh SQLite file. 127.0.0.1 only.
#
# Usage: bench/memory.sh            (CLIENTS=1000 DURATION=10 by default)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), psql, curl.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
CLIENTS="${CLIENTS:-1000}"
DURATION="${DURATION:-10}"
PORT="${PORT:-28490}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
WORK="$(mktemp -d /tmp/wa-memory.XXXXXX)"
DB=wa_memory_bench
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

(cd "$ROOT" && cargo build --release -p wa-server -p wa-bench --bin whatsapp-agent --bin load)

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT is taken by another process; set PORT" >&2
    exit 1
fi

mib() { awk -v f="$1:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$SERVER_PID/status"; }

measure() { # backend
    local url
    if [[ $1 == postgres ]]; then
        psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
        psql "$PG/postgres" -qAtc "CREATE DATABASE $DB" >/dev/null
        url="$PG/$DB?sslmode=disable"
    else
        url="sqlite://$WORK/memory.db?mode=rwc"
    fi
    # As bench/load.sh: no rate limits, the offline model without delay, no WhatsApp workers.
    DATABASE_URL="$url" HOST=127.0.0.1 PORT=$PORT APP_LOG__LEVEL=warn APP_LLM__PROVIDER=offline \
        APP_LIMITS__PER_KEY_PER_MINUTE=0 APP_LIMITS__PER_USER_PER_MINUTE=0 \
        APP_LLM__OFFLINE_WORD_DELAY_MS=0 APP_WORKER__CONCURRENCY=0 \
        "$BIN/whatsapp-agent" >"$WORK/$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"; then break; fi
        sleep 0.1
    done
    sleep 2
    local idle
    idle=$(mib VmRSS)
    local out
    out=$("$BIN/load" "http://127.0.0.1:$PORT/chat/" "$CLIENTS" "$DURATION" 10)
    printf '%-8s idle %6s MiB   peak at c=%s %6s MiB   (%s)\n' \
        "$1" "$idle" "$CLIENTS" "$(mib VmHWM)" "$out"
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if [[ $1 == postgres ]]; then
        psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
    fi
}

measure postgres
measure sqlite
