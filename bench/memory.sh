#!/usr/bin/env bash
# Resident memory of the service, as the release binary runs on its own: idle (after start-up,
# once /health answers) and peak (VmHWM) under `POST /chat/` from 1,000 keep-alive clients, on
# a fresh PostgreSQL database and on a fresh SQLite file. 127.0.0.1 only.
#
# Usage: bench/memory.sh            (CLIENTS=1000 DURATION=10 by default)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), psql, curl.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CLIENTS="${CLIENTS:-1000}"
DURATION="${DURATION:-10}"
PORT="${PORT:-28490}"
DB=wa_memory_bench

(cd "$ROOT" && cargo build --release -p wa-server -p wa-bench --bin whatsapp-agent --bin load)

port_free "$PORT"

mib() { awk -v f="$1:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$SERVER_PID/status"; }

measure() { # backend
    local url
    if [[ $1 == postgres ]]; then
        fresh_db "$DB"
        url="$PG/$DB?sslmode=disable"
    else
        url="sqlite://$WORK/memory.db?mode=rwc"
    fi
    DATABASE_URL="$url" PORT=$PORT "$BIN/whatsapp-agent" >"$WORK/$1.log" 2>&1 &
    SERVER_PID=$!
    wait_http "$PORT" /health
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
    if [[ $1 == postgres ]]; then drop_db "$DB"; fi
}

measure postgres
measure sqlite
