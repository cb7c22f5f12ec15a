#!/usr/bin/env bash
# check.sh: type-checks the inbox page's JavaScript against its JSDoc types with TypeScript
# (`checkJs`, nothing emitted). The page needs no build: web/ is what the binary embeds.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
npx tsc -p .
