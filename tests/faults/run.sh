#!/usr/bin/env bash
# Fault suite: the release binary (two instances) against PostgreSQL, a fake provider that fails
# or answers late and a slow fake model, through redeliveries, kill -9, a provider outage, late
# answers and a model that fails for good; `--pg-stop` also stops PostgreSQL for 8 s under load.
# Prints one row per scenario and fails unless each has 0 duplicate sends, 0 lost replies and 0
# order violations.
#
# Usage: tests/faults/run.sh [BINARY] [driver options, e.g. --only kill --pg-stop]
set -euo pipefail
cd "$(dirname "$0")/../.."

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cluster="$(ls /etc/postgresql | head -n1)"

# Whatever happens (a failed scenario, Ctrl-C, a stop mid-scenario), PostgreSQL is left running:
# the machine's cluster, and the private one named by FAULTS_PG_DATA (a data directory owned by
# `postgres`, with TEST_DATABASE_URL pointing at it) when `--pg-stop` should stop that instead.
restart_postgres() {
  if ! pg_isready -h 127.0.0.1 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  fi
  if [ -n "${FAULTS_PG_DATA:-}" ] && ! pg_isready -d "$TEST_DATABASE_URL" -q; then
    su postgres -c "/usr/lib/postgresql/$cluster/bin/pg_ctl -D $FAULTS_PG_DATA -l $FAULTS_PG_DATA/../pg.log -w start" || true
  fi
}
trap restart_postgres EXIT INT TERM

restart_postgres
for _ in $(seq 1 30); do
  pg_isready -d "$TEST_DATABASE_URL" -q && break
  sleep 1
done

binary="${1:-}"
if [ -n "$binary" ] && [ -x "$binary" ]; then
  shift
else
  binary="${CARGO_TARGET_DIR:-$PWD/target}/release/whatsapp-agent"
  cargo build --release -q -p wa-server --bin whatsapp-agent
fi

python3 tests/faults/driver.py "$binary" "$@"
