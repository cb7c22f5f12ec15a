#!/usr/bin/env bash
# What authentication costs `POST /chat/`: one release server on a fresh PostgreSQL database,
# the load generator (bench/src/bin/load.rs) as its own process, three runs alternating at each
# concurrency with the same server and database:
#   anonymous   no credential (the loopback default)
#   api-key     `Authorization: Bearer wak_…` (a `chat` key created with `keys create`)
#   user-token  `Authorization: Bearer <JWT>` minted from that key's secret, one user per client
#               (the service answers one user's turns one at a time)
# Printed per run: requests/s, p50/p99 latency, failed requests, and the cost against anonymous.
#
# Usage: bench/auth.sh          (LEVELS="16 64" DURATION=10 ROUNDS=2 by default)
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), psql, curl, python3.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LEVELS="${LEVELS:-16 64}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
PORT="${OUR_PORT:-28490}"
DB=wa_bench_auth

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo build --release -q -p wa-server -p wa-bench --bin whatsapp-agent --bin load
fi

fresh_db "$DB"
export DATABASE_URL="$PG/$DB?sslmode=disable" PORT=$PORT

KEY=$("$BIN/whatsapp-agent" keys create --name bench --scope chat 2>/dev/null \
    | grep -o 'wak_[0-9A-Za-z]\{8\}_[0-9A-Za-z]\{32\}' | head -1)
if [[ -z "$KEY" ]]; then
    echo "could not create a key with 'whatsapp-agent keys create'" >&2
    exit 1
fi
# The same minting an app's backend does (README, "Access"), standard library only: one token
# for each load client's user (`load-N`, the load generator's default body), one per line.
CLIENTS=$(tr ' ' '\n' <<<"$LEVELS" | sort -n | tail -1)
TOKENS=$(KEY="$KEY" CLIENTS="$CLIENTS" python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
key = os.environ["KEY"]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key[:12]}).encode())
secret = hashlib.sha256(b"user-token:" + key.encode()).digest()
for n in range(int(os.environ["CLIENTS"])):
    claims = b64(json.dumps({"sub": f"load-{n}", "exp": int(time.time()) + 3600}).encode())
    signature = b64(hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest())
    print(f"Bearer {header}.{claims}.{signature}")
PY
)

"$BIN/whatsapp-agent" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_http "$PORT" /health

URL="http://127.0.0.1:$PORT/chat/"
check() { # name header
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "content-type: application/json" \
        ${2:+-H "authorization: $2"} -d '{"content":"hello"}' "$URL")
    [[ $status == 200 ]] || { echo "$1: /chat/ answered $status" >&2; exit 1; }
}
check anonymous ""
check api-key "Bearer $KEY"
check user-token "$(head -1 <<<"$TOKENS")"

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
printf '| %-10s | %4s | %8s | %7s | %7s | %6s | %8s |\n' run c "req/s" p50_ms p99_ms failed "vs anon"
printf '|%s|\n' "------------|------|----------|---------|---------|--------|----------"
for c in $LEVELS; do
    declare -A total=()
    for round in $(seq 1 "$ROUNDS"); do
        for run in anonymous api-key user-token; do
            case $run in
                anonymous) auth="" ;;
                api-key) auth="Bearer $KEY" ;;
                user-token) auth="$TOKENS" ;;
            esac
            out=$(AUTHORIZATION="$auth" "$BIN/load" "$URL" "$c" "$DURATION" 10)
            rps=$(field rps "$out")
            total[$run]=$(awk -v a="${total[$run]:-0}" -v b="$rps" 'BEGIN {print a + b}')
            ratio=$(awk -v a="${total[anonymous]}" -v b="${total[$run]}" \
                'BEGIN {if (a > 0) printf "%+.1f%%", (b / a - 1) * 100; else print "-"}')
            printf '| %-10s | %4s | %8s | %7s | %7s | %6s | %8s |\n' "$run" "$c" "$rps" \
                "$(field p50_ms "$out")" "$(field p99_ms "$out")" "$(field failed "$out")" "$ratio"
        done
    done
    unset total
done
