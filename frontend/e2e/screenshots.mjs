// Takes a screenshot of each main page against a real API server and PostgreSQL, into bin/test-logs/screenshots,
// so people can look at them. Needs bin/llmplatform built with the UI embedded (make build), or LLMP_BINARY.
//   node e2e/screenshots.mjs
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN, startAPIServer, writeConfig } from './lib/apiserver.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { startPostgres } from './lib/postgres.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const binary = process.env.LLMP_BINARY ?? join(root, 'bin/llmplatform');
const out = join(root, 'bin/test-logs/screenshots');
mkdirSync(out, { recursive: true });

/** @param {import('playwright-core').Page} page @param {string} name */
async function shot(page, name) {
  await page.waitForLoadState('networkidle');
  await page.locator('.spinner').first().waitFor({ state: 'detached' });
  // Let transitions (the phone drawer) finish.
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
  console.log(`screenshot ${name}.png`);
}

/** @param {import('playwright-core').Page} page @param {string} base @param {string} login @param {string} password */
async function logIn(page, base, login, password) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/chat/);
}

const pg = await startPostgres();
const cfg = writeConfig();
let server;
const browsers = [];
try {
  server = await startAPIServer({ binary, config: cfg.config, databaseURL: pg.url, logFile: join(out, 'apiserver.log') });
  const base = server.url;

  const desktop = await launchBrowser();
  browsers.push(desktop);
  const page = await desktop.context.newPage();
  await page.goto(`${base}/login`);
  await shot(page, 'login');
  await page.goto(`${base}/register`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=email]', 'alice@example.com');
  await page.fill('input[name=display_name]', 'Alice');
  await page.fill('input[name=password]', 'alice-password-1');
  await page.fill('input[name=confirm]', 'alice-password-1');
  await shot(page, 'register');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/chat/);
  await shot(page, 'chat-empty');
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  await shot(page, 'new-conversation');
  await page.fill('input[name=model]', 'mock-model');
  await page.fill('input[name=title]', 'Trip to Kyoto');
  await page.fill('textarea[name=system_prompt]', 'You are a travel guide.');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/chat\/.+/);
  await page.getByRole('textbox', { name: 'Message' }).fill('What should I see first?');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').first().waitFor();
  await shot(page, 'conversation');
  for (const path of ['usage', 'tokens', 'keys', 'settings']) {
    await page.goto(`${base}/${path}`);
    await shot(page, path);
  }

  const admin = await launchBrowser();
  browsers.push(admin);
  const adminPage = await admin.context.newPage();
  await logIn(adminPage, base, ADMIN.username, ADMIN.password);
  for (const path of ['admin/users', 'admin/audit', 'admin/usage', 'admin/quotas']) {
    await adminPage.goto(`${base}/${path}`);
    await shot(adminPage, path.replace('/', '-'));
  }

  const phone = await launchBrowser({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'dark' });
  browsers.push(phone);
  const phonePage = await phone.context.newPage();
  await logIn(phonePage, base, 'alice', 'alice-password-1');
  await shot(phonePage, 'phone-zh-dark-chat-list');
  await phonePage.getByRole('link', { name: /Trip to Kyoto/ }).click();
  await shot(phonePage, 'phone-zh-dark-conversation');
  await phonePage.getByRole('button', { name: '菜单' }).click();
  await shot(phonePage, 'phone-zh-dark-menu');
} finally {
  for (const b of browsers) await b.close();
  await server?.stop();
  pg.stop();
  cfg.cleanup();
}
