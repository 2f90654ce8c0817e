#!/usr/bin/env bash
# The built-in text model before and after a change, on one machine, in one run: two `ferry serve`
# processes (one per checkout, each built with `npm run build`, each with its own FERRY_HOME holding
# a trained tagifai@production), loaded in turn by wrk, ROUNDS times each, so that drift in the
# machine's speed falls on both alike. Prints the mean req/s of each route per checkout.
#
#   bench/text-before-after.sh <before-checkout> <before-home> <after-checkout> <after-home> [rounds]
#
# e.g. git worktree add ../before <rev>; (cd ../before && npm run build)
#      FERRY_HOME=/tmp/before node ../before/dist/cli/index.js train --grid quick --folds 3 --promote --force
set -euo pipefail
BEFORE=$1 BEFORE_HOME=$2 AFTER=$3 AFTER_HOME=$4 ROUNDS=${5:-6}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cat >"$WORK/v2.json" <<'JSON'
{"inputs":[{"name":"title","shape":[1],"datatype":"BYTES","data":["Transfer learning with transformers"]},{"name":"description","shape":[1],"datatype":"BYTES","data":["Using transformers for transfer learning on text classification tasks."]}]}
JSON
echo '{"title":"Transfer learning with transformers","description":"Using transformers for transfer learning on text classification tasks."}' >"$WORK/predict.json"
for route in v2 predict; do
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("%s"); wrk.body = f:read("*a"); f:close()\n' "$WORK/$route.json" >"$WORK/$route.lua"
done
FERRY_HOME=$BEFORE_HOME node "$BEFORE/dist/cli/index.js" serve --port 8131 --cache off --prediction-log off >"$WORK/before.log" 2>&1 &
FERRY_HOME=$AFTER_HOME node "$AFTER/dist/cli/index.js" serve --port 8132 --cache off --prediction-log off >"$WORK/after.log" 2>&1 &
sleep 5
url() { if [ "$2" = v2 ]; then echo "http://127.0.0.1:$1/v2/models/tagifai/infer"; else echo "http://127.0.0.1:$1/predict"; fi; }
for port in 8131 8132; do wrk -t1 -c64 -d3s -s "$WORK/v2.lua" "$(url $port v2)" >/dev/null; done
for _ in $(seq "$ROUNDS"); do
  for port in 8131 8132; do
    for route in v2 predict; do
      echo "$port $route $(wrk -t1 -c64 -d4s -s "$WORK/$route.lua" "$(url $port $route)" | awk '/Requests\/sec/ {print $2}')"
    done
  done
done | awk '{k=($1==8131?"before":"after")" "$2; s[k]+=$3; n[k]++} END {for (k in s) printf "%-16s %8.0f req/s (mean of %d runs of 4 s, 64 connections)\n", k, s[k]/n[k], n[k]}' | sort
echo "wrk: $(wrk -v 2>&1 | head -1)"
