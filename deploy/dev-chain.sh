#!/usr/bin/env bash
# The local dev chain for `make run`: starts anvil (from the npm package
# @foundry-rs/anvil) on 127.0.0.1 unless it already answers there, keeps its
# state in data/ across restarts, and deploys the token and payout contracts
# once per chain (data/chain.json). Usage: deploy/dev-chain.sh <payquest binary>
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/dev.env

bin=${1:?usage: deploy/dev-chain.sh <payquest binary>}
anvil=node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
mkdir -p data

rpc() {
  curl -s -m 2 -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$PAYQUEST_CHAIN_RPC_URL" || true
}

if ! rpc eth_chainId '[]' | grep -q '"result":"0x7a69"'; then
  port=${PAYQUEST_CHAIN_RPC_URL##*:}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port answers but is not a dev chain (chain id 31337); set PAYQUEST_CHAIN_RPC_URL" >&2
    exit 1
  fi
  echo "starting the dev chain on $PAYQUEST_CHAIN_RPC_URL (log: data/anvil.log)"
  nohup "$anvil" --host 127.0.0.1 --port "$port" --enable-tx-gas-limit --block-time 1 \
    --state data/anvil-state.json --state-interval 5 >data/anvil.log 2>&1 &
  echo $! >data/anvil.pid
  for _ in $(seq 1 50); do
    rpc eth_chainId '[]' | grep -q result && break
    sleep 0.2
  done
  rpc eth_chainId '[]' | grep -q result || { echo "anvil did not start; see data/anvil.log" >&2; exit 1; }
fi

# Deploy unless the recorded payout contract has code on this chain.
if [ -f "$PAYQUEST_CHAIN_DEPLOYMENT_FILE" ]; then
  payout=$(node -e "console.log(require('./$PAYQUEST_CHAIN_DEPLOYMENT_FILE').payout_contract)")
  if rpc eth_getCode "[\"$payout\",\"latest\"]" | grep -q '"result":"0x[0-9a-f]'; then
    echo "dev contracts already deployed: $PAYQUEST_CHAIN_DEPLOYMENT_FILE"
    exit 0
  fi
fi
"$bin" chain deploy-dev --rpc-url "$PAYQUEST_CHAIN_RPC_URL" --out "$PAYQUEST_CHAIN_DEPLOYMENT_FILE"
