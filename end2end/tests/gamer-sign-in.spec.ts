// A gamer signs in on the public site with a wallet: an EIP-1193 test
// wallet (window.ethereum, signing in Node with a throwaway key) answers
// eth_requestAccounts and personal_sign; the header then shows the
// shortened wallet, also after a reload, until the gamer signs out. A
// browser without a wallet is told so beside the button.
import { expect, expectAccessible, hydrated, installWallet, signInGamer, state, test, testWallet, DEMO_GAMER_KEY } from './helpers';

test('a gamer signs in with a wallet and out again', async ({ page }) => {
  const wallet = testWallet();
  await installWallet(page, wallet);
  await page.goto(state().url + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  const short = (a: string) => a.slice(0, 6).toLowerCase() + '…' + a.slice(-4).toLowerCase();
  await expect(page.getByTestId('gamer-wallet')).toBeVisible();
  expect((await page.getByTestId('gamer-wallet').textContent())!.toLowerCase()).toBe(short(wallet.address));
  await expectAccessible(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/gamer-signed-in-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // "My rewards": the wallet's own activities (a new wallet has none yet).
  await page.getByRole('link', { name: 'My rewards' }).click();
  await expect(page.getByTestId('my-activities')).toContainText('No activities reported for this wallet yet.');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/my-rewards-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/my-rewards-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // The session holds across a reload (the page is rendered for the gamer, not from the cache).
  await page.reload();
  await expect(page.getByTestId('gamer-wallet')).toBeVisible();
  await expect(page.getByTestId('my-activities')).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in with wallet' })).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('gamer-wallet')).toHaveCount(0);
});

test('without a wallet the visitor is told what is missing', async ({ page }) => {
  await page.goto(state().url + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  await expect(page.getByTestId('wallet-problem')).toContainText('No wallet found');
  await page.goto(state().url + '/me');
  await expect(page.getByTestId('my-rewards-signed-out')).toBeVisible();
});

// The demo gamer (the dev chain's second public test account) has two
// earned rewards: My rewards says so and says why no payment time can be
// given yet; the quests show what is done and open; an account linked here
// is listed; the leaderboard shows the tie-break and the gamer's own rank;
// a gamer session reaches no staff function.
test('the demo gamer sees their reward, quests, accounts and rank', async ({ page }) => {
  await signInGamer(page, testWallet(DEMO_GAMER_KEY));
  await page.getByRole('link', { name: 'My rewards' }).click();
  const mine = page.getByTestId('my-activities');
  await expect(mine).toContainText('Play five matches');
  await expect(mine).toContainText('Post a clip of your best play');
  await expect(mine.getByTestId('reward-state')).toHaveText(['earned', 'earned']);
  // Nothing of the campaign has been paid yet: no time is made up.
  await expect(mine.getByTestId('payment-time').first()).toContainText('Not enough recent payments');
  await expect(page.getByTestId('my-quests').getByTestId('quest-state').first()).toHaveText('completed');
  await page.getByLabel('Kind').selectOption('social');
  await page.getByLabel('Account', { exact: true }).fill('@demo_gamer');
  await page.getByRole('button', { name: 'Link account' }).click();
  await expect(page.getByTestId('account-message')).toHaveText('Linked social handle @demo_gamer');
  await expect(page.getByTestId('linked-accounts')).toContainText('@demo_gamer');
  await page.getByLabel('Account', { exact: true }).fill('no spaces allowed');
  await page.getByRole('button', { name: 'Link account' }).click();
  await expect(page.getByRole('alert')).toContainText('letters, digits');
  await expectAccessible(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/demo-gamer-rewards-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // The gamer's cookie is no staff session.
  const staff = await page.request.post('/api/list_campaigns', { headers: { Origin: new URL(state().url).origin }, form: { x: '' } });
  expect(staff.status()).toBe(401);

  await page.goto(state().url + '/leaderboards');
  await page.getByRole('link', { name: 'Launch week leaderboard' }).click();
  await expect(page.getByTestId('leaderboard-tie-break')).toContainText('reached the score first');
  await expect(page.getByTestId('leaderboard-own-rank')).toContainText('Your rank:');
  await expect(page.getByTestId('leaderboard-me')).toContainText('0x7099…79C8');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/leaderboard-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/leaderboard-390.png', fullPage: true });
});
