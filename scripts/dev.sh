#!/usr/bin/env bash
# `make dev`: sets up, builds, applies the local D1 migrations and runs llmobserve under
# `wrangler dev` on 127.0.0.1.
#
# Environment (stable: other tooling drives the worker through these):
#   OPENAI_BASE_URL         upstream origin (default https://api.openai.com)
#   PORT                    port on 127.0.0.1 (default 8787)
#   LLMOBSERVE_ADMIN_TOKEN  admin secret; when unset, one is generated into .dev.vars
#   OPENAI_API_KEY          the gateway's own OpenAI key for managed mode (optional)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
PERSIST="$ROOT/.wrangler/state"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-worker.sh"

# Local secrets live in .dev.vars (git-ignored). Keep what is there, take what the
# environment says, generate an admin token when there is none.
touch .dev.vars && chmod 600 .dev.vars
set_dev_var() {
  local name="$1" value="$2" rest
  rest="$(grep -v "^$name=" .dev.vars || true)"
  printf '%s\n%s="%s"\n' "$rest" "$name" "$value" | sed '/^$/d' > .dev.vars
}
current() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" .dev.vars | tail -n 1; }
if [ -n "${LLMOBSERVE_ADMIN_TOKEN:-}" ]; then
  set_dev_var LLMOBSERVE_ADMIN_TOKEN "$LLMOBSERVE_ADMIN_TOKEN"
elif [ -z "$(current LLMOBSERVE_ADMIN_TOKEN)" ]; then
  set_dev_var LLMOBSERVE_ADMIN_TOKEN "admin_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  log "generated an admin token into .dev.vars"
fi
[ -n "${OPENAI_API_KEY:-}" ] && set_dev_var OPENAI_API_KEY "$OPENAI_API_KEY"
ADMIN_TOKEN="$(current LLMOBSERVE_ADMIN_TOKEN)"

log "applying D1 migrations to the local database"
"$WRANGLER" d1 migrations apply DB --local --persist-to "$PERSIST" >&2

vars=()
[ -n "${OPENAI_BASE_URL:-}" ] && vars+=(--var "OPENAI_BASE_URL:$OPENAI_BASE_URL")
"$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --persist-to "$PERSIST" \
  --show-interactive-dev-session=false "${vars[@]}" &
WRANGLER_PID=$!
trap 'kill "$WRANGLER_PID" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
    printf '\nllmobserve is ready at http://127.0.0.1:%s\n' "$PORT"
    printf '  upstream:    %s\n' "${OPENAI_BASE_URL:-https://api.openai.com}"
    printf '  admin token: %s   (in .dev.vars)\n' "$ADMIN_TOKEN"
    printf '  create a key: curl -s -X POST http://127.0.0.1:%s/admin/keys -H "authorization: Bearer %s" -d %s\n\n' \
      "$PORT" "$ADMIN_TOKEN" "'{\"name\":\"my-app\",\"scopes\":[\"ingest\",\"read\"]}'"
    break
  fi
  kill -0 "$WRANGLER_PID" 2>/dev/null || die "wrangler dev exited before the worker was ready"
  sleep 0.2
done
wait "$WRANGLER_PID"
