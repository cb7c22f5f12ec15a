#!/usr/bin/env bash
# wait-for-health.sh PORT LOG: waits up to 30 s for the server on PORT to answer /health; if it
# never does, shows the end of its LOG and fails.
port="$1"
log="$2"
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && exit 0
  sleep 0.1
done
echo "the server did not answer /health within 30 s:"
tail -40 "$log"
exit 1
