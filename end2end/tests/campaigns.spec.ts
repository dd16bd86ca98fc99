// The demo campaign from `payquest demo`: finance funds it, a reviewer
// approves an activity from the queue, and the owner sees the figures, the
// burn-down chart, the earned reward and the forecast.
import { expect, expectAccessible, expectNoPageScroll, firstSignIn, sweepNavigation, hydrated, state, test, sameOrigin } from './helpers';

test.describe.configure({ mode: 'serial' });

const PASSWORD = 'a long enough password';
/** A 1 × 1 PNG. */
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

async function openDemoCampaign(page: import('@playwright/test').Page) {
  await page.getByRole('link', { name: 'Campaigns' }).click();
  await page.getByRole('link', { name: 'Launch week' }).click();
  await expect(page.getByTestId('campaign-name')).toHaveText('Launch week');
  await hydrated(page);
}

test('finance funds the campaign, and a retried form funds once', async ({ page }) => {
  await firstSignIn(page, 'finance@payquest.test', state().demoStaff.finance, PASSWORD);
  await openDemoCampaign(page);
  await expect(page.getByTestId('funded')).toHaveText('10000');
  const form = page.getByTestId('fund-form');
  await form.getByLabel('Add funds (tokens)').fill('500.25');
  await form.getByRole('button', { name: 'Fund' }).click();
  await expect(page.getByTestId('funded')).toHaveText('10500.25');
  await expect(page.getByTestId('available')).toHaveText('10500.25');
  // It says what it did and empties the form.
  await expect(page.getByTestId('fund-message')).toHaveText('Funded 500.25 tokens to Launch week.');
  await expect(form.getByLabel('Add funds (tokens)')).toHaveValue('');
  // A double click funds once: both clicks carry the form's idempotency key.
  await form.getByLabel('Add funds (tokens)').fill('100');
  await form.getByRole('button', { name: 'Fund' }).dblclick();
  await expect(page.getByTestId('fund-message')).toHaveText('Funded 100 tokens to Launch week.');
  await expect(page.getByTestId('funded')).toHaveText('10600.25');
  // The same amount again moments later asks first, and funds once confirmed.
  await form.getByLabel('Add funds (tokens)').fill('100');
  await form.getByRole('button', { name: 'Fund' }).click();
  await expect(form.getByRole('alert')).toHaveAttribute('data-code', 'repeat_unconfirmed');
  await expect(page.getByTestId('funded')).toHaveText('10600.25');
  await expect(form.getByLabel('Add funds (tokens)')).toHaveValue('100');
  await form.getByLabel('Yes, fund the same amount again').check();
  await form.getByRole('button', { name: 'Fund' }).click();
  await expect(page.getByTestId('fund-message')).toHaveText('Funded 100 tokens to Launch week.');
  await expect(page.getByTestId('funded')).toHaveText('10700.25');

  await form.getByLabel('Add funds (tokens)').fill('12.3456789');
  await form.getByRole('button', { name: 'Fund' }).click();
  await expect(page.getByRole('alert')).toContainText('not an amount');
  await expect(page.getByTestId('funded')).toHaveText('10700.25');

  // The quests editor adds a quest with a validator.
  const quest = page.getByTestId('quest-form');
  await quest.getByLabel('Name').fill('Follow us on Discord');
  await quest.getByLabel('Reward (tokens)').fill('2.5');
  await quest.getByLabel('Validator (JSON)').fill('{"kind": "discord_member", "guild_id": "1234", "base_url": null}');
  await quest.getByRole('button', { name: 'Add quest' }).click();
  const discordQuest = page.locator('li[data-quest="Follow us on Discord"]');
  await expect(discordQuest).toBeVisible();
  await discordQuest.getByRole('button', { name: 'Retire' }).click();
  await expect(discordQuest).toContainText('retired');
  await discordQuest.getByRole('button', { name: 'Reopen' }).click();
  await expect(discordQuest).not.toContainText('retired');
  await quest.getByLabel('Name').fill('Broken');
  await quest.getByLabel('Reward (tokens)').fill('1');
  await quest.getByLabel('Validator (JSON)').fill('{"kind": "telepathy"}');
  await quest.getByRole('button', { name: 'Add quest' }).click();
  await expect(quest.getByRole('alert')).toHaveAttribute('data-code', 'invalid_input');
  // The message sits beside the field it is about.
  await expect(quest.getByRole('alert')).toHaveAttribute('data-field-error', 'validator');
  await quest.screenshot({ path: 'end2end/test-results/quest-form-field-error.png' });
});

test('a reviewer approves an activity from the queue', async ({ page }) => {
  await firstSignIn(page, 'community@payquest.test', state().demoStaff.community, PASSWORD);
  // The home page lists the reviews waiting, once the server's validation
  // workers have moved the demo activities into the queue.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('waiting-item').first()).toHaveText(/5 activities wait for review/, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByRole('link', { name: /Review queue/ }).getByTestId('nav-count')).toContainText('5');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/home-community-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageScroll(page);
  await page.screenshot({ path: 'end2end/test-results/home-community-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('link', { name: /5 activities wait for review/ }).click();
  await expect(page.getByTestId('review-queue').locator('li')).toHaveCount(5);
  await hydrated(page);
  // Evidence shows as fields; its URL is a link.
  await expect(page.locator('li[data-external-id="demo-0"]').getByTestId('evidence').getByRole('link', { name: 'https://clips.example/0' }))
    .toHaveAttribute('rel', /noopener/);
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/review-queue-1280.png', fullPage: true });
  await page.getByLabel('Select demo-0').check();
  await page.getByLabel('Reason (kept in the audit log)').fill('clip shows the play');
  await page.getByRole('button', { name: 'Approve selected' }).click();
  await expect(page.getByTestId('review-summary')).toHaveText('1 activity approved.');
  await expect(page.getByTestId('review-queue').locator('li')).toHaveCount(4);
  await expect(page.locator('li[data-external-id="demo-0"]')).toHaveCount(0);

  // The same community member runs the public site: a new banner title is a
  // draft until it is published, then every visitor sees it.
  const visitor = await page.context().browser()!.newPage();
  await visitor.goto(state().url + '/');
  await expect(visitor.getByTestId('public-title')).toHaveText('Launch week is on');
  await page.getByRole('link', { name: 'Content' }).click();
  await expect(page.getByTestId('content-table')).toContainText('Launch week leaderboard');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/content-list-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/content-list-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByRole('link', { name: 'Banner' }).click();
  await hydrated(page);
  await expect(page.getByTestId('content-editor')).toContainText('published');
  await page.getByLabel('Title (en)', { exact: true }).fill('Season two starts now');
  await page.getByLabel('Title (es)', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByTestId('content-message')).toContainText('Saved as version');
  await expect(page.getByTestId('content-editor')).toContainText('untranslated: shows the English text');
  await visitor.reload();
  await expect(visitor.getByTestId('public-title')).toHaveText('Launch week is on');
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(page.getByTestId('content-message')).toContainText('Published');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/content-editor-1280.png', fullPage: true });
  await visitor.reload();
  await expect(visitor.getByTestId('public-title')).toHaveText('Season two starts now');
  // A required field left empty is refused, and the message sits beside it.
  await page.getByLabel('Title (en)', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.locator('[data-field-error="title"]')).toContainText('required');
  // History: the first version compares with the draft word by word, and
  // restoring it makes a new draft (the public page keeps the published one).
  await page.getByRole('button', { name: 'Compare #1 with the draft' }).click();
  await expect(page.getByTestId('content-diff').locator('del').first()).toContainText('Launch');
  await expect(page.getByTestId('content-diff').locator('ins').first()).toContainText('Season');
  await page.getByRole('button', { name: 'Restore #1' }).click();
  await expect(page.getByTestId('content-message')).toContainText('restored as version');
  await expect(page.getByLabel('Title (en)', { exact: true })).toHaveValue('Launch week is on');
  await visitor.reload();
  await expect(visitor.getByTestId('public-title')).toHaveText('Season two starts now');
  // A signed preview link shows the restored draft to anyone holding it; a changed link shows nothing.
  await page.getByRole('button', { name: 'Preview link' }).click();
  const previewPath = await page.getByTestId('preview-link').getAttribute('href');
  await visitor.goto(state().url + previewPath);
  await expect(visitor.getByTestId('preview-marker')).toBeVisible();
  await visitor.screenshot({ path: 'end2end/test-results/preview-1280.png', fullPage: true });
  await expect(visitor.getByTestId('public-title')).toHaveText('Launch week is on');
  await visitor.goto(state().url + previewPath + '0');
  await expect(visitor.getByTestId('preview-gone')).toBeVisible();
  // Finance's rule: a K-Drop bigger than its campaign's available budget is refused, with the shortfall.
  await page.getByRole('link', { name: '← All content' }).click();
  await hydrated(page);
  await page.getByTestId('new-entry').getByRole('combobox').selectOption('k_drop');
  await page.getByLabel('Slug (lower-case letters, digits, dashes)').fill('mega-drop');
  await page.getByRole('button', { name: 'Start' }).click();
  await hydrated(page);
  await page.getByLabel('Title (en)', { exact: true }).fill('Mega drop');
  await page.getByLabel('Campaign id', { exact: true }).fill('1');
  await page.getByLabel('Total tokens', { exact: true }).fill('99999999');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByTestId('content-message')).toContainText('Saved as version');
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('falls short');
  await expect(page.getByRole('alert')).toHaveAttribute('data-code', 'budget_short');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/content-editor-drop-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  // K-Quests and K-Drops have pages of their own; a draft or unknown slug has none.
  await visitor.goto(state().url + '/quests');
  await visitor.getByRole('link', { name: 'Play five matches' }).click();
  await expect(visitor.getByTestId('public-title')).toHaveText('Play five matches');
  await visitor.screenshot({ path: 'end2end/test-results/quest-page-1280.png', fullPage: true });
  await visitor.setViewportSize({ width: 390, height: 844 });
  await visitor.goto(state().url + '/quests');
  await visitor.screenshot({ path: 'end2end/test-results/quests-390.png', fullPage: true });
  await visitor.setViewportSize({ width: 1280, height: 720 });
  await visitor.goto(state().url + '/drops/mega-drop');
  await expect(visitor.getByTestId('public-missing')).toBeVisible();
  // In Spanish: translated fields in Spanish, the rest falls back to English.
  await visitor.goto(state().url + '/quests/five-matches?locale=es');
  await expect(visitor.getByTestId('public-title')).toHaveText('Juega cinco partidas');
  await expect(visitor.getByTestId('public-entry')).toContainText('Play five ranked matches');
  await visitor.goto(state().url + '/');
  await visitor.getByRole('link', { name: 'Español' }).click();
  await expect(visitor.getByTestId('k-quests')).toContainText('Publica un clip de tu mejor jugada');

  // A schedule: the restored banner is published, then an unpublish planned
  // a few seconds ahead takes it off `/` by itself, and the editor shows the
  // schedule done without a reload.
  // Rich text keeps safe markup only: a script typed into it never runs.
  await page.goto(state().url + '/admin/content/banner/banner');
  await hydrated(page);
  await page
    .getByLabel('Text (en)', { exact: true })
    .fill('<b>Big</b> week<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page.getByTestId('content-message')).toContainText('Saved as version');
  await page.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(page.getByTestId('content-message')).toContainText('Published');
  await visitor.goto(state().url + '/');
  await expect(visitor.getByTestId('public-title')).toHaveText('Launch week is on');
  await expect(visitor.getByTestId('banner').locator('b')).toHaveText('Big');
  await hydrated(visitor);
  expect(await visitor.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  const due = new Date(Date.now() + 4_000).toISOString().slice(0, 19);
  await page.getByLabel('Action').selectOption('unpublish');
  await page.getByLabel('When (UTC)').fill(due);
  await page.getByRole('button', { name: 'Schedule', exact: true }).click();
  await expect(page.getByTestId('content-message')).toContainText('Unpublish scheduled for');
  await expect(page.getByTestId('schedule-list').locator('li').first()).toHaveAttribute('data-state', 'pending');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/content-schedule-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId('content-schedules').screenshot({ path: 'end2end/test-results/content-schedule-390.png' });
  await page.setViewportSize({ width: 1280, height: 720 });
  await expect(page.getByTestId('schedule-list').locator('li').first()).toHaveAttribute('data-state', 'done', {
    timeout: 20_000,
  });
  await visitor.reload();
  await expect(visitor.getByTestId('public-title')).not.toHaveText('Launch week is on');
  // A time in the past is refused beside the field.
  await page.getByLabel('When (UTC)').fill('2020-01-01T00:00:00');
  await page.getByRole('button', { name: 'Schedule', exact: true }).click();
  await expect(page.locator('[data-field-error="due_at"]')).toContainText('in the future');

  // Images: checked from their bytes, named by their hash, served immutable.
  await page.goto(state().url + '/admin/content/media');
  await hydrated(page);
  await expect(page.getByTestId('media-table')).toContainText('No images yet.');
  const upload = page.getByLabel(/^Image \(PNG/);
  await upload.setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('media-message')).toContainText('Uploaded dot.png (1 × 1 px)');
  const src = await page.getByTestId('media-table').locator('img').first().getAttribute('src');
  expect(src).toMatch(/^\/media\/[0-9a-f]{64}\.png$/);
  const image = await page.request.get(state().url + src);
  expect(image.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  await page.getByLabel(/^Image \(PNG/).setInputFiles({
    name: 'evil.png',
    mimeType: 'image/png',
    buffer: Buffer.from('<svg onload="alert(1)"></svg>'),
  });
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('media-message')).toContainText('not a PNG, JPEG, GIF or WebP image');
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/media-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/media-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Webhook deliveries: none configured in the demo, and the page says so.
  await page.goto(state().url + '/admin/content/webhooks');
  await hydrated(page);
  await expect(page.getByText('No webhook endpoint is configured')).toBeVisible();
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/webhooks-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/webhooks-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await visitor.close();
  await sweepNavigation(page, 'community');
});

test('the owner sees figures, the burn-down chart, the earned reward and the forecast', async ({ page }) => {
  await firstSignIn(page, 'owner@payquest.test', state().demoStaff.owner, PASSWORD);
  await expect(page.getByRole('link', { name: 'Review queue' })).toHaveCount(0);
  await openDemoCampaign(page);
  await expect(page.getByTestId('funded')).toHaveText('10700.25');
  // demo-0 (5) and the six rewards the demo reviewed (5 + 12.5 + 5 + 5, and the demo gamer's 5 + 12.5).
  await expect(page.getByTestId('unpaid')).toHaveText('50');
  // The chart explains itself: axes with dates and tokens, a legend, and
  // a value on every point.
  const chart = page.getByTestId('burn-down');
  await expect(chart.locator('svg text', { hasText: 'tokens' })).toHaveCount(1);
  await expect(chart.locator('svg text', { hasText: 'date (UTC)' })).toHaveCount(1);
  await expect(chart.locator('circle title').first()).toContainText(/funded 10000\.00 tokens/);
  await expect(page.getByTestId('chart-legend')).toContainText('reserved');
  await expect(page.getByTestId('chart-legend')).toContainText('earned');
  await expect(page.getByTestId('forecast')).toContainText(/about \d+ tokens a day.*runs out on \d{4}-\d{2}-\d{2}/);
  await expectAccessible(page);
  await page.screenshot({ path: 'end2end/test-results/campaign-owner-1280.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageScroll(page);
  await page.screenshot({ path: 'end2end/test-results/campaign-owner-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await expect(page.getByTestId('turnaround')).toContainText('activity to reward');
  await expect(page.getByTestId('fund-form')).toHaveCount(0);
  // Another owner's campaign is invisible: the page and its server function say not found.
  const other = await page.request.post('/api/load_campaign', { headers: sameOrigin(), form: { campaign_id: '2' } });
  expect(other.status()).toBe(404);
  const otherPage = await page.goto('/admin/campaigns/2');
  await expect(page.getByRole('alert')).toHaveAttribute('data-code', 'not_found');
  expect(otherPage?.status()).toBe(404);
  await page.goto('/admin/campaigns');
  await expect(page.getByTestId('campaigns-table')).not.toContainText('Summer cup');
  // The activities list shows the approved activity as validated.
  await page.goto('/admin/activities');
  await expect(page.getByTestId('activities-table').locator('tr', { hasText: 'demo-0' })).toContainText('validated');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'end2end/test-results/activities-390.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.screenshot({ path: 'end2end/test-results/activities-1280.png', fullPage: true });
  await hydrated(page);
  await page.getByLabel('Status').selectOption('needs_review');
  await expect(page.getByTestId('activities-table').locator('tbody tr')).toHaveCount(4);
  await page.getByLabel('Campaign').selectOption({ label: 'Launch week' });
  await expect(page.getByTestId('activities-table').locator('tbody tr')).toHaveCount(4);
  // Funding is refused to the owner by the server too.
  const res = await page.request.post('/api/fund_campaign', { headers: sameOrigin(),
    form: { campaign_id: '1', amount: '1', idempotency_key: 'owner-try' },
  });
  expect(res.status()).toBe(403);
});
