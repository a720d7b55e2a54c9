// Changing the admin's password (its own file: it changes the password, and the server allows
// five logins per user in a burst).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(w.start);
after(w.stop);

test('a changed password ends the session and is the one that logs in next', async () => {
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  const changed = 'e2e-password-2';

  await page.getByTestId('change-password').click();
  await page.getByTestId('cp-current').fill(ADMIN.password);
  await page.getByTestId('cp-new').fill(changed);
  await page.getByTestId('cp-submit').click();
  // The change ends every session of the admin, this one too: the console says so at login.
  await page.waitForURL('**/login');
  const told = await page.getByTestId('login-password-changed').textContent();
  await page.getByTestId('login-username').fill(ADMIN.username);
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-submit').click();
  const oldRefused = await page.getByTestId('login-error').textContent();
  await page.getByTestId('login-password').fill(changed);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-dashboard').waitFor();
  await screenshot(page, 'password-changed');

  assert.match(told, /log in with the new password/);
  assert.equal(oldRefused, 'Wrong username or password.');
  assert.ok(await page.evaluate(() => localStorage.getItem('amp-pool.jwt')), 'logged in again');
  await done();
});
