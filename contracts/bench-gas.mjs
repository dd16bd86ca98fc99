#!/usr/bin/env node
// Gas bench and self-check of PayoutBatch against a lone ERC-20 transfer.
//
//   node contracts/bench-gas.mjs        (what `make bench-gas` runs)
//
// Starts its own anvil (free port on 127.0.0.1, EIP-7825 per-transaction gas
// cap enforced), deploys contracts/out/*.json from account 0 (treasury and
// operator), measures gasUsed from receipts and checks that pay is all or
// nothing. Exits non-zero if anvil fails, a check fails or a target is missed.
//
// Per-transaction cap (16,777,216 gas, EIP-7825): the largest batch of FRESH
// recipients that fits is about 650 (measured at the end with gas limit = cap:
// 650 mined, 651 did not). A batch of existing holders fits about 1,900
// (estimated from its marginal cost, 8,590 gas).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const TX_GAS_CAP = 16_777_216;
const TARGET_FRESH = 53; // % of a lone transfer, per recipient, batch of 500
const TARGET_EXISTING = 30;
const BATCH_SIZES = [1, 100, 500];
const FIXED_GAS = 1_000_000; // for transactions that must be mined and revert

// ---------------------------------------------------------------- anvil

function anvilBinary() {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  const cpu = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  const path = join(root, 'node_modules', '@foundry-rs', `anvil-${os}-${cpu}`, 'bin', exe);
  if (!existsSync(path)) throw new Error(`anvil not found at ${path} (run npm ci at the repo root)`);
  return path;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let anvil = null; // child process
let anvilExit = null; // set when it exits: {code, signal}
let anvilStderr = '';

function stopAnvil() {
  if (anvil && anvilExit === null) anvil.kill('SIGKILL');
}
process.on('exit', stopAnvil);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopAnvil();
    process.exit(130);
  });
}

let rpcUrl = '';
let rpcId = 0;

async function rpc(method, params = []) {
  if (anvilExit) throw new Error(`anvil exited (${JSON.stringify(anvilExit)}): ${anvilStderr.trim()}`);
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  const body = await res.json();
  if (body.error) {
    const err = new Error(`${method}: ${body.error.message}`);
    err.rpc = body.error;
    throw err;
  }
  return body.result;
}

async function startAnvil() {
  const port = await freePort();
  rpcUrl = `http://127.0.0.1:${port}`;
  anvil = spawn(
    anvilBinary(),
    ['--host', '127.0.0.1', '--port', String(port), '--enable-tx-gas-limit', '--silent'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  anvil.stderr.on('data', (chunk) => (anvilStderr += chunk));
  anvil.on('exit', (code, signal) => (anvilExit = { code, signal }));
  anvil.on('error', (err) => (anvilExit = { error: err.message }));

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (anvilExit) throw new Error(`anvil exited at start (${JSON.stringify(anvilExit)}): ${anvilStderr.trim()}`);
    try {
      const chainId = await rpc('eth_chainId');
      // Another node could hold the port: make sure the one answering is ours and still alive.
      await new Promise((r) => setTimeout(r, 100));
      if (anvilExit) continue; // reported at the top of the loop
      if (chainId !== '0x7a69') throw new Error(`unexpected chain id ${chainId} on ${rpcUrl}`);
      return;
    } catch (err) {
      if (err.rpc || err.message.startsWith('unexpected')) throw err;
      if (Date.now() > deadline) throw new Error(`anvil did not answer on ${rpcUrl}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// ---------------------------------------------------------------- ABI helpers

const strip = (hex) => hex.replace(/^0x/, '');
const word = (n) => BigInt(n).toString(16).padStart(64, '0');
const addrWord = (a) => strip(a).toLowerCase().padStart(64, '0');

function stringTail(s) {
  const bytes = Buffer.from(s, 'utf8');
  const hex = bytes.toString('hex');
  return word(bytes.length) + hex.padEnd(Math.ceil(hex.length / 64) * 64, '0');
}

async function keccak(text) {
  return rpc('web3_sha3', [`0x${Buffer.from(text, 'utf8').toString('hex')}`]);
}
const selectors = {};
async function sel(signature) {
  selectors[signature] ??= (await keccak(signature)).slice(0, 10);
  return selectors[signature];
}

/** Deterministic address that has never been used: sha256(label) truncated to 20 bytes. */
function address(label) {
  return `0x${createHash('sha256').update(label).digest('hex').slice(0, 40)}`;
}

/** One packed entry: recipient in the high 160 bits, amount in the low 96. */
function entry(recipient, amount) {
  if (amount < 0n || amount >= 1n << 96n) throw new Error(`amount out of range: ${amount}`);
  return strip(recipient).toLowerCase() + amount.toString(16).padStart(24, '0');
}

// ---------------------------------------------------------------- transactions

async function receipt(hash) {
  for (let i = 0; i < 200; i++) {
    const r = await rpc('eth_getTransactionReceipt', [hash]);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`no receipt for ${hash}`);
}

/** Sends and waits; throws unless the receipt says success (unless expectFailure). */
async function send(from, to, data, { gas, expectFailure = false } = {}) {
  const tx = { from, data };
  if (to) tx.to = to;
  if (gas) tx.gas = `0x${gas.toString(16)}`;
  const r = await receipt(await rpc('eth_sendTransaction', [tx]));
  const ok = r.status === '0x1';
  if (ok === expectFailure) {
    throw new Error(`transaction ${r.transactionHash} status ${r.status}, expected ${expectFailure ? '0x0' : '0x1'}`);
  }
  return { ...r, gas: Number(BigInt(r.gasUsed)) };
}

async function call(to, data, from) {
  return rpc('eth_call', [{ to, data, ...(from ? { from } : {}) }, 'latest']);
}

/** Revert data of a call expected to revert. */
async function revertData(to, data, from) {
  try {
    await call(to, data, from);
  } catch (err) {
    const d = err.rpc?.data;
    return typeof d === 'string' ? d : (d?.data ?? '');
  }
  throw new Error('call was expected to revert but succeeded');
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// ---------------------------------------------------------------- bench

function artifact(name) {
  const path = join(here, 'out', `${name}.json`);
  if (!existsSync(path)) throw new Error(`${path} missing: run node contracts/build.mjs`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

async function main() {
  await startAnvil();
  const accounts = await rpc('eth_accounts');
  const [treasury, stranger] = accounts;
  const operator = treasury;

  // Deploy.
  const tokenArgs = word(64) + word(128) + stringTail('PayQuest Dev Token') + stringTail('PQT');
  const tokenTx = await send(treasury, null, artifact('PayQuestToken').bytecode.object + tokenArgs);
  const token = tokenTx.contractAddress;
  const payoutTx = await send(treasury, null, artifact('PayoutBatch').bytecode.object + addrWord(operator));
  const payout = payoutTx.contractAddress;

  const S = {
    mint: await sel('mint(address,uint256)'),
    transfer: await sel('transfer(address,uint256)'),
    approve: await sel('approve(address,uint256)'),
    balanceOf: await sel('balanceOf(address)'),
    pay: await sel('pay(uint256,address,address,bytes32[])'),
    executed: await sel('executed(uint256)'),
    setOperator: await sel('setOperator(address)'),
    AlreadyExecuted: await sel('AlreadyExecuted(uint256)'),
    NotOperator: await sel('NotOperator()'),
    NotOwner: await sel('NotOwner()'),
    TransferFailed: await sel('TransferFailed(uint256)'),
  };
  const TRANSFER_TOPIC = await keccak('Transfer(address,address,uint256)');
  const BATCH_PAID_TOPIC = await keccak('BatchPaid(uint256,uint256,uint256)');

  const MAX = (1n << 256n) - 1n;
  await send(treasury, token, S.mint + addrWord(treasury) + word(10n ** 15n * 10n ** 6n));
  await send(treasury, token, S.approve + addrWord(payout) + word(MAX));

  const balanceOf = async (who) => BigInt(await call(token, S.balanceOf + addrWord(who)));
  const payData = (batchId, entries) =>
    S.pay + word(batchId) + addrWord(token) + addrWord(treasury) + word(128) + word(entries.length) + entries.join('');
  const amountFor = (i) => 10_000_000n + BigInt(i) * 7_919n; // ~10 tokens, 3-4 significant bytes like real payouts
  let nextBatchId = 1000;
  let labels = 0;
  const freshAddresses = (n) => Array.from({ length: n }, () => address(`payquest-bench-${labels++}`));

  /** Pays `recipients` in one batch; checks balances, logs and the BatchPaid event. */
  async function payBatch(recipients, opts = {}) {
    const batchId = nextBatchId++;
    const amounts = recipients.map((_, i) => amountFor(i));
    const before = opts.skipChecks ? null : await Promise.all(recipients.map(balanceOf));
    const r = await send(operator, payout, payData(batchId, recipients.map((to, i) => entry(to, amounts[i]))), opts);
    if (opts.expectFailure || opts.skipChecks) return { ...r, batchId };
    const after = await Promise.all(recipients.map(balanceOf));
    recipients.forEach((to, i) =>
      check(after[i] === before[i] + amounts[i], `balance of ${to} is ${after[i]}, expected ${before[i] + amounts[i]}`),
    );
    const transfers = r.logs.filter((l) => l.topics[0] === TRANSFER_TOPIC);
    const paid = r.logs.filter((l) => l.topics[0] === BATCH_PAID_TOPIC);
    check(transfers.length === recipients.length, `${transfers.length} Transfer logs for ${recipients.length} entries`);
    check(paid.length === 1, `${paid.length} BatchPaid events`);
    const total = amounts.reduce((a, b) => a + b, 0n);
    check(BigInt(paid[0].topics[1]) === BigInt(batchId), 'BatchPaid batchId');
    check(paid[0].data === `0x${word(recipients.length)}${word(total)}`, 'BatchPaid count and total');
    check(BigInt(await call(payout, S.executed + word(batchId))) === 1n, 'executed(batchId) after pay');
    return { ...r, batchId };
  }

  // Baselines: a lone transfer from the treasury.
  const [loneFreshTo, loneHolder] = freshAddresses(2);
  const loneFresh = await send(treasury, token, S.transfer + addrWord(loneFreshTo) + word(amountFor(0)));
  await send(treasury, token, S.transfer + addrWord(loneHolder) + word(amountFor(1))); // gives it a balance
  const loneExisting = await send(treasury, token, S.transfer + addrWord(loneHolder) + word(amountFor(0)));
  check((await balanceOf(loneFreshTo)) === amountFor(0), 'lone transfer balance');
  const lone = { fresh: loneFresh.gas, existing: loneExisting.gas };

  const rows = [];
  const perRecipient = {};
  for (const n of BATCH_SIZES) {
    const fresh = await payBatch(freshAddresses(n));
    const holders = freshAddresses(n);
    await payBatch(holders, { skipChecks: true }); // not counted: gives every holder a balance
    const existing = await payBatch(holders);
    for (const [kind, r] of [['fresh', fresh], ['existing', existing]]) {
      const per = r.gas / n;
      perRecipient[`${kind}-${n}`] = per;
      rows.push({ n, kind, total: r.gas, per, pct: (100 * per) / lone[kind] });
    }
  }

  // ---------------------------------------------------------- self-check
  // A replayed batch id reverts with AlreadyExecuted(batchId), also when mined.
  const done = nextBatchId - 1;
  const replay = payData(done, [entry(address('replay'), 1n)]);
  check((await revertData(payout, replay, operator)) === S.AlreadyExecuted + word(done), 'replay revert data');
  await send(operator, payout, replay, { gas: FIXED_GAS, expectFailure: true });

  // Only the operator may pay; only the owner may change the operator.
  const strangerPay = payData(nextBatchId, [entry(address('stranger'), 1n)]);
  check((await revertData(payout, strangerPay, stranger)) === S.NotOperator, 'non-operator revert data');
  await send(stranger, payout, strangerPay, { gas: FIXED_GAS, expectFailure: true });
  await send(stranger, payout, S.setOperator + addrWord(stranger), { gas: FIXED_GAS, expectFailure: true });

  // With the allowance revoked the whole batch reverts and the batch id stays unused.
  await send(treasury, token, S.approve + addrWord(payout) + word(0));
  const revokedTo = freshAddresses(3);
  const revokedId = nextBatchId;
  const revokedData = payData(revokedId, revokedTo.map((to, i) => entry(to, amountFor(i))));
  check((await revertData(payout, revokedData, operator)) === S.TransferFailed + word(0), 'revoked revert data');
  const revoked = await payBatch(revokedTo, { gas: FIXED_GAS, expectFailure: true });
  check(revoked.status === '0x0', 'revoked allowance: receipt status 0');
  check(BigInt(await call(payout, S.executed + word(revokedId))) === 0n, 'failed batch id not recorded');
  for (const to of revokedTo) check((await balanceOf(to)) === 0n, 'failed batch paid nobody');
  await send(treasury, token, S.approve + addrWord(payout) + word(MAX));

  // ---------------------------------------------------------- the per-transaction cap
  // Marginal cost per fresh recipient from the 100 and 500 batches, then confirm by
  // sending with gas limit = cap: the estimate must be mined, one more must run out.
  const f100 = rows.find((r) => r.n === 100 && r.kind === 'fresh').total;
  const f500 = rows.find((r) => r.n === 500 && r.kind === 'fresh').total;
  const marginal = (f500 - f100) / 400;
  let fits = Math.floor((TX_GAS_CAP - (f500 - 500 * marginal)) / marginal);
  const tryCap = (n) => payBatch(freshAddresses(n), { gas: TX_GAS_CAP, skipChecks: true }).catch(() => null);
  while (fits > 1 && !(await tryCap(fits))) fits--;
  while (await tryCap(fits + 1)) fits++;
  check(fits >= 500, `a batch of 500 fresh recipients must fit under the cap (largest: ${fits})`);

  // ---------------------------------------------------------- report
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  console.log(`lone ERC-20 transfer: fresh ${fmt(lone.fresh)}, existing holder ${fmt(lone.existing)} gas`);
  console.log('');
  console.log('batch  recipients   total gas   gas/recipient   vs lone transfer');
  for (const r of rows) {
    console.log(
      `${String(r.n).padStart(5)}  ${r.kind.padEnd(10)} ${fmt(r.total).padStart(11)} ${fmt(r.per).padStart(15)} ${r.pct
        .toFixed(1)
        .padStart(16)} %`,
    );
  }
  console.log('');
  console.log(`marginal fresh recipient: ${fmt(marginal)} gas; largest fresh batch under the ${fmt(TX_GAS_CAP)} cap: ${fits}`);
  console.log('self-check: balances, Transfer/BatchPaid logs, replay, non-operator, revoked allowance: ok');

  const fresh500 = (100 * perRecipient['fresh-500']) / lone.fresh;
  const existing500 = (100 * perRecipient['existing-500']) / lone.existing;
  const missed = fresh500 > TARGET_FRESH || existing500 > TARGET_EXISTING;
  if (missed) console.log('TARGET MISSED');
  console.log(`fresh: ${fresh500.toFixed(1)} % of a lone transfer (target <= ${TARGET_FRESH} %)`);
  console.log(`existing: ${existing500.toFixed(1)} % (target <= ${TARGET_EXISTING} %)`);
  return missed ? 1 : 0;
}

/** Kills anvil and waits (at most 2 s) until it has exited, so no process is left behind. */
async function shutdown(code) {
  if (anvil && anvilExit === null) {
    const exited = new Promise((resolve) => anvil.once('exit', resolve));
    stopAnvil();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  }
  process.exit(code);
}

main()
  .then(shutdown)
  .catch((err) => {
    console.error(`bench-gas: ${err.stack ?? err}`);
    return shutdown(1);
  });
