// A visitor's page loads the public site's bundle only: its wasm and JS are
// a fraction of the dashboard's, and no dashboard file is fetched.
import { get } from 'node:http';
import { gzipSync } from 'node:zlib';
import { expect, hydrated, state, test } from './helpers';

async function scriptBytes(page: import('@playwright/test').Page, path: string) {
  const files = new Map<string, { raw: number; gzip: number }>();
  const pending: Promise<void>[] = [];
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (/\.(wasm|js)$/.test(url.pathname)) {
      // Pages load the bundle under its content's version: /pkg/<version>/…
      const name = url.pathname.replace(/^\/pkg\/[0-9a-f]{16}\//, '/pkg/');
      pending.push(
        res.body().then((body) => {
          files.set(name, { raw: body.length, gzip: gzipSync(body).length });
        }),
      );
    }
  });
  await page.goto(state().url + path);
  await hydrated(page);
  await Promise.all(pending);
  let raw = 0;
  let gzip = 0;
  for (const f of files.values()) {
    raw += f.raw;
    gzip += f.gzip;
  }
  return { files: [...files.keys()].sort(), raw, gzip };
}

test('the public home page downloads a fraction of the dashboard bundle', async ({ browser }) => {
  const visitor = await browser.newPage();
  const pub = await scriptBytes(visitor, '/');
  await visitor.close();
  const staff = await browser.newPage();
  const dash = await scriptBytes(staff, '/admin/login');
  await staff.close();
  console.log(
    `public / : ${pub.raw} B wasm+JS (${pub.gzip} B gzipped) ${pub.files.join(' ')}\n` +
      `dashboard: ${dash.raw} B wasm+JS (${dash.gzip} B gzipped) ${dash.files.join(' ')}\n` +
      `ratio    : ${(pub.gzip / dash.gzip).toFixed(2)} of the dashboard's gzipped bytes`,
  );
  expect(pub.files).toContain('/pkg/payquest_public.wasm');
  expect(pub.files).not.toContain('/pkg/payquest.wasm');
  expect(dash.files).toContain('/pkg/payquest.wasm');
  expect(pub.gzip).toBeLessThan(dash.gzip * 0.7);
});

test('the sign-in page comes compressed, and a second load fetches no static file again', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const paths = new Map<string, string>();
  const wire = new Map<string, number>();
  cdp.on('Network.requestWillBeSent', (e) => {
    const path = new URL(e.request.url).pathname;
    if (path.startsWith('/pkg/')) paths.set(e.requestId, path);
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (paths.has(e.requestId)) wire.set(e.requestId, e.encodedDataLength);
  });
  const load = async () => {
    paths.clear();
    wire.clear();
    await page.goto(state().url + '/admin/login');
    await hydrated(page);
    await page.waitForTimeout(500);
    return [...paths.entries()].map(([id, path]) => ({ path, bytes: wire.get(id) ?? 0 }));
  };
  const first = await load();
  const wasm = first.find((f) => f.path.endsWith('/payquest.wasm'))!;
  expect(wasm.path).toMatch(/^\/pkg\/[0-9a-f]{16}\/payquest\.wasm$/);
  const raw = (await (await context.request.get(state().url + '/pkg/payquest.wasm', { headers: { 'Accept-Encoding': 'identity' } })).body()).length;
  const immutable = await context.request.get(state().url + wasm.path);
  expect(immutable.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  const second = await load();
  const firstBytes = first.reduce((n, f) => n + f.bytes, 0);
  const again = second.filter((f) => /\.(wasm|js)$/.test(f.path)).reduce((n, f) => n + f.bytes, 0);
  console.log(
    `sign-in page, first load: ${firstBytes} B of static files on the wire (${first.length} files; the wasm ${wasm.bytes} B of its raw ${raw} B, ` +
      `${(wasm.bytes / raw).toFixed(2)}); second load: ${again} B of wasm and JS fetched again`,
  );
  expect(wasm.bytes).toBeLessThan(raw * 0.4);
  expect(again).toBe(0);
  await context.close();
});

test('bundle files are sent compressed and revalidated', async ({ request }) => {
  for (const [file, encoding] of [
    ['/pkg/payquest_public.wasm', 'br'],
    ['/pkg/payquest.wasm', 'gzip'],
  ]) {
    const res = await request.get(state().url + file, { headers: { 'Accept-Encoding': encoding } });
    expect(res.status()).toBe(200);
    expect(res.headers()['content-encoding'], file).toBe(encoding);
    expect(res.headers()['cache-control'], file).toBe('public, no-cache');
  }
  const plain = await request.get(state().url + '/pkg/payquest_public.wasm', { headers: { 'Accept-Encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  // Bytes on the wire (not decoded) and time to the last byte, per encoding.
  const wire = (file: string, encoding: string) =>
    new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
      const start = Date.now();
      get(state().url + file, { headers: { 'Accept-Encoding': encoding } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ bytes, ms: Date.now() - start }));
      }).on('error', reject);
    });
  for (const file of ['/pkg/payquest_public.wasm', '/pkg/payquest.wasm']) {
    const raw = await wire(file, 'identity');
    const br = await wire(file, 'br');
    const gz = await wire(file, 'gzip');
    console.log(
      `${file}: identity ${raw.bytes} B (${raw.ms} ms), br ${br.bytes} B (${br.ms} ms, ${(br.bytes / raw.bytes).toFixed(2)}), ` +
        `gzip ${gz.bytes} B (${gz.ms} ms, ${(gz.bytes / raw.bytes).toFixed(2)})`,
    );
    expect(br.bytes).toBeLessThan(raw.bytes * 0.5);
  }
  // An error page is not marked for caching.
  const missing = await request.get(state().url + '/pkg/no-such-file.wasm');
  expect(missing.status()).toBe(404);
  expect(missing.headers()['cache-control'] ?? '').not.toContain('public');
});

test('the public bundle calls only the public site\'s server functions', async ({ request }) => {
  const endpoints = async (file: string) => {
    const body = (await (await request.get(state().url + file)).body()).toString('latin1');
    return [...new Set(body.match(/\/api\/[a-z_]+/g) ?? [])].sort();
  };
  const pub = await endpoints('/pkg/payquest_public.wasm');
  const dash = await endpoints('/pkg/payquest.wasm');
  console.log(`server functions in the public bundle: ${pub.join(' ')} (the dashboard's has ${dash.length})`);
  expect(pub).toEqual([
    '/api/current_gamer',
    '/api/gamer_sign_out',
    '/api/leaderboard',
    '/api/link_account',
    '/api/load_preview',
    '/api/my_activities',
    '/api/my_profile',
    '/api/public_entry',
    '/api/public_home',
    '/api/public_list',
    '/api/siwe_challenge',
    '/api/siwe_sign_in',
    '/api/unlink_account',
  ]);
  // Names sit back to back in the wasm's data, so a name can run into the
  // next one's letters: the dashboard's bundle is checked for each as text.
  const dashText = (await (await request.get(state().url + '/pkg/payquest.wasm')).body()).toString('latin1');
  for (const name of ['/api/list_users', '/api/approve_batch', ...pub]) {
    expect(dashText.includes(name), `${name} in the dashboard's bundle`).toBe(true);
  }
});
