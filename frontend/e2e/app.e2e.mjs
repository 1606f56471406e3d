// Browser end-to-end tests of the web UI against the real API server, PostgreSQL and Debian's Chromium, with
// node's test runner. Needs bin/llmplatform built with the UI embedded (make build), or LLMP_BINARY.
//   node --test e2e/app.e2e.mjs
// Stories that need chat sending (streamed answers, stop) and metering (usage, API tokens) join this file when
// the API server has them.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN, startAPIServer, writeConfig } from './lib/apiserver.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { startPostgres } from './lib/postgres.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.LLMP_BINARY ?? join(root, 'bin/llmplatform');
const logs = join(root, 'bin/test-logs/e2e');
mkdirSync(logs, { recursive: true });

/** @type {{ url: string, stop: () => void } | undefined} */
let pg;
/** @type {ReturnType<typeof writeConfig> | undefined} */
let cfg;
/** @type {{ url: string, stop: () => Promise<void> } | undefined} */
let server;

/** base is the running server's URL. */
function base() {
  if (server === undefined) throw new Error('API server not started');
  return server.url;
}
/** @type {{ context: import('playwright-core').BrowserContext, close: () => Promise<void> }[]} */
const browsers = [];

before(async () => {
  pg = await startPostgres();
  cfg = writeConfig();
  server = await startAPIServer({ binary, config: cfg.config, databaseURL: pg.url, logFile: join(logs, 'apiserver.log') });
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.stop();
  pg?.stop();
  cfg?.cleanup();
});

/** newPage opens a page in a fresh browser profile (its own localStorage, so its own session). */
async function newPage() {
  const b = await launchBrowser();
  browsers.push(b);
  return b.context.newPage();
}

/** @param {import('playwright-core').Page} page @param {string} login @param {string} password */
async function logIn(page, login, password) {
  await page.goto(`${base()}/login`);
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/chat$/);
}

void test('register, log out, log in, and create a conversation', async () => {
  const page = await newPage();
  await page.goto(`${base()}/register`);
  await page.getByLabel(/^Username/).fill('bob');
  await page.getByLabel('Email', { exact: true }).fill('bob@example.com');
  await page.getByLabel(/^Password/).fill('bob-password-1');
  await page.getByLabel('Repeat the password').fill('bob-password-1');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.waitForURL(/\/chat$/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();

  await logIn(page, 'bob@example.com', 'bob-password-1');
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  await page.locator('input[name=model]').fill('mock-model');
  await page.getByLabel('Title').fill('Plans');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: 'Plans' }).waitFor();
  await page.reload();
  await page.getByRole('link', { name: /Plans/ }).waitFor();
  await page.screenshot({ path: join(logs, 'conversation-created.png') });
});

void test('an admin deactivates a user, whose open session then ends', async () => {
  const userPage = await newPage();
  await userPage.goto(`${base()}/register`);
  await userPage.getByLabel(/^Username/).fill('carol');
  await userPage.getByLabel('Email', { exact: true }).fill('carol@example.com');
  await userPage.getByLabel(/^Password/).fill('carol-password-1');
  await userPage.getByLabel('Repeat the password').fill('carol-password-1');
  await userPage.getByRole('button', { name: 'Register' }).click();
  await userPage.waitForURL(/\/chat$/);

  const adminPage = await newPage();
  await logIn(adminPage, ADMIN.username, ADMIN.password);
  await adminPage.getByRole('link', { name: 'Users' }).click();
  const row = adminPage.getByRole('row', { name: /carol/ });
  await row.getByRole('button', { name: 'Deactivate' }).click();
  await row.getByText('Deactivated').waitFor();

  // The user's next request is refused, the refresh too, and the app says why.
  await userPage.getByRole('link', { name: 'Settings' }).click();
  await userPage.getByText('Your session has ended').waitFor();
  assert.match(userPage.url(), /\/login/);
  await userPage.screenshot({ path: join(logs, 'session-ended.png') });
});
