#!/usr/bin/env bash
# Schema-driven fuzzing of the machine API: schemathesis generates requests
# from /api/v1/openapi.json and sends them to a fresh server on 127.0.0.1.
# Any 5xx, response that breaks the schema, undocumented status, accepted
# invalid request or refused valid one fails the run. It stops by itself
# (a bounded number of examples per operation, a fixed seed).
set -euo pipefail
bin=${1:?usage: api-fuzz.sh path/to/payquest}
examples=${API_FUZZ_EXAMPLES:-40}
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

export PAYQUEST_DATABASE_URL="sqlite://$dir/fuzz.db" PAYQUEST_SECRETS_KEY_FILE="$dir/secrets.key"
export PAYQUEST_LISTEN=127.0.0.1:0 PAYQUEST_METRICS_LISTEN=127.0.0.1:0
export PAYQUEST_LOG=warn PAYQUEST_VALIDATION_WORKERS=false PAYQUEST_DISBURSEMENT_WORKERS=false
"$bin" migrate >/dev/null
creds=$("$bin" api-client create --name "API fuzz" --scopes "activities:write activities:read" --json)
"$bin" serve >"$dir/out" 2>"$dir/err" &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^payquest listening on //p' "$dir/out")
  [ -n "$url" ] && break
  sleep 0.2
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$dir/err"; exit 1; }

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
token_json=$(curl -sf -X POST "$url/api/v1/oauth/token" \
  -d grant_type=client_credentials \
  --data-urlencode "client_id=$(field "$creds" client_id)" \
  --data-urlencode "client_secret=$(field "$creds" client_secret)")
token=$(field "$token_json" access_token)

# From the scratch folder, so schemathesis' cache stays out of the checkout.
cd "$dir"
st run "$url/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "$examples" \
  --seed 20261201 \
  --no-color
