// Makes the dashboard picture in the README (`docs/dashboard.png`): the real server and the
// mock upstream from the e2e fixture, a little traffic, then the dashboard with its live feed.
// Run: `cd frontend/e2e && AMP_POOL_BIN=… node readme-screenshot.mjs` (not part of the tests).
import path from 'node:path';
import { addKey, chat, clientToken, logIn, openPage, repoRoot, world } from './fixture.mjs';

const w = world();
await w.start();
try {
  await addKey(w.server, w.jwt, { name: 'team openai', apiKey: 'sk-team-openai-0001' });
  await addKey(w.server, w.jwt, { name: 'backup openai', apiKey: 'sk-backup-openai-0002' });
  await addKey(w.server, w.jwt, { name: 'old key', apiKey: 'sk-revoked-0003' });
  const token = await clientToken(w.server, w.jwt, 'readme');
  for (let i = 0; i < 24; i += 1) await chat(w.server, token, `Hello ${i}`);
  const { page, done } = await openPage(w.browser, w.server);
  await logIn(page);
  await page.getByTestId('timeline-chart').locator('canvas').first().waitFor();
  for (let i = 0; i < 6; i += 1) await chat(w.server, token, `Live ${i}`);
  await page.getByTestId('live-feed-row').nth(5).waitFor();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: path.join(repoRoot, 'docs', 'dashboard.png'), fullPage: true });
  await done();
} finally {
  await w.stop();
}
