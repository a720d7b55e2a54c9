// Client tokens (the secret shown once, revoking) and a setting the API refuses.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addKey, chat, graphql, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(w.start);
after(w.stop);

test('a new token shows its secret once, works, and stops working once revoked', async () => {
  await addKey(w.server, w.jwt, { name: 'mock openai', apiKey: 'sk-e2e-tokens-0123456789' });
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  await page.getByTestId('nav-tokens').click();

  await page.getByTestId('token-add').click();
  await page.getByTestId('token-form-name').fill('ci runner');
  await page.getByTestId('token-form-submit').click();
  const secret = await page.getByTestId('token-secret').inputValue();
  await screenshot(page, 'tokens-secret-once');
  const before = await chat(w.server, secret);
  await page.reload();
  const row = page.getByTestId('tokens-table').locator('tr', { hasText: 'ci runner' });
  const active = await row.getByTestId('token-status').textContent();
  const shownAgain = (await page.content()).includes(secret);
  await row.getByTestId('token-revoke').click();
  await page.locator('.ant-popconfirm-buttons .ant-btn-primary').click();
  await row.getByTestId('token-status').filter({ hasText: 'Revoked' }).waitFor();
  await screenshot(page, 'tokens-revoked');
  const afterRevoke = await chat(w.server, secret);

  assert.ok(secret.length >= 20, `a whole secret: ${secret.length} characters`);
  assert.equal(before.status, 200);
  assert.equal(active, 'Active');
  assert.equal(shownAgain, false, 'the secret is not shown again');
  assert.equal(afterRevoke.status, 401);
  await done();
});

test('a refused setting shows the error at its field and changes nothing', async () => {
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  await page.getByTestId('nav-settings').click();
  const card = page.getByTestId('setting-proxy');
  const field = page.getByTestId('setting-proxy-max_attempts');
  const save = page.getByTestId('setting-proxy-save');
  const error = card.locator('.ant-form-item-explain-error').or(page.getByTestId('setting-proxy-error'));
  const stored = async () => (await graphql(w.server, '{ config(key: "proxy") { value } }', {}, w.jwt)).config;
  const storedBefore = await stored();

  // The console checks what it knows the server refuses…
  await field.fill('0');
  await save.click();
  await error.first().waitFor();
  const byConsole = await error.first().textContent();
  await screenshot(page, 'settings-refused-by-the-console');

  // …and shows the server's own refusal when the rules differ: the request is changed on its
  // way out to a value the server refuses, as if its rule were stricter than the console's.
  await page.route('**/graphql', async (route) => {
    const body = route.request().postData() ?? '';
    if (!body.includes('setConfig')) return route.continue();
    const request = JSON.parse(body);
    request.variables.value = { ...request.variables.value, max_attempts: 0 };
    return route.continue({ postData: JSON.stringify(request) });
  });
  await field.fill('5');
  await save.click();
  await error.filter({ hasText: /from 1 to 10/ }).first().waitFor();
  const byServer = await error.first().textContent();
  await screenshot(page, 'settings-refused-by-the-server');

  assert.equal(byConsole, 'Must be at least 1.');
  assert.match(byServer, /from 1 to 10/);
  assert.deepEqual(await stored(), storedBefore);
  await done();
});
