// Maker → checker → finance on a real dev chain: the maker builds a batch of
// the eligible demo rewards and submits it, a checker (never the maker)
// approves its contents hash, finance starts disbursement, and the batch page
// shows it confirmed on chain and reconciled.
import { DEMO_GAMER_KEY, expect, expectAccessible,
  expectNoPageScroll, firstSignIn, sweepNavigation, hydrated, signInGamer, state, test, testWallet, sameOrigin } from './helpers';

test.describe.configure({ mode: 'serial' });

const PASSWORD = 'a long enough password';
let batchPath = '';
let contentHash = '';

test('a maker builds a batch from eligible rewards and submits it', async ({ page }) => {
  await firstSignIn(page, 'maker@payquest.test', state().demoStaff.maker, PASSWORD);
  await expect(page.getByRole('link', { name: 'Approvals' })).toHaveCount(0);
  // Only finance may switch automatic disbursement: the server refuses the maker.
  const refused = await page.request.post('/api/set_auto_disburse', { headers: sameOrigin(), form: { on: 'true' } });
  expect(refused.status()).toBe(403);
  await page.getByRole('link', { name: 'Payouts' }).click();
  await hydrated(page);
  const builder = page.getByTestId('batch-builder');
  await builder.getByLabel('Note').fill('launch week rewards');
  // The first quest's rewards only: the second's wait for a later batch.
  await builder.getByLabel('Campaign').selectOption({ label: 'Launch week' });
  await builder.getByLabel('Quest').selectOption({ label: 'Launch week — Play five matches' });
  await builder.getByRole('button', { name: 'Preview' }).click();
  await expect(builder.getByTestId('preview')).toContainText('5 eligible rewards shown, 25 in all');
  await expect(builder.getByTestId('preview-totals')).toContainText('Launch week');
  await expect(builder.getByTestId('preview-items').locator('tbody tr')).toHaveCount(5);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageScroll(page);
  await page.screenshot({ path: 'end2end/test-results/payouts-preview-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await builder.getByRole('button', { name: 'Create batch' }).click();
  await expect(page).toHaveURL(/\/payouts\/\d+$/);
  batchPath = new URL(page.url()).pathname;
  await hydrated(page);
  await expect(page.getByTestId('batch-total')).toHaveText('25');
  contentHash = (await page.getByTestId('content-hash').textContent())!.trim();
  expect(contentHash).toMatch(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId('batch-items').getByRole('button', { name: 'Remove' })).toHaveCount(5);
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page.getByTestId('batch')).toHaveAttribute('data-state', 'pending_approval');
  await expect(page.getByTestId('batch-message')).toContainText('Submitted for approval');
  // Submitted, the batch can't be edited: no remove buttons, no empty card.
  await expect(page.getByTestId('batch-items').getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(page.getByTestId('batch-actions')).toHaveCount(0);
  // The maker can't approve their own batch, whatever the page shows.
  await expect(page.getByRole('button', { name: 'Approve this hash' })).toHaveCount(0);
  const res = await page.request.post('/api/approve_batch', { headers: sameOrigin(),
    form: { batch_id: batchPath.split('/').pop()!, content_hash: contentHash },
  });
  expect(res.status()).toBe(403);
  // The CSV export carries the hash.
  await page.getByRole('button', { name: 'Export CSV' }).click();
  await expect(page.getByTestId('csv-link')).toHaveAttribute('href', new RegExp(contentHash));
});

test('the demo gamer sees their reward waiting for approval', async ({ page }) => {
  await signInGamer(page, testWallet(DEMO_GAMER_KEY));
  await page.goto(state().url + '/me');
  // Newest first: the second quest's reward (not in the batch), then the first's.
  await expect(page.getByTestId('my-activities').getByTestId('reward-state')).toHaveText(['earned', 'waiting for approval']);
  await expect(page.getByTestId('payment-time').nth(1)).toContainText('Not enough recent payments');
});

test('a checker approves the hash from the inbox', async ({ page }) => {
  await firstSignIn(page, 'checker@payquest.test', state().demoStaff.checker, PASSWORD);
  await expect(page.getByTestId('waiting-item')).toHaveText([/^1 batch waits for your approval/]);
  await expect(page.getByRole('link', { name: /Approvals/ }).getByTestId('nav-count')).toContainText('1');
  await page.getByRole('link', { name: /^Approvals/ }).click();
  await page.getByTestId('batches-table').getByRole('link').first().click();
  await expect(page).toHaveURL(new RegExp(`${batchPath}$`));
  await hydrated(page);
  await expect(page.getByTestId('content-hash')).toHaveText(contentHash);
  await page.getByRole('button', { name: 'Approve this hash' }).click();
  await expect(page.getByTestId('approve-message')).toContainText('the budget is reserved');
  await expect(page.getByTestId('batch')).toHaveAttribute('data-state', 'approved');
  // Approved by them, it waits for them no more.
  await page.goto('/admin');
  await expect(page.getByTestId('waiting-item')).toHaveText([/^0 batches wait for your approval/]);
  await sweepNavigation(page, 'checker');
});

test('finance starts disbursement and sees it confirmed and reconciled', async ({ page, browser }) => {
  await firstSignIn(page, 'treasurer@payquest.test', state().demoStaff.treasurer, PASSWORD);
  await expect(page.getByTestId('waiting-item').first()).toHaveText(/1 approved batch waits for disbursement/);
  await expect(page.getByTestId('waiting-item').nth(1)).toHaveText(/0 reconciliation findings are open/);
  await page.screenshot({ path: 'end2end/test-results/home-finance-1280.png', fullPage: true });
  await page.goto(batchPath);
  await hydrated(page);
  // Finance may ask to withdraw the approved batch (a checker would confirm);
  // asked, nothing of it is signed until the request is cancelled.
  await page.getByTestId('withdraw-reason').fill('checking one wallet first');
  await page.getByRole('button', { name: 'Ask to withdraw' }).click();
  await expect(page.getByTestId('batch-message')).toContainText('Withdrawal requested');
  await expect(page.getByTestId('withdrawal')).toContainText('checking one wallet first');
  await expect(page.getByRole('button', { name: 'Confirm withdrawal' })).toHaveCount(0);
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/batch-withdrawal-requested-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/batch-withdrawal-requested-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('button', { name: 'Cancel the request' }).click();
  await expect(page.getByTestId('batch-message')).toContainText('request cancelled');
  await expect(page.getByTestId('withdrawal')).toHaveCount(0);
  // Meanwhile the demo gamer watches My rewards in a browser of their own.
  const gamerContext = await browser.newContext();
  const gamer = await gamerContext.newPage();
  await signInGamer(gamer, testWallet(DEMO_GAMER_KEY));
  await gamer.goto(state().url + '/me');
  await expect(gamer.getByTestId('reward-state')).toHaveText(['earned', 'approved']);
  // The campaign's figures, open in another tab, follow the payment too.
  const campaignTab = await page.context().newPage();
  await campaignTab.goto('/admin/campaigns/1');
  await hydrated(campaignTab);
  await expect(campaignTab.getByTestId('reserved')).toHaveText('25');
  await expect(campaignTab.getByTestId('spent')).toHaveText('0');
  await page.getByRole('button', { name: 'Start disbursement' }).click();
  await expect(page.getByTestId('batch-message')).toContainText('Disbursement started');
  await expect(page.getByTestId('batch')).not.toHaveAttribute('data-state', 'approved');
  // The page follows the batch by itself until it is reconciled, and says so.
  await expect(page.getByTestId('batch')).toHaveAttribute('data-state', 'reconciled', { timeout: 30_000 });
  await expect(page.getByTestId('batch-progress')).toHaveText(/^Paid and reconciled in \d+\.\d s\.$/);
  await expect(campaignTab.getByTestId('spent')).toHaveText('25', { timeout: 15_000 });
  await expect(campaignTab.getByTestId('reserved')).toHaveText('0');
  await campaignTab.close();
  console.log(`batch page: ${await page.getByTestId('batch-progress').textContent()}`);
  const chunk = page.getByTestId('chunks').locator('tbody tr');
  await expect(chunk).toHaveCount(1);
  await expect(chunk).toContainText('reconciled');
  await expect(chunk).toContainText(/0x[0-9a-f]{64}/);
  await expect(page.getByTestId('batch-items').locator('tbody tr')).toHaveCount(5);
  // Each item names its chunk and transaction.
  await expect(page.getByTestId('batch-items').locator('tbody tr').first()).toContainText(/0x[0-9a-f]{6}…[0-9a-f]{4}/);
  await expect(page.getByTestId('confirmations')).toHaveText('enough');
  // The gamer's page followed the reward to "paid" by itself, with the
  // transaction and how long it took.
  await expect(gamer.getByTestId('reward-state')).toHaveText(['earned', 'paid'], { timeout: 15_000 });
  await expect(gamer.getByTestId('payment-time').nth(1)).toContainText(/Paid .+ after it was reported/);
  // With five payments of the campaign measured, the reward still to come
  // gets an expected payment time from them.
  await gamer.reload();
  await expect(gamer.getByTestId('payment-time').first()).toContainText(/[Uu]sually (paid )?within .+ of being earned/);
  await expect(gamer.getByTestId('my-activities')).toContainText(/0x[0-9a-f]{8}/);
  await gamer.screenshot({ path: 'end2end/test-results/demo-gamer-paid-1280.png', fullPage: true });
  await gamerContext.close();
  await expect(page.getByTestId('batch-items')).not.toContainText('submitted');
  await page.screenshot({ path: 'end2end/test-results/batch-reconciled-1280.png', fullPage: true });
  await page.goto('/');
  await page.screenshot({ path: 'end2end/test-results/public-home-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/public-home-390.png', fullPage: true });
  await page.goto(batchPath);
  await hydrated(page);
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/batch-reconciled-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('link', { name: 'Findings' }).click();
  await expect(page.getByTestId('no-findings')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('no-drift')).toBeVisible();
  // The campaign's turnaround now runs to the confirmed payment.
  await page.goto('/admin/campaigns/1');
  await hydrated(page);
  await expect(page.getByTestId('turnaround')).toContainText('approved');
  await expect(page.getByTestId('turnaround')).toContainText('activity to confirmed payment');
  // Paid rewards still set the pace: the forecast gives a date.
  await expect(page.getByTestId('forecast')).toContainText(/runs out on \d{4}-\d{2}-\d{2}/);
  // Finance may have approved batches start at once.
  await page.goto('/admin/payouts');
  await hydrated(page);
  const auto = page.getByTestId('auto-disburse');
  await expect(auto).toHaveAttribute('data-on', 'false');
  await auto.getByRole('button', { name: 'Start automatically after approval' }).click();
  await expect(page.getByTestId('auto-disburse')).toHaveAttribute('data-on', 'true');
  await page.getByTestId('auto-disburse').getByRole('button', { name: 'Turn automatic start off' }).click();
  await expect(page.getByTestId('auto-disburse')).toHaveAttribute('data-on', 'false');
  // Every page finance opens fits a phone and passes the accessibility scan.
  await sweepNavigation(page, 'finance');
});
