// A proxied request as a client sends it, followed through the console: the dashboard's live
// feed, the request log, then the dashboard's totals (exact tokens and cost).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { USAGE, addKey, chat, clientToken, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(w.start);
after(w.stop);

/** Reloads `path` until `read()` returns `want` (bounded), and returns the last reading. */
async function reloadUntil(page, path, read, want, loads = 20) {
  let seen;
  for (let load = 0; load < loads; load++) {
    await page.goto(path);
    seen = await read();
    if (seen === want) break;
  }
  return seen;
}

test('a proxied request shows in the live feed, then in the logs, then in the totals', async () => {
  await addKey(w.server, w.jwt, { name: 'mock openai', apiKey: 'sk-e2e-traffic-0123456789' });
  const token = await clientToken(w.server, w.jwt, 'traffic');
  const { page, done } = await openPage(w.browser, w.server);
  // The feed's subscription, on whichever socket the client opens for it.
  const subscribed = new Promise((resolve) =>
    page.on('websocket', (socket) =>
      socket.on('framesent', (frame) => {
        if (/"type":"subscribe"/.test(frame.payload) && /requestEvents/.test(frame.payload)) resolve();
      }),
    ),
  );
  await logIn(page);
  await page.getByTestId('live-feed').waitFor();
  await subscribed;

  const first = await chat(w.server, token);
  const row = page.locator(`[data-testid="live-feed-row"][data-request-id="${first.requestId}"]`);
  await row.first().waitFor();
  await screenshot(page, 'dashboard-live-feed');

  await page.getByTestId('nav-logs').click();
  const logRow = page.getByTestId('logs-table').locator('tr', { hasText: 'gpt-4o' });
  await logRow.first().waitFor();
  const logText = await page.getByTestId('logs-table').textContent();
  await logRow.first().click();
  const drawer = await page.getByTestId('log-drawer').textContent();
  // The drawer slides in: take its picture once it rests against the window's right edge.
  await page.waitForFunction(() => {
    const panel = document.querySelector('.ant-drawer-content-wrapper');
    return panel !== null && Math.abs(panel.getBoundingClientRect().right - window.innerWidth) < 1;
  });
  await screenshot(page, 'logs-detail');

  // Nine more, so the 4-decimal cost on the card is exact: 10 × $0.00033 = $0.0033.
  for (let i = 0; i < 9; i++) assert.equal((await chat(w.server, token)).status, 200);
  const read = (id) => () => page.getByTestId(id).textContent();
  const requests = await reloadUntil(page, '/', read('stat-requests'), '10');
  const tokens = await page.getByTestId('stat-tokens').textContent();
  const cost = await page.getByTestId('stat-cost').textContent();
  await screenshot(page, 'dashboard-totals');

  assert.equal(first.status, 200);
  assert.deepEqual(first.body.usage, USAGE);
  assert.match(logText, /gpt-4o/);
  assert.ok(drawer.includes(first.requestId), 'the drawer shows the request id');
  assert.match(drawer, /Input tokens\s*12(?!\d)/);
  assert.match(drawer, /Output tokens\s*30(?!\d)/);
  // $0.00033 exactly: gpt-4o at $2.5 / $10 per million tokens, 12 in and 30 out.
  assert.match(drawer, /\$0\.00033\s*\(330,000 nano-USD\)/);
  assert.equal(requests, '10');
  assert.equal(tokens, '420');
  assert.equal(cost, '$0.0033');
  await done();
});
