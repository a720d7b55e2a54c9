// The world of one test file: the real amp-pool binary on a fresh SQLite file, a mock OpenAI /
// Anthropic upstream, and Debian's chromium (through playwright-core) that may talk to
// 127.0.0.1 only. Every wait is bounded; nothing sleeps to wait for a server.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const ADMIN = { username: 'admin', password: 'e2e-password-1' };
const SCREENSHOTS = path.join(repoRoot, 'target', 'e2e-screenshots');

/** The server binary: `AMP_POOL_BIN`, else the debug build in `$CARGO_TARGET_DIR` or `target/`. */
function serverBinary() {
  if (process.env.AMP_POOL_BIN) return path.resolve(process.env.AMP_POOL_BIN);
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target');
  return path.resolve(repoRoot, target, 'debug', 'amp-pool');
}

/** The usage every completion of the mock upstream reports (gpt-4o: $0.00033 at $2.5/$10 per M). */
export const USAGE = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 };

/**
 * A mock upstream on 127.0.0.1: `/v1/chat/completions` answers one fixed gpt-4o completion
 * with `USAGE`; a key whose secret contains `revoked` gets OpenAI's 401 `invalid_api_key`.
 */
export async function startUpstream() {
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const secret = (request.headers.authorization ?? request.headers['x-api-key'] ?? '')
        .toString()
        .replace(/^Bearer /, '');
      const send = (status, json) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      if (secret.includes('revoked')) {
        return send(401, {
          error: {
            message: 'Incorrect API key provided.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        });
      }
      if (request.method === 'POST' && request.url === '/v1/chat/completions') {
        return send(200, {
          id: 'chatcmpl-e2e',
          object: 'chat.completion',
          created: 1_790_000_000,
          model: 'gpt-4o',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: 'Hello from the mock upstream.' },
              finish_reason: 'stop',
            },
          ],
          usage: USAGE,
        });
      }
      send(404, { error: { message: 'not mocked', type: 'invalid_request_error', param: null, code: null } });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Resolves `promise`, or rejects with `what` after `ms`. */
function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts amp-pool on a free port with a fresh SQLite file; resolves once it listens. */
export async function startServer(upstream) {
  const binary = serverBinary();
  if (!existsSync(binary)) {
    throw new Error(`no amp-pool binary at ${binary}: run \`cargo build -p amp-pool\` or set AMP_POOL_BIN`);
  }
  const folder = await mkdtemp(path.join(tmpdir(), 'amp-pool-e2e-'));
  const child = spawn(binary, [], {
    cwd: folder,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: `sqlite://${folder}/amp_pool.db?mode=rwc`,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      JWT_SECRET: 'e2e-jwt-secret-0123456789',
      OPENAI_BASE_URL: upstream.url,
      ANTHROPIC_BASE_URL: upstream.url,
      AMP_BASE_URL: upstream.url,
      RUST_LOG: 'info,sqlx=warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const listening = new Promise((resolve, reject) => {
    const read = (chunk) => {
      log += chunk;
      const found = log.match(/listening on (http:\/\/\S+)/);
      if (found) resolve(found[1]);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    exited.then((code) => reject(new Error(`amp-pool exited with ${code}:\n${log}`)));
  });
  const url = await within(30_000, 'amp-pool did not listen', listening);
  return {
    url,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await within(30_000, 'amp-pool did not stop', exited).catch(() => child.kill('SIGKILL'));
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Sends a GraphQL operation (as the admin when `jwt` is given) and returns `data`. */
export async function graphql(server, query, variables = {}, jwt) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The admin's JWT, from the `login` mutation. */
export async function adminJwt(server) {
  const data = await graphql(
    server,
    'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
    { u: ADMIN.username, p: ADMIN.password },
  );
  return data.login.token;
}

/** One headless chromium (Debian's) for a test file. */
export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

/**
 * A fresh context (empty localStorage) in English. `done()` closes it and fails the test if
 * the page tried to reach a host other than 127.0.0.1, threw, or broke the CSP.
 */
export async function openPage(browser, server) {
  const context = await browser.newContext({
    baseURL: server.url,
    locale: 'en-US',
    viewport: { width: 1400, height: 900 },
    // Charts then draw at once, so a screenshot shows their bars rather than their growing in.
    reducedMotion: 'reduce',
  });
  const foreign = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'blob:') {
      return route.continue();
    }
    foreign.push(url.href);
    return route.abort('blockedbyclient');
  });
  const errors = [];
  const watch = (page) => {
    // WebSockets bypass `route`: check them as they open.
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).hostname !== '127.0.0.1') foreign.push(socket.url());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) errors.push(message.text().slice(0, 300));
    });
  };
  context.on('page', watch);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return {
    page,
    async done() {
      await context.close();
      assert.deepEqual(foreign, [], 'requests beyond 127.0.0.1');
      assert.deepEqual(errors, [], 'errors on the page');
    },
  };
}

/**
 * Logs in through the login page and waits for the dashboard. The server allows five logins
 * per user in a burst (one more every 12 s), `world().start` included: keep a file under that.
 */
export async function logIn(page) {
  await page.goto('/login');
  await page.getByTestId('login-username').fill(ADMIN.username);
  await page.getByTestId('login-password').fill(ADMIN.password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('nav-dashboard').waitFor();
}

/** Saves a full-page screenshot as `target/e2e-screenshots/<name>.png`. */
export async function screenshot(page, name) {
  // The picture shows the page as an admin reads it, not half loaded: no skeleton or spinner.
  await page
    .waitForFunction(() => !document.querySelector('.ant-skeleton, .ant-spin-spinning'), null, { timeout: 10_000 })
    .catch(() => {
      throw new Error(`screenshot ${name}: the page was still loading after 10 s`);
    });
  await mkdir(SCREENSHOTS, { recursive: true });
  // Transitions still under way (a dialog fading in) are finished first.
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** Sends one chat completion through the pool with a client token, as an SDK would. */
export async function chat(server, token, content = 'Hello') {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, requestId: response.headers.get('x-amp-pool-request-id'), body: await response.json() };
}

/** Creates a client token through GraphQL and returns its secret. */
export async function clientToken(server, jwt, name = 'e2e') {
  const data = await graphql(
    server,
    'mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }',
    { input: { name } },
    jwt,
  );
  return data.createAccessToken.token;
}

/** Adds an upstream key through GraphQL and returns its id. */
export async function addKey(server, jwt, { name, apiKey, provider = 'OPENAI' }) {
  const data = await graphql(
    server,
    'mutation($input: CreateKeyInput!) { createKey(input: $input) { id } }',
    { input: { name, provider, apiKey } },
    jwt,
  );
  return data.createKey.id;
}

/**
 * Everything a test file needs, started once (`before`) and stopped once (`after`); each test
 * opens its own context, so browser state never leaks between tests.
 */
export function world() {
  const w = {};
  w.start = async () => {
    w.upstream = await startUpstream();
    w.server = await startServer(w.upstream);
    w.browser = await startBrowser();
    w.jwt = await adminJwt(w.server);
  };
  w.stop = async () => {
    await w.browser?.close();
    await w.server?.stop();
    await w.upstream?.close();
  };
  return w;
}
