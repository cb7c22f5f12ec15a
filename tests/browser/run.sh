#!/usr/bin/env bash
# run.sh [BINARY] [PYTHON_VENV]: drives the inbox page in headless Chromium (Debian's
# /usr/bin/chromium through Playwright; no browser is downloaded) against BINARY (default: the
# release build) on a fresh SQLite database on 127.0.0.1, with credentials required and
# ADMIN_TOKEN set; WhatsApp messages arrive through the signed webhook and replies are only
# logged. SCREENSHOTS=DIR also saves the README's screenshots there.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="${1:-${CARGO_TARGET_DIR:-$PWD/target}/release/whatsapp-agent}"
venv="${2:-$PWD/target/ci-tools/venv}"
python="$venv/bin/python"
# axe-core, for the accessibility checks, comes from the page's locked tools.
if [ ! -f adapters/inbox/node_modules/axe-core/axe.min.js ]; then
  (cd adapters/inbox && npm ci --no-audit --no-fund --loglevel=error)
fi
work="$(mktemp -d)"
port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
admin="browser-admin-$("$python" -c 'import secrets; print(secrets.token_hex(16))')"
twilio="$("$python" -c 'import secrets; print(secrets.token_hex(16))')"
env -i PATH="$PATH" HOME="$HOME" HOST=127.0.0.1 PORT="$port" APP_CONFIG_DIR="$PWD/config" \
  DATABASE_URL="sqlite://$work/inbox.db?mode=rwc" ADMIN_TOKEN="$admin" \
  APP_AUTH__ALLOW_ANONYMOUS=false APP_LLM__OFFLINE_WORD_DELAY_MS=20 RUST_LOG=warn \
  APP_LIMITS__PER_KEY_PER_MINUTE=0 APP_LIMITS__PER_USER_PER_MINUTE=0 \
  TWILIO_AUTH_TOKEN="$twilio" PUBLIC_BASE_URL="http://127.0.0.1:$port" \
  "$binary" >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
.ci/wait-for-health.sh "$port" "$work/server.log"
PYTHONDONTWRITEBYTECODE=1 INBOX_BASE="http://127.0.0.1:$port" INBOX_ADMIN_TOKEN="$admin" INBOX_DB="$work/inbox.db" \
  INBOX_TWILIO_TOKEN="$twilio" \
  "$python" -m pytest -q -p no:cacheprovider tests/browser "${@:3}" || {
  echo "server log:"
  tail -40 "$work/server.log"
  exit 1
}
