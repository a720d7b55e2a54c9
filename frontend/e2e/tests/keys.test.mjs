// Keys: adding one through the form, importing a hundred, and a key the upstream refuses.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addKey, chat, clientToken, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(w.start);
after(w.stop);

test('a key the upstream answers 401 shows as auto-disabled with the reason', async () => {
  // The first key of the pool, so the one request below is sent with it.
  const id = await addKey(w.server, w.jwt, { name: 'refused upstream', apiKey: 'sk-e2e-revoked-0123456789' });
  const token = await clientToken(w.server, w.jwt, 'auto-disable');
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);

  const answer = await chat(w.server, token);
  // The key is disabled in the pool at once and in the database by the writer: reload until
  // the page shows it (bounded).
  let health = '';
  for (let load = 0; load < 20 && !health.startsWith('Auto-disabled'); load++) {
    await page.goto('/keys');
    const row = page.locator(`[data-row-key="${id}"]`);
    await row.getByTestId('key-health').waitFor();
    health = (await row.getByTestId('key-health').textContent()) ?? '';
  }
  await screenshot(page, 'keys-auto-disabled');

  assert.equal(answer.status, 502, 'no other key to fail over to');
  assert.equal(health, 'Auto-disabled: upstream rejected the key (HTTP 401)');
  await done();
});

test('an added key is listed with its secret masked', async () => {
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  await page.getByTestId('nav-keys').click();
  const secret = 'sk-e2e-added-0123456789abcdefXYZ';

  await page.getByTestId('key-add').click();
  await page.getByTestId('key-form-name').fill('added in the browser');
  await page.getByTestId('key-form-apikey').fill(secret);
  await page.getByTestId('key-form-submit').click();
  const row = page.getByTestId('keys-table').locator('tr', { hasText: 'added in the browser' });
  await row.waitFor();
  const masked = await row.getByTestId('key-masked').textContent();
  await screenshot(page, 'keys-added');

  assert.notEqual(masked, secret);
  assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere on the page');
  assert.match(masked, /^sk-.*XYZ$/);
  assert.match(masked, /[*•…]/);
  assert.equal(await row.getByTestId('key-health').textContent(), 'Active');
  await done();
});

test('importing a hundred keys reports Created: 100', async () => {
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  await page.goto('/keys');
  const lines = Array.from({ length: 100 }, (_, i) => `bulk-${i},sk-e2e-import-${String(i).padStart(3, '0')}-abcdefghij`);

  await page.getByTestId('key-import').click();
  await page.getByTestId('import-text').fill(lines.join('\n'));
  await page.getByTestId('import-submit').click();
  const report = await page.getByTestId('import-report').textContent();
  await screenshot(page, 'keys-imported');

  assert.match(report, /Created: 100\b/);
  await done();
});

