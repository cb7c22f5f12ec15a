#!/usr/bin/env bash
# The spec as its users meet it: lints openapi.yaml, generates the Python and TypeScript clients
# from it (no generator warning allowed) and runs a short program in each against the given
# binary on 127.0.0.1. Usage: sdk/check.sh BINARY PYTHON_VENV (tools installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$1"
venv="$2"
spec="$PWD/openapi.yaml"
ts="$PWD/sdk/typescript"
# The tools run offline: no usage reports, no update checks.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true
export NO_UPDATE_NOTIFIER=1 NPM_CONFIG_UPDATE_NOTIFIER=false

no_warnings() {
  local what="$1" log="$2"
  if grep -iqE "warn|error" "$log"; then
    echo "$what reported problems:"
    cat "$log"
    exit 1
  fi
}

echo "== lint: Redocly"
(cd "$ts" && npx --no-install redocly lint --format=stylish "$spec") >"$ts/lint.log" 2>&1 || {
  cat "$ts/lint.log"
  exit 1
}
# Zero errors and zero warnings: anything the linter lists fails the step.
sed -n '/^validating/,$p' "$ts/lint.log"
if grep -qE "^\s+[0-9]+:[0-9]+\s+(error|warning)" "$ts/lint.log"; then
  exit 1
fi
echo "== lint: openapi-spec-validator"
"$venv/bin/openapi-spec-validator" "$spec"

echo "== generate: Python client"
rm -rf sdk/python/generated
"$venv/bin/openapi-python-client" generate --path "$spec" --output-path sdk/python/generated \
  --config sdk/python/generator.yaml >sdk/python/generate.log 2>&1
no_warnings "openapi-python-client" sdk/python/generate.log
echo "generated $(find sdk/python/generated -name '*.py' | wc -l) Python files"

echo "== generate: TypeScript client"
rm -rf "$ts/generated" "$ts/dist"
(cd "$ts" && npx --no-install openapi-ts -i "$spec" -o generated) >"$ts/generate.log" 2>&1
no_warnings "@hey-api/openapi-ts" "$ts/generate.log"
(cd "$ts" && npx --no-install tsc -p .)
echo "generated $(find "$ts/generated" -name '*.ts' | wc -l) TypeScript files; the program type-checks"

echo "== run both clients against the binary"
work="$(mktemp -d)"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
env -i PATH="$PATH" HOME="$HOME" HOST=127.0.0.1 PORT="$port" APP_CONFIG_DIR="$PWD/config" \
  DATABASE_URL="sqlite://$work/sdk.db?mode=rwc" APP_LLM__OFFLINE_WORD_DELAY_MS=0 RUST_LOG=warn \
  "$binary" >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
.ci/wait-for-health.sh "$port" "$work/server.log"
PYTHONPATH="$PWD/sdk/python/generated" "$venv/bin/python" sdk/python/smoke.py "http://127.0.0.1:$port"
node "$ts/dist/smoke.js" "http://127.0.0.1:$port"
