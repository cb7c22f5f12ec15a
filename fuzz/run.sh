#!/usr/bin/env bash
# Fuzzes the running contract: starts the given binary on 127.0.0.1 with a fresh PostgreSQL
# database, a local media server and the webhook token the hooks sign with, then runs
# Schemathesis over every phase and check. Usage: fuzz/run.sh BINARY PYTHON_VENV
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$1"
venv="$2"
work="$(mktemp -d)"
db="wa_fuzz_$$"
pg="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$pg" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A voice note for every audio URL the hooks point here.
mkdir -p "$work/media"
printf 'OggS\0\2fuzzing voice note' > "$work/media/voice.ogg"
media_port="$(free_port)"
"$venv/bin/python" -m http.server "$media_port" --bind 127.0.0.1 --directory "$work/media" \
  >"$work/media.log" 2>&1 &
pids+=($!)

psql "$pg" -qc "CREATE DATABASE \"$db\""
# Credentials are required, as in production: the fuzzing calls with a key that has both scopes
# (created with the binary, as an operator would), and checks that calls without one get 401.
key="$(env -i PATH="$PATH" HOME="$HOME" APP_CONFIG_DIR="$PWD/config" DATABASE_URL="${pg%/*}/$db" \
  RUST_LOG=warn "$binary" keys create --name fuzzing --scope chat --scope admin 2>/dev/null |
  grep -o 'wak_[0-9A-Za-z]\{8\}_[0-9A-Za-z]\{32\}' | head -n1 || true)"
if [ -z "$key" ]; then
  echo "fuzz/run.sh: could not create the fuzzing key with '$binary keys create'" >&2
  exit 1
fi
port="$(free_port)"
# Outbound HTTP other than the local media server goes to a closed local port: whatever a fuzzed
# webhook names as its media, nothing leaves the machine.
env -i PATH="$PATH" HOME="$HOME" \
  HOST=127.0.0.1 PORT="$port" APP_CONFIG_DIR="$PWD/config" \
  DATABASE_URL="${pg%/*}/$db" \
  TWILIO_AUTH_TOKEN=fuzz-webhook-token ADMIN_TOKEN=fuzz-admin-token APP_AUTH__ALLOW_ANONYMOUS=false \
  APP_LLM__OFFLINE_WORD_DELAY_MS=0 APP_MEDIA__ALLOW_PRIVATE_NETWORKS=true \
  APP_LIMITS__PER_KEY_PER_MINUTE=0 APP_LIMITS__PER_USER_PER_MINUTE=0 \
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=http://127.0.0.1:9 \
  NO_PROXY=127.0.0.1 RUST_LOG=warn \
  "$binary" >"$work/server.log" 2>&1 &
pids+=($!)
.ci/wait-for-health.sh "$port" "$work/server.log"

export FUZZ_BASE_URL="http://127.0.0.1:$port"
export FUZZ_MEDIA_URL="http://127.0.0.1:$media_port/voice.ogg"
export FUZZ_WEBHOOK_TOKEN=fuzz-webhook-token
export FUZZ_API_KEY="$key"
export SCHEMATHESIS_HOOKS=fuzz.hooks
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0
"$venv/bin/schemathesis" --config-file fuzz/schemathesis.toml run "$FUZZ_BASE_URL/openapi.json" \
  --no-color || status=$?
# What the fuzzing stored: signed webhooks must have got through (an unsigned one gets 403,
# which the checks accept), so none stored means the signing hook is broken.
counts="$(psql "${pg%/*}/$db" -Atc "SELECT
  (SELECT COUNT(*) FROM messages WHERE channel = 'whatsapp' AND direction = 'incoming'),
  (SELECT COUNT(*) FROM messages WHERE channel <> 'whatsapp' AND direction = 'incoming'),
  (SELECT COUNT(*) FROM messages WHERE direction = 'outgoing')")"
IFS='|' read -r webhooks chats replies <<<"$counts"
echo "fuzzing stored ${webhooks} signed webhook messages, ${chats} chat messages, ${replies} replies"
if [ "${webhooks:-0}" -eq 0 ]; then
  echo "no signed webhook was accepted: the signing hook does not match the server"
  status=1
fi
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked during fuzzing:"
  grep -A3 "panicked" "$work/server.log"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 40 lines) ---"
  tail -40 "$work/server.log"
fi
exit "$status"
