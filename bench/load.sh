#!/usr/bin/env bash
# Load benchmark of `POST /chat/`, run the way users measure a server: the release binary as its
# own process, the load generator (bench/src/bin/load.rs) as another, on 127.0.0.1 only.
#
# Measured, alternating at each concurrency, each on a fresh database:
#   ours-pg      this service on PostgreSQL
#   ours-sqlite  this service on a SQLite file
#   peer         the FastAPI seed peer (../shared/peers/fastapi-seed), 2 workers, pool 20+0
#   ceiling      pgbench replaying our turn's statements in its two transactions (bench/turn.pgbench)
#   peer-ceiling pgbench replaying the peer's statements (chat.pgbench of the peer)
# Printed per run: requests/s, p50/p99 latency, failed requests, commits per turn
# (pg_stat_database.xact_commit delta / requests), idle and peak RSS of the server processes.
#
# Usage: bench/load.sh            (LEVELS="16 64 256 1000" DURATION=10 by default)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), psql, pgbench, python3 (the peer's
# packages are installed from PyPI into ~/.cache/fastapi-seed-venv on first run), curl.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PEER_DIR="${PEER_DIR:-$ROOT/../shared/peers/fastapi-seed}"
VENV="${VENV:-$HOME/.cache/fastapi-seed-venv}"
LEVELS="${LEVELS:-16 64 256 1000}"
DURATION="${DURATION:-10}"
TIMEOUT=10
OUR_PORT="${OUR_PORT:-28480}"
PEER_PORT="${PEER_PORT:-28481}"
POOL="${POOL:-20}"

commits() { psql_admin "SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'"; }

# Sum of a /proc status field (VmRSS now, VmHWM peak) over the given pids, in MiB.
rss_mib() {
    local field=$1 total=0 kb
    shift
    for pid in "$@"; do
        kb=$(awk -v f="$field:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    awk -v kb="$total" 'BEGIN {printf "%.0f", kb / 1024}'
}

# A server's sessions report their transactions to pg_stat_database when they end: stop the
# server first, then give its sessions a moment to exit.
settle_stats() { sleep 1; }

stop_server() {
    if ! kill "$SERVER_PID" 2>/dev/null; then
        echo "the server exited during the run; its log:" >&2
        tail -20 "$WORK"/*.log >&2
        exit 1
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

row() { printf '| %-12s | %5s | %8s | %8s | %8s | %6s | %8s | %9s | %9s |\n' "$@"; }

load() { "$BIN/load" "$1" "$2" "$DURATION" "$TIMEOUT"; }

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

report() { # name c load-output commits-per-turn idle-rss peak-rss
    local out=$3
    row "$1" "$2" "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$(field failed "$out")" "$4" "$5" "$6"
    echo "$1 $2 $(field rps "$out")" >>"$WORK/rps"
}

run_ours() { # backend c
    local backend=$1 c=$2 url db=""
    if [[ $backend == pg ]]; then
        db=wa_load_ours
        fresh_db "$db"
        url="$PG/$db?sslmode=disable"
    else
        url="sqlite://$WORK/ours-$c.db?mode=rwc"
    fi
    DATABASE_URL="$url" PORT=$OUR_PORT \
        APP_DATABASE__MAX_CONNECTIONS=$POOL APP_DATABASE__ACQUIRE_TIMEOUT_SECS=10 \
        "$BIN/whatsapp-agent" >"$WORK/ours.log" 2>&1 &
    SERVER_PID=$!
    wait_http $OUR_PORT /health
    local idle before after out per_turn="-"
    idle=$(rss_mib VmRSS $SERVER_PID)
    [[ -n $db ]] && before=$(commits "$db")
    out=$(load "http://127.0.0.1:$OUR_PORT/chat/" "$c")
    local peak
    peak=$(rss_mib VmHWM $SERVER_PID)
    stop_server
    if [[ -n $db ]]; then
        settle_stats
        after=$(commits "$db")
        per_turn=$(awk -v d=$((after - before)) -v n="$(field ok "$out")" \
            'BEGIN {printf "%.2f", (n > 0 ? d / n : 0)}')
    fi
    report "ours-$backend" "$c" "$out" "$per_turn" "$idle" "$peak"
}

run_peer() { # c
    local c=$1 db=wa_load_peer
    fresh_db "$db"
    psql "$PG/$db" -v ON_ERROR_STOP=1 -q -f "$PEER_DIR/schema.sql" >/dev/null
    DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/$db?ssl=disable" \
        DB_POOL_SIZE=20 DB_MAX_OVERFLOW=0 \
        "$VENV/bin/uvicorn" --app-dir "$PEER_DIR" app:app --host 127.0.0.1 --port $PEER_PORT \
        --workers 2 --no-access-log --log-level warning >"$WORK/peer.log" 2>&1 &
    SERVER_PID=$!
    # A request per worker process, so both have started before the load.
    wait_http $PEER_PORT /docs
    sleep 1
    local pids idle before after out per_turn peak
    pids="$SERVER_PID $(pgrep -P $SERVER_PID | tr '\n' ' ')"
    # shellcheck disable=SC2086
    idle=$(rss_mib VmRSS $pids)
    before=$(commits "$db")
    out=$(load "http://127.0.0.1:$PEER_PORT/chat/" "$c")
    # shellcheck disable=SC2086
    peak=$(rss_mib VmHWM $pids)
    stop_server
    settle_stats
    after=$(commits "$db")
    per_turn=$(awk -v d=$((after - before)) -v n="$(field ok "$out")" \
        'BEGIN {printf "%.2f", (n > 0 ? d / n : 0)}')
    report peer "$c" "$out" "$per_turn" "$idle" "$peak"
}

run_ceiling() { # name c script schema-setup
    local name=$1 c=$2 script=$3 db=wa_load_ceiling clients
    fresh_db "$db"
    $4 "$db"
    # pgbench needs a server connection per client; PostgreSQL's limit is below 256.
    local limit
    limit=$(psql_admin "SHOW max_connections")
    clients=$((c < limit - 10 ? c : limit - 10))
    local before after out tps lat per_turn turns
    before=$(commits "$db")
    out=$(pgbench -n -M prepared -c "$clients" -j 2 -T "$DURATION" -f "$script" "$PG/$db" 2>&1)
    settle_stats
    after=$(commits "$db")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    lat=$(sed -n 's/^latency average = \([0-9.]*\).*/\1/p' <<<"$out")
    turns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    per_turn=$(awk -v d=$((after - before)) -v n="${turns:-0}" \
        'BEGIN {printf "%.2f", (n > 0 ? d / n : 0)}')
    row "$name" "$c/$clients" "$(printf '%.0f' "${tps:-0}")" "~${lat:-?}" "-" "-" "$per_turn" "-" "-"
    echo "$name $c ${tps:-0}" >>"$WORK/rps"
}

ours_schema() { # db: our migrations, one user and one open conversation, as after a first turn
    DATABASE_URL="$PG/$1?sslmode=disable" APP_LOG__LEVEL=warn \
        "$BIN/whatsapp-agent" migrate >/dev/null
    psql "$PG/$1" -v ON_ERROR_STOP=1 -q -f "$ROOT/bench/turn_setup.sql" >/dev/null
}

peer_schema() { psql "$PG/$1" -v ON_ERROR_STOP=1 -q -f "$PEER_DIR/schema.sql" >/dev/null; }

echo "building the release binary and the load generator…" >&2
(cd "$ROOT" && cargo build --release -q -p wa-server -p wa-bench --bin whatsapp-agent --bin load)
if [[ ! -x "$VENV/bin/uvicorn" ]]; then
    echo "installing the peer's packages into $VENV…" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$PEER_DIR/requirements.txt"
fi

port_free "$OUR_PORT"
port_free "$PEER_PORT"
echo "# POST /chat/, ${DURATION}s per run, ${TIMEOUT}s client timeout, $(nproc) cores, $(date -u +%F)"
row target c 'req/s' 'p50 ms' 'p99 ms' failed 'commits' 'idle MiB' 'peak MiB'
row ------------ ----- -------- -------- -------- ------ -------- --------- ---------
round=0
for c in $LEVELS; do
    # Alternate who goes first, so neither always meets a warmer or a colder machine.
    if ((round % 2 == 0)); then
        run_ours pg "$c"; run_peer "$c"; run_ceiling ceiling "$c" "$ROOT/bench/turn.pgbench" ours_schema
        run_ceiling peer-ceiling "$c" "$PEER_DIR/chat.pgbench" peer_schema; run_ours sqlite "$c"
    else
        run_ours sqlite "$c"; run_ceiling peer-ceiling "$c" "$PEER_DIR/chat.pgbench" peer_schema
        run_ceiling ceiling "$c" "$ROOT/bench/turn.pgbench" ours_schema; run_peer "$c"; run_ours pg "$c"
    fi
    round=$((round + 1))
done
for db in wa_load_ours wa_load_peer wa_load_ceiling; do drop_db "$db"; done

echo
echo "# ratios at each concurrency"
for c in $LEVELS; do
    awk -v c="$c" '$2 == c {rps[$1] = $3}
        END {
            printf "c=%s: ours-pg/peer %.1fx, ours-pg/ceiling %.0f%%, ours-sqlite/peer %.1fx\n", c,
                (rps["peer"] > 0 ? rps["ours-pg"] / rps["peer"] : 0),
                (rps["ceiling"] > 0 ? 100 * rps["ours-pg"] / rps["ceiling"] : 0),
                (rps["peer"] > 0 ? rps["ours-sqlite"] / rps["peer"] : 0)
        }' "$WORK/rps"
done
