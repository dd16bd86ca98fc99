// Starts a dev chain (anvil) on a free port with the contracts deployed, then
// `payquest serve` (release build) on a temporary SQLite database and a free
// port, paying on that chain; waits until it is ready, and records the first
// admin's and the demo staff's one-time passwords for the tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const STATE_FILE = join(tmpdir(), 'payquest-e2e-state.json');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr && typeof addr === 'object') {
        const port = addr.port;
        srv.close(() => ok(port));
      } else fail(new Error('no port'));
    });
  });
}

// anvil's first published test account: owner, treasury and operator here.
const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

async function startChain(root: string): Promise<{ pid: number; rpc: string }> {
  const port = await freePort();
  const rpc = `http://127.0.0.1:${port}`;
  const anvil = spawn(
    join(root, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil'),
    ['--host', '127.0.0.1', '--port', String(port), '--enable-tx-gas-limit', '--silent'],
    { stdio: 'ignore', detached: false },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if ((await res.json()).result === '0x7a69') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('anvil did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  anvil.unref();
  return { pid: anvil.pid!, rpc };
}

export default async function globalSetup() {
  const root = resolve(__dirname, '..');
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const binary = join(targetDir, 'release', 'payquest');
  const dir = mkdtempSync(join(tmpdir(), 'payquest-e2e-'));
  const chain = await startChain(root);
  const chainEnv = {
    PAYQUEST_CHAIN_SIGNER_KEY: DEV_KEY,
    PAYQUEST_CHAIN_RPC_URL: chain.rpc,
    PAYQUEST_CHAIN_DEPLOYMENT_FILE: join(dir, 'chain.json'),
    PAYQUEST_CHAIN_CONFIRMATIONS: '1',
    PAYQUEST_DISBURSE_INTERVAL_MS: '300',
    PAYQUEST_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
  };
  execFileSync(binary, ['chain', 'deploy-dev', '--rpc-url', chain.rpc, '--out', join(dir, 'chain.json')], {
    cwd: root,
    env: { ...process.env, ...chainEnv, PAYQUEST_LOG: 'warn' },
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ['serve'], {
    cwd: root,
    env: {
      ...process.env,
      ...chainEnv,
      PAYQUEST_LISTEN: `127.0.0.1:${port}`,
      PAYQUEST_METRICS_LISTEN: '127.0.0.1:0',
      PAYQUEST_DATABASE_URL: `sqlite://${dir}/payquest.db`,
      PAYQUEST_BOOTSTRAP_ADMIN_EMAIL: 'admin@payquest.test',
      PAYQUEST_PUBLIC_URL: url,
      PAYQUEST_LOG: process.env.PAYQUEST_LOG ?? 'warn',
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? join(root, 'target', 'site'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`payquest exited early: ${out}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`payquest did not become ready: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const otp = /one-time password: (\S+)/.exec(out)?.[1];
  if (!otp) throw new Error(`no one-time password printed: ${out}`);
  // Demo staff, a funded campaign and activities for review, added beside the running server.
  const demo = execFileSync(binary, ['demo', '--email-domain', 'payquest.test'], {
    cwd: root,
    env: {
      ...process.env,
      PAYQUEST_DATABASE_URL: `sqlite://${dir}/payquest.db`,
      PAYQUEST_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
      PAYQUEST_LOG: 'warn',
    },
  }).toString();
  const demoOtp = (who: string) => {
    const m = new RegExp(`created ${who} \\S+ one-time password: (\\S+)`).exec(demo);
    if (!m) throw new Error(`demo did not create ${who}: ${demo}`);
    return m[1];
  };
  const demoStaff = {
    finance: demoOtp('finance'),
    owner: demoOtp('owner'),
    community: demoOtp('community'),
    maker: demoOtp('maker'),
    checker: demoOtp('checker'),
    treasurer: demoOtp('treasurer'),
  };
  writeFileSync(STATE_FILE, JSON.stringify({ pid: child.pid, anvilPid: chain.pid, url, otp, dir, demoStaff }));
  process.env.PAYQUEST_E2E_URL = url;
  child.unref();
}
