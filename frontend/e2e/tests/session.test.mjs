// Logging in, the language switch, and a session the server no longer accepts.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(w.start);
after(w.stop);

test('a wrong password is refused at the form, the right one opens the dashboard', async () => {
  const { page, done } = await openPage(w.browser, w.server);

  await page.goto('/');
  await page.waitForURL('**/login');
  await page.getByTestId('login-username').fill(ADMIN.username);
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  const error = await page.getByTestId('login-error').textContent();
  await logIn(page);
  await screenshot(page, 'login-dashboard');

  assert.equal(error, 'Wrong username or password.');
  assert.equal(new URL(page.url()).pathname, '/');
  assert.ok(await page.evaluate(() => localStorage.getItem('amp-pool.jwt')), 'the JWT is kept');
  await done();
});

test('switching to Chinese changes the menu and <html lang>, and back', async () => {
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  const english = await page.getByTestId('nav-keys').textContent();

  await page.getByTestId('lang-switch').click();
  await page.getByTestId('nav-keys').filter({ hasText: '密钥' }).waitFor();
  const lang = await page.evaluate(() => document.documentElement.lang);
  await screenshot(page, 'language-chinese');
  await page.getByTestId('lang-switch').click();
  await page.getByTestId('nav-keys').filter({ hasText: 'Keys' }).waitFor();

  assert.equal(english, 'Keys');
  assert.equal(lang, 'zh-CN');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await done();
});

/** A JWT-shaped token whose `exp` is `exp` (seconds), signed with nothing the server knows. */
function forgedJwt(exp) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'admin', exp })}.c2lnbmF0dXJl`;
}

for (const [name, token] of [
  ['an expired', forgedJwt(Math.floor(Date.now() / 1000) - 60)],
  ['a forged', forgedJwt(Math.floor(Date.now() / 1000) + 3600)],
]) {
  test(`${name} JWT in localStorage sends you to the login page with a message`, async () => {
    const { page, done } = await openPage(w.browser, w.server);
    await page.goto('/login');
    await page.evaluate((jwt) => localStorage.setItem('amp-pool.jwt', jwt), token);

    await page.goto('/keys');
    await page.waitForURL('**/login');
    const message = await page.getByTestId('login-expired').textContent();
    await screenshot(page, `login-after-${name.split(' ')[1]}-jwt`);

    assert.match(message, /session expired/i);
    assert.equal(await page.evaluate(() => localStorage.getItem('amp-pool.jwt')), null);
    await done();
  });
}
