// The GraphQL explorer (the bundled GraphiQL, in the console and at GET /graphql) runs a query
// with the admin's JWT, and nothing leaves 127.0.0.1 (the fixture refuses and reports any other
// host).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addKey, logIn, openPage, screenshot, world } from '../fixture.mjs';

const w = world();
before(async () => {
  await w.start();
  await addKey(w.server, w.jwt, { name: 'explored key', apiKey: 'sk-e2e-explorer-0123456789' });
});
after(w.stop);

/** Types `query` into GraphiQL, runs it and returns the response pane's text. */
async function run(page, query) {
  await page.locator('.graphiql-container .graphiql-query-editor .CodeMirror').waitFor();
  await page.evaluate((text) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(text);
  }, query);
  await page.locator('.graphiql-execute-button').click();
  const response = page.locator('.graphiql-response .CodeMirror');
  await response.filter({ hasText: 'explored key' }).or(response.filter({ hasText: 'errors' })).first().waitFor();
  return page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue());
}

for (const [name, path] of [
  ['the console explorer', '/explorer'],
  ['GraphiQL at GET /graphql', '/graphql'],
]) {
  test(`${name} runs a query with the admin JWT, all on 127.0.0.1`, async () => {
    const { page, done } = await openPage(w.browser, w.server);
    await logIn(page);

    await page.goto(path);
    if (path === '/explorer') await page.getByTestId('explorer').waitFor();
    const text = await run(page, '{ keys { id name } }');
    await screenshot(page, path === '/explorer' ? 'explorer' : 'graphiql');

    assert.deepEqual(JSON.parse(text), { data: { keys: [{ id: 1, name: 'explored key' }] } });
    await done();
  });
}
