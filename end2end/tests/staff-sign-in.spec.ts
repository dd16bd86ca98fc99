// A newcomer's first minutes: the first admin signs in with the one-time
// password, is forced through a new password and TOTP enrolment, adds a
// colleague, and signs out; the colleague can't reach admin pages or their
// server functions; a replayed TOTP code is refused.
import { choosePassword, enrol, expect, expectAccessible, expectNoPageScroll, hydrated, sweepNavigation, signIn, state, test, totp, sameOrigin } from './helpers';

test.describe.configure({ mode: 'serial' });

const ADMIN = 'admin@payquest.test';
const ADMIN_PASSWORD = 'admin password for tests';
const MAKER = 'mia.maker@payquest.test';
const MAKER_PASSWORD = 'maker password for tests';

let adminSecret = '';
let adminCode = '';
let makerOtp = '';
let makerRecovery: string[] = [];

test('a wrong password and an unknown email get the same message', async ({ page }) => {
  await signIn(page, ADMIN, 'not the password');
  const wrong = page.getByRole('alert');
  await expect(wrong).toHaveAttribute('data-code', 'invalid_credentials');
  const wrongText = await wrong.textContent();

  await signIn(page, 'nobody@payquest.test', 'not the password');
  const unknown = page.getByRole('alert');
  await expect(unknown).toHaveAttribute('data-code', 'invalid_credentials');
  expect(await unknown.textContent()).toBe(wrongText);
});

test('nothing answers before the first admin has enrolled TOTP', async ({ page }) => {
  await signIn(page, ADMIN, state().otp);
  await expect(page).toHaveURL(/\/login\/password$/);
  // The dashboard and admin pages send the user back to the pending step...
  await page.goto('/admin/users');
  await expect(page).toHaveURL(/\/login\/password$/);
  // ...and server functions refuse with the step's code.
  const res = await page.request.post('/api/list_users', { headers: sameOrigin(), form: {} });
  expect(res.status()).toBe(403);
  expect((await res.json()).code).toBe('password_change_required');
});

test('first admin changes the one-time password, enrols TOTP and reaches the dashboard', async ({ page }) => {
  await signIn(page, ADMIN, state().otp);
  await choosePassword(page, ADMIN_PASSWORD);
  const enrolled = await enrol(page);
  adminSecret = enrolled.secret;
  adminCode = enrolled.code;
  await expect(page.getByRole('link', { name: 'Users' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Audit log' })).toBeVisible();
});

test('admin creates a colleague with a role and signs out', async ({ page }) => {
  await signIn(page, ADMIN, ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await hydrated(page);
  // Wait for a fresh step so this code differs from the enrolment code.
  await page.waitForTimeout(msToNextStep() + 500);
  await page.getByLabel('Code', { exact: true }).fill(totp(adminSecret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByTestId('dashboard-title')).toBeVisible();

  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByTestId('users-table')).toBeVisible();
  await hydrated(page);
  const form = page.getByTestId('create-user');
  await form.getByLabel('Email').fill(MAKER);
  await form.getByLabel('Name').fill('Mia Maker');
  await form.getByLabel('Maker').check();
  await form.getByRole('button', { name: 'Create account' }).click();
  makerOtp = (await page.getByTestId('one-time-password').textContent())!.trim();
  expect(makerOtp).toMatch(/^[A-Za-z0-9]{20}$/);
  await expect(page.locator(`tr[data-email="${MAKER}"]`)).toContainText('Mia Maker');
  // Maker moves money: it waits for a second admin, and the asker can't approve it.
  await expect(page.getByText("Maker waits for another admin's approval")).toBeVisible();
  const waiting = page.getByTestId('role-requests').locator(`li[data-email="${MAKER}"]`);
  await expect(waiting).toContainText('another admin decides');
  await expect(waiting.getByRole('button', { name: 'Approve' })).toHaveCount(0);
  await page.screenshot({ path: 'end2end/test-results/users-waiting-for-approval.png', fullPage: true });
  // The same page on a phone: the waiting request still reads and fits.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(waiting).toBeVisible();
  await page.screenshot({ path: 'end2end/test-results/users-waiting-for-approval-390.png', fullPage: true });
  await expectNoPageScroll(page);
  // The asker's home counts no role request for them: another admin decides it.
  await page.goto('/admin');
  await expect(page.getByTestId('waiting-item')).toHaveText([/^0 role requests wait for a second admin/]);
  await expect(page.getByTestId('nothing-waiting')).toBeVisible();
  await expectNoPageScroll(page);
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/home-admin-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto('/admin/users');
  await hydrated(page);

  // API clients: the secret is shown once.
  await page.getByRole('link', { name: 'API clients' }).click();
  await hydrated(page);
  await page.getByLabel('Name').fill('Arena game server');
  await page.getByRole('button', { name: 'Create client' }).click();
  await expect(page.getByTestId('client-secret')).toHaveText(/^pqs_[A-Za-z0-9]{40}$/);
  await expect(page.getByRole('cell', { name: 'Arena game server' })).toBeVisible();

  await page.goto('/admin/audit');
  await expect(page.getByTestId('audit-table')).toContainText('staff.created');
  await expect(page.getByTestId('audit-table')).toContainText('auth.mfa_enrolled');
  await page.screenshot({ path: 'end2end/test-results/audit-1280.png' });
  await sweepNavigation(page, 'admin');

  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/admin\/login$/);
  // The public site answers without a session.
  await page.goto('/');
  await expect(page.getByTestId('public-title')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Staff sign-in' })).toHaveAttribute('href', '/admin/login');
});

test('a replayed TOTP code is refused', async ({ page }) => {
  await signIn(page, ADMIN, ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await hydrated(page);
  await page.getByLabel('Code', { exact: true }).fill(adminCode);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('alert')).toHaveAttribute('data-code', 'invalid_code');
  await expect(page).toHaveURL(/\/login\/verify$/);
});

test('a colleague without the admin role gets 403 from the users page and its server functions', async ({ page }) => {
  await signIn(page, MAKER, makerOtp);
  await choosePassword(page, MAKER_PASSWORD);
  makerRecovery = (await enrol(page)).recovery;
  await expect(page.getByRole('link', { name: 'Users' })).toHaveCount(0);

  const response = await page.goto('/admin/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toBeVisible();

  const list = await page.request.post('/api/list_users', { headers: sameOrigin(), form: {} });
  expect(list.status()).toBe(403);
  expect((await list.json()).code).toBe('forbidden');
  const create = await page.request.post('/api/create_user', { headers: sameOrigin(),
    data: { email: 'sneaky@payquest.test', display_name: 'Sneaky', roles: ['admin'] },
  });
  expect(create.status()).toBe(403);
  const audit = await page.request.post('/api/list_audit', { headers: sameOrigin(), form: {} });
  expect(audit.status()).toBe(403);
});

test('a recovery code signs in once; sign out everywhere ends the session', async ({ page }) => {
  await signIn(page, MAKER, MAKER_PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await hydrated(page);
  await page.getByLabel('Code', { exact: true }).fill(makerRecovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByTestId('dashboard-title')).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page).toHaveURL(/\/login$/);

  await signIn(page, MAKER, MAKER_PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify$/);
  await hydrated(page);
  await page.getByLabel('Code', { exact: true }).fill(makerRecovery[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('alert')).toHaveAttribute('data-code', 'invalid_code');
});

function msToNextStep(): number {
  return 30_000 - (Date.now() % 30_000);
}
