import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
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
