#!/usr/bin/env bash
# Builds the dashboard (dashboard/src -> dashboard/dist) with esbuild: one minified ES
# module (the chart library split off and loaded after the numbers show), one stylesheet
# and index.html. dist/ is what wrangler.toml's [assets] binding serves.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT/dashboard"
rm -rf dist && mkdir -p dist
"$ESBUILD" src/main.js --bundle --splitting --format=esm --minify --target=es2022 \
  --entry-names=app --chunk-names=[name]-[hash] --outdir=dist --log-level=warning
"$ESBUILD" src/style.css --minify --outfile=dist/app.css --log-level=warning
cp index.html dist/index.html
gz=$(cat dist/*.js dist/*.css dist/index.html | gzip -9 | wc -c)
log "built dashboard/dist ($(cat dist/* | wc -c) bytes, $gz gzipped)"
