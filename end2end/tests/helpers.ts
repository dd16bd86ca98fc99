import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { test as base, expect, type Page } from '@playwright/test';
import { STATE_FILE } from '../global-setup';

export function state(): {
  url: string;
  otp: string;
  demoStaff: { finance: string; owner: string; community: string; maker: string; checker: string; treasurer: string };
} {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8'));
}

function base32Decode(input: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of input.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
export function totp(secretBase32: string, atMs = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, '0');
}

/** Fails on any WCAG 2.1 A/AA violation axe-core finds on the page as it is now. */
export async function expectAccessible(page: Page) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const summary = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(summary, `accessibility violations on ${page.url()}`).toEqual([]);
}

/** The page itself never scrolls sideways (wide tables scroll inside
 * their own box). */
export async function expectNoPageScroll(page: Page) {
  const [scroll, client] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  expect(scroll, `the page at ${page.url()} scrolls sideways`).toBeLessThanOrEqual(client);
}

/** Opens every page in the main navigation at 390 px and at 1,280 px:
 * no page scrolls sideways, and axe-core finds no violation. */
export async function sweepNavigation(page: Page, name: string) {
  const hrefs = await page.locator('nav[aria-label="Main"] a').evaluateAll((links) =>
    links.map((a) => (a as HTMLAnchorElement).getAttribute('href')!),
  );
  for (const href of [...new Set(hrefs)]) {
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 720 });
      await page.goto(href);
      await hydrated(page);
      await expectNoPageScroll(page);
      await expectAccessible(page);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: `end2end/test-results/sweep-${name}${href.replace(/\//g, '-')}-390.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 720 });
}

/** Waits until the wasm bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 20_000 });
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/admin/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function choosePassword(page: Page, password: string) {
  await expect(page).toHaveURL(/\/login\/password$/);
  await hydrated(page);
  await page.getByLabel('New password').fill(password);
  await page.getByLabel('Repeat it').fill(password);
  await page.getByRole('button', { name: 'Save password' }).click();
}

/** Enrols the authenticator; returns the secret, the code that confirmed it
 * and the recovery codes shown once. */
export async function enrol(page: Page): Promise<{ secret: string; code: string; recovery: string[] }> {
  await expect(page).toHaveURL(/\/login\/enrol$/);
  await hydrated(page);
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await expect(page.locator('svg').first()).toBeVisible();
  const code = totp(secret);
  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  const recovery = (await page.getByTestId('recovery-codes').locator('li').allTextContents()).map((c) => c.trim());
  // The codes can be copied as text and downloaded as a file.
  await expect(page.getByTestId('recovery-text')).toHaveValue(new RegExp(recovery[0]));
  await expect(page.getByTestId('recovery-download')).toHaveAttribute('href', new RegExp(`^data:text/plain;.*${recovery[9]}`));
  await page.screenshot({ path: 'end2end/test-results/recovery-codes-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageScroll(page);
  await page.screenshot({ path: 'end2end/test-results/recovery-codes-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('link', { name: 'Continue to the dashboard' }).click();
  await expect(page.getByTestId('dashboard-title')).toBeVisible();
  return { secret, code, recovery };
}

/** Expected refusals show up as failed resource loads; anything else (a CSP
 * violation, a hydration panic, a script error) fails the test. */
const EXPECTED_REFUSAL = /Failed to load resource: the server responded with a status of (401|403|404|409|422|429)/;

export const test = base.extend({
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !EXPECTED_REFUSAL.test(m.text())) errors.push(`${page.url()}: ${m.text().slice(0, 300)}`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await use(page);
    expect(errors, 'browser console errors').toEqual([]);
  },
});
export { expect };

/** Signs a new colleague in with their one-time password, through the new
 * password and authenticator enrolment, to the dashboard. */
export async function firstSignIn(page: Page, email: string, oneTimePassword: string, password: string) {
  await signIn(page, email, oneTimePassword);
  await choosePassword(page, password);
  await enrol(page);
}

/**
 * Headers a request of our own pages carries. Requests made outside the page
 * (`page.request`) send no Origin, and the server refuses state-changing
 * requests that don't come from its own origin.
 */
export function sameOrigin(): Record<string, string> {
  return { Origin: new URL(state().url).origin };
}

/** The demo gamer's key: the dev chain's (anvil's) second public test account. */
export const DEMO_GAMER_KEY = '59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

/** A test wallet: a throwaway key (or `hexKey`), its address and an
 * EIP-191 personal_sign in Node. */
export function testWallet(hexKey?: string) {
  const key = hexKey ? Uint8Array.from(Buffer.from(hexKey, 'hex')) : secp256k1.utils.randomSecretKey();
  const pub = secp256k1.getPublicKey(key, false);
  const address = '0x' + Buffer.from(keccak_256(pub.slice(1)).slice(-20)).toString('hex');
  // EIP-191 personal_sign: keccak256("\x19Ethereum Signed Message:\n" + length + message), r || s || v.
  const sign = (hexMessage: string) => {
    const message = Buffer.from(hexMessage.replace(/^0x/, ''), 'hex');
    const digest = keccak_256(
      Buffer.concat([Buffer.from(`\x19Ethereum Signed Message:\n${message.length}`), message]),
    );
    const sig = secp256k1.sign(digest, key, { prehash: false, format: 'recovered' });
    return '0x' + Buffer.concat([Buffer.from(sig.slice(1)), Buffer.from([27 + sig[0]])]).toString('hex');
  };
  return { address, sign };
}

/** Gives the page an EIP-1193 wallet (window.ethereum) that signs with `wallet`. */
export async function installWallet(page: Page, wallet: { address: string; sign: (m: string) => string }) {
  await page.exposeFunction('__testWalletSign', wallet.sign);
  await page.addInitScript((address) => {
    const w = window as unknown as { ethereum: unknown; __testWalletSign: (m: string) => Promise<string> };
    w.ethereum = {
      request: async ({ method, params }: { method: string; params?: string[] }) => {
        if (method === 'eth_requestAccounts') return [address];
        if (method === 'personal_sign' && params) return w.__testWalletSign(params[0]);
        throw new Error(`unsupported method ${method}`);
      },
    };
  }, wallet.address);
}

/** Signs a gamer in on the public site with `wallet`, through the page's button. */
export async function signInGamer(page: Page, wallet: { address: string; sign: (m: string) => string }) {
  await installWallet(page, wallet);
  await page.goto(state().url + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  await expect(page.getByTestId('gamer-wallet')).toBeVisible();
}
