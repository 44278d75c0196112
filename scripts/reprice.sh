#!/usr/bin/env bash
# Re-prices one tenant's events over a date range after a price change, and prints the
# run's report (totals before and after, old and new price versions).
#
#   LLMOBSERVE_URL=http://127.0.0.1:8787 LLMOBSERVE_ADMIN_TOKEN=... \
#     scripts/reprice.sh acme-corp 2026-11-01 2026-11-30
#
# A range of more than 2,000 events takes several requests: the script continues the run
# until it is complete.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TENANT FROM_DAY TO_DAY   (days as YYYY-MM-DD, inclusive)" >&2; exit 2; }
: "${LLMOBSERVE_ADMIN_TOKEN:?set LLMOBSERVE_ADMIN_TOKEN (or an admin key)}"
url="${LLMOBSERVE_URL:-http://127.0.0.1:8787}"
post() {
  curl -sS --fail-with-body -X POST "$url/admin/reprice" \
    -H "authorization: Bearer $LLMOBSERVE_ADMIN_TOKEN" -H 'content-type: application/json' -d "$1"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
report="$(post "{\"tenant_id\":\"$1\",\"from\":\"$2\",\"to\":\"$3\"}")"
while [ "$(printf '%s' "$report" | field status)" = running ]; do
  report="$(post "{\"run_id\":\"$(printf '%s' "$report" | field id)\"}")"
done
printf '%s\n' "$report" | python3 -m json.tool
