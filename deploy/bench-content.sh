#!/usr/bin/env bash
# `make bench-content`: requests/s of the cached public content API and the
# public home page beside a static route (/healthz) on the same server in
# the same run, with the in-process cache and with the Redis-shared one,
# then the bytes of wasm+JS a visitor of `/` downloads beside a dashboard
# page's. wrk (Debian) is the load generator; everything is on 127.0.0.1.
set -euo pipefail

bin=${1:?usage: bench-content.sh path/to/payquest}
site=${LEPTOS_SITE_ROOT:-target/site}
duration=${BENCH_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-32}
redis=${PAYQUEST_TEST_REDIS_URL:-redis://127.0.0.1:6379}
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export PAYQUEST_DATABASE_URL="sqlite://$work/bench.db"
export PAYQUEST_SECRETS_KEY="bench=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
export PAYQUEST_LOG=warn
export PAYQUEST_LISTEN=127.0.0.1:0
export PAYQUEST_METRICS_LISTEN=127.0.0.1:0
export PAYQUEST_MEDIA_STORE="$work/media"
export PAYQUEST_VALIDATION_WORKERS=false
export LEPTOS_SITE_ROOT="$site"
"$bin" demo >/dev/null

start() {
  "$bin" serve >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    addr=$(sed -n 's/^payquest listening on //p' "$work/out")
    [ -n "$addr" ] && return
    sleep 0.1
  done
  cat "$work/out" >&2
  exit 1
}

rate() { # path → requests/s (wrk, one thread, $connections connections)
  curl -fsS -o /dev/null "$addr$1" # warm the cache
  wrk -t1 -c"$connections" -d"${duration}s" "$addr$1" | awk '/^Requests\/sec:/ { print $2 }'
}

row() { # label, path, baseline → a line of the table
  local r
  r=$(rate "$2")
  printf '| %-34s | %10.0f | %5.2f |\n' "$1" "$r" "$(echo "$r / $3" | bc -l)"
}

for mode in in-process redis; do
  if [ "$mode" = redis ]; then
    export PAYQUEST_REDIS_URL="$redis"
    export PAYQUEST_REDIS_PREFIX="bench:$$:"
  fi
  start
  base=$(rate /healthz)
  echo
  echo "cache: $mode ($connections connections, ${duration} s each)"
  echo "| route                              |      req/s | ratio |"
  echo "|------------------------------------|-----------:|------:|"
  printf '| %-34s | %10.0f | %5.2f |\n' "static /healthz (baseline)" "$base" 1
  row "GET /api/v1/content/k_quest" /api/v1/content/k_quest "$base"
  row "GET /api/v1/content/banner/banner" /api/v1/content/banner/banner "$base"
  row "GET / (public home page)" / "$base"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done

bytes() { cat "$@" | wc -c; }
gz() { cat "$@" | gzip -9 | wc -c; }
pkg="$site/pkg"
pub=("$pkg/payquest_public.wasm" "$pkg/payquest_public.js")
dash=("$pkg/payquest.wasm" "$pkg/payquest.js")
echo
echo "| bundle                 | wasm+JS bytes | gzipped |"
echo "|------------------------|--------------:|--------:|"
printf '| %-22s | %13d | %7d |\n' "public site (/)" "$(bytes "${pub[@]}")" "$(gz "${pub[@]}")"
printf '| %-22s | %13d | %7d |\n' "dashboard (/admin)" "$(bytes "${dash[@]}")" "$(gz "${dash[@]}")"
printf 'ratio (gzipped): %.2f of the dashboard\n' "$(echo "$(gz "${pub[@]}") / $(gz "${dash[@]}")" | bc -l)"
