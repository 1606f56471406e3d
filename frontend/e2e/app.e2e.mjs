// Browser end-to-end stories of the web UI against the real API server, PostgreSQL, the mock LLM provider and
// Debian's Chromium, with node's test runner. Everything comes from one binary built with the UI embedded
// (make build, or LLMP_BINARY); the stories run in order and share the stack (and some users).
//   LLMP_BINARY=../bin/llmplatform npm run e2e
// Screenshots of every main page go to bin/test-logs/screenshots; logs to bin/test-logs/e2e.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN } from './lib/apiserver.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { MODELS, startStack, TIGHT_USER } from './lib/stack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const binary = resolve(process.env.LLMP_BINARY ?? join(root, 'bin/llmplatform'));
const logs = join(root, 'bin/test-logs/e2e');
const shots = join(root, 'bin/test-logs/screenshots');
mkdirSync(logs, { recursive: true });
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.endsWith('.png')) rmSync(join(shots, f));

/** @typedef {import('../src/api/schema.gen').components['schemas']} Schemas */
/** @typedef {import('../src/api/schema.gen').components['schemas']['ChatCompletion']} ChatCompletion */

/** @type {Awaited<ReturnType<typeof startStack>> | undefined} */
let stack;
/** @type {{ close: () => Promise<void> }[]} */
const browsers = [];

/** base is the running server's URL. */
function base() {
  if (stack === undefined) throw new Error('stack not started');
  return stack.base;
}

before(async () => {
  stack = await startStack({ binary, logDir: logs });
});

after(async () => {
  for (const b of browsers) await b.close();
  await stack?.stop();
});

/**
 * newPage opens a page in a fresh browser profile (its own localStorage, so its own session).
 * @param {Parameters<typeof launchBrowser>[0]} [o]
 */
async function newPage(o) {
  const b = await launchBrowser(o);
  browsers.push(b);
  const page = await b.context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/**
 * shot saves a screenshot of the page once nothing loads. The app scrolls inside its frame, so the whole page
 * is captured by growing the viewport to the height of the scrolled content for the moment of the shot.
 * @param {import('playwright-core').Page} page @param {string} name
 */
async function shot(page, name) {
  await page.locator('.spinner').first().waitFor({ state: 'detached' });
  const viewport = page.viewportSize();
  const height = await page.evaluate(() => {
    const scroller = document.querySelector('.content');
    const extra = scroller === null ? 0 : scroller.scrollHeight - scroller.clientHeight;
    return Math.min(window.innerHeight + Math.max(0, extra), 3000);
  });
  if (viewport !== null && height > viewport.height) await page.setViewportSize({ width: viewport.width, height });
  await page.screenshot({ path: join(shots, `${name}.png`) });
  if (viewport !== null && height > viewport.height) await page.setViewportSize(viewport);
}

/**
 * assertFits fails when something in the page sticks out past the right edge of the window (a phone would
 * have to scroll sideways), tables and code blocks aside: they scroll inside their own box.
 * @param {import('playwright-core').Page} page @param {string} what
 */
async function assertFits(page, what) {
  const sticking = await page.evaluate(() => {
    const w = window.innerWidth;
    return Array.from(document.querySelectorAll('body *'))
      .filter((el) => el.closest('.table-wrap, .code-block, .sidebar') === null)
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > w + 1;
      })
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
      .slice(0, 5);
  });
  assert.deepEqual(sticking, [], `${what} fits the window`);
}

/** @param {import('playwright-core').Page} page @param {string} login @param {string} password */
async function logIn(page, login, password) {
  await page.goto(`${base()}/login`);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.waitForURL(/\/chat$/);
}

/**
 * register creates an account through the form (and saves a screenshot of the filled form when named).
 * @param {import('playwright-core').Page} page @param {string} username @param {string} [shotName]
 */
async function register(page, username, shotName) {
  await page.goto(`${base()}/register`);
  await page.getByLabel(/^Username/).fill(username);
  await page.getByLabel('Email', { exact: true }).fill(`${username}@example.com`);
  await page.getByLabel(/^Display name/).fill(username[0].toUpperCase() + username.slice(1));
  await page.getByLabel(/^Password/).fill(`${username}-password-1`);
  await page.getByLabel('Repeat the password').fill(`${username}-password-1`);
  if (shotName !== undefined) await shot(page, shotName);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.waitForURL(/\/chat$/);
}

/**
 * newConversation creates a conversation through the dialog and opens it.
 * @param {import('playwright-core').Page} page @param {string} title @param {string} model
 */
async function newConversation(page, title, model) {
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  await page.locator('select[name=model]').selectOption(model);
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: title }).waitFor();
}

/**
 * jsonOf reads a response's JSON body as a value of unknown shape (callers say what they expect).
 * @param {Response} res
 * @returns {Promise<unknown>}
 */
async function jsonOf(res) {
  /** @type {unknown} */
  const v = await res.json();
  return v;
}

/**
 * apiAs logs a user in through the JSON API and returns a function that GETs a path as that user.
 * @param {string} login @param {string} password
 * @returns {Promise<(path: string) => Promise<unknown>>}
 */
async function apiAs(login, password) {
  const res = await fetch(`${base()}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  assert.equal(res.status, 200);
  const { access_token: token } = /** @type {Schemas['AuthResponse']} */ (await jsonOf(res));
  /** @param {string} path */
  return async (path) => {
    const r = await fetch(`${base()}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `GET ${path}`);
    return jsonOf(r);
  };
}

/**
 * sampleStream records the length of the streaming answer's text every 20 ms, from when it appears until it
 * is replaced by the stored message (or 20 s pass).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<number[]>}
 */
function sampleStream(page) {
  return page.evaluate(async () => {
    /** @type {number[]} */
    const seen = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const el = document.querySelector('.msg-assistant.streaming .msg-body');
      if (el !== null) seen.push(el.textContent.length);
      else if (seen.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return seen;
  });
}

/** The user of the chat stories, in one browser profile kept across stories. */
const bob = { name: 'bob', password: 'bob-password-1' };
/** @type {import('playwright-core').Page | undefined} */
let bobPage;
function bobsPage() {
  if (bobPage === undefined) throw new Error('the first story did not run');
  return bobPage;
}

void test('register, log out, log in, create a conversation and see a streamed answer arrive in pieces', async () => {
  const page = await newPage();
  bobPage = page;
  await page.goto(`${base()}/login`);
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await shot(page, 'login');
  await register(page, bob.name, 'register');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await logIn(page, 'bob@example.com', bob.password);

  await newConversation(page, 'Plans', MODELS.chat);
  await page.getByRole('textbox', { name: 'Message' }).fill('What should I pack for Kyoto?');
  const sampling = sampleStream(page);
  const sent = Date.now();
  await page.keyboard.press('Enter');
  const lengths = await sampling;
  const took = Date.now() - sent;
  const growing = [...new Set(lengths.filter((n) => n > 0))];
  assert.ok(growing.length >= 5, `the answer arrived in ${growing.length} visible pieces (${lengths.join(',')})`);
  assert.deepEqual(growing, [...growing].sort((a, b) => a - b), 'the streamed text only grows');
  assert.ok(took > 800, `a 40-token answer at 25 tokens/s streamed over ${took} ms`);

  const answer = page.locator('.msg-assistant').last();
  await answer.getByText(/→ \d+ tokens/).waitFor();
  const text = (await answer.locator('.msg-body').textContent()) ?? '';
  assert.ok(text.length >= Math.max(...growing), 'the stored answer holds everything streamed');
  await page.reload();
  await page.getByRole('link', { name: /Plans/ }).waitFor();
  assert.equal(await page.locator('.msg-assistant .msg-body').last().textContent(), text);
});

void test('stop a long answer: the partial text is kept, after a reload too', async () => {
  const page = bobsPage();
  await page.goto(`${base()}/chat`);
  await newConversation(page, 'Long story', MODELS.long);
  await page.getByRole('textbox', { name: 'Message' }).fill('Tell me a very long story.');
  await page.keyboard.press('Enter');
  const streaming = page.locator('.msg-assistant.streaming .msg-body');
  await page.waitForFunction(() => (document.querySelector('.msg-assistant.streaming .msg-body')?.textContent ?? '').length > 40);
  const before = (await streaming.textContent()) ?? '';
  const pressed = Date.now();
  await page.getByRole('button', { name: 'Stop' }).click();
  const last = page.locator('.msg-assistant').last();
  await last.getByText('Stopped').waitFor();
  assert.ok(Date.now() - pressed < 5000, 'the answer stopped at once, not after its 20 s');
  const kept = (await last.locator('.msg-body').textContent()) ?? '';
  assert.ok(kept.startsWith(before.trim().slice(0, 30)), 'the kept text is what was shown');
  assert.ok(kept.length >= before.trim().length, 'nothing shown was lost');
  assert.ok(kept.split(/\s+/).length < 500, 'the answer was cut short (600 tokens were coming)');
  await page.getByRole('button', { name: 'Send' }).waitFor();

  await page.reload();
  const reloaded = page.locator('.msg-assistant').last();
  await reloaded.getByText('Stopped').waitFor();
  assert.equal(await reloaded.locator('.msg-body').textContent(), kept);
});

void test('the usage dashboard shows the tokens of the conversations', async () => {
  const page = bobsPage();
  const get = await apiAs(bob.name, bob.password);
  let expected = 0;
  const conversations = /** @type {Schemas['ConversationPage']} */ (await get('/conversations'));
  for (const c of conversations.items) {
    const messages = /** @type {Schemas['MessagePage']} */ (await get(`/conversations/${c.id}/messages`));
    for (const m of messages.items) {
      if (m.usage !== null) expected += m.usage.prompt_tokens + m.usage.completion_tokens;
    }
  }
  assert.ok(expected > 0, 'the answers have usage');
  await page.getByRole('link', { name: 'Usage' }).click();
  const tokens = page.locator('[data-stat="Tokens"]');
  // Usage records are written in batches (within 50 ms): the dashboard may need one more look.
  const deadline = Date.now() + 10_000;
  for (;;) {
    await tokens.waitFor();
    const shown = Number(((await tokens.textContent()) ?? '').replace(/\D/g, ''));
    if (shown === expected) break;
    assert.ok(Date.now() < deadline, `dashboard shows ${shown} tokens, the conversations hold ${expected}`);
    await page.waitForTimeout(300);
    await page.reload();
  }
  await page.getByRole('listitem').filter({ hasText: 'mock / mock-long' }).first().waitFor();
  await page.getByRole('progressbar', { name: /everyone · Tokens per day/ }).waitFor();
  await page.getByText(/Resets/).first().waitFor();
});

void test('create an API token: its secret is shown once and answers on /v1/chat/completions', async () => {
  const page = bobsPage();
  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.getByLabel('Name').fill('script');
  await page.getByRole('button', { name: 'Create token' }).click();
  const once = page.locator('.secret-once');
  await once.getByText('Copy the token now').waitFor();
  const token = ((await once.locator('pre code').first().textContent()) ?? '').trim();
  assert.match(token, /^llmp_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,}$/);
  await once.getByText(`${base()}/v1/chat/completions`).waitFor();
  await shot(page, 'tokens-created');
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await page.reload();
  await page.getByRole('cell', { name: `${token.slice(0, 13)}…` }).waitFor();
  assert.equal(await page.getByText(token).count(), 0, 'the secret is not shown again');

  const res = await fetch(`${base()}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: MODELS.sonnet, messages: [{ role: 'user', content: 'Say hello' }] }),
  });
  assert.equal(res.status, 200);
  const body = /** @type {ChatCompletion & { choices: { message: { content: string } }[], usage: { total_tokens: number } }} */ (await jsonOf(res));
  assert.equal(body.object, 'chat.completion');
  assert.ok(body.choices[0].message.content.length > 0, 'the token got an answer');
  assert.ok(body.usage.total_tokens > 0);
});

/**
 * answered waits until no answer streams in the page and the last answer is stored (its usage line shows).
 * @param {import('playwright-core').Page} page
 */
async function answered(page) {
  await page.locator('.msg-assistant.streaming').waitFor({ state: 'detached' });
  await page.locator('.msg-assistant').last().getByText(/→ \d+ tokens/).waitFor();
}

void test('regenerate, edit-and-resend and delete-from-here replace what followed', async () => {
  const page = bobsPage();
  await page.goto(`${base()}/chat`);
  await newConversation(page, 'Edits', MODELS.chat);
  const id = /\/chat\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? '';
  const get = await apiAs(bob.name, bob.password);
  const messages = async () => /** @type {Schemas['MessagePage']} */ (await get(`/conversations/${id}/messages`)).items;
  await page.getByRole('textbox', { name: 'Message' }).fill('First question');
  await page.keyboard.press('Enter');
  await answered(page);
  const [, firstAnswer] = await messages();

  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.locator('.msg-assistant.streaming').waitFor();
  await answered(page);
  const afterRegenerate = await messages();
  assert.deepEqual(afterRegenerate.map((m) => m.role), ['user', 'assistant']);
  assert.notEqual(afterRegenerate[1].id, firstAnswer.id, 'the answer was replaced');

  const user = page.locator('.msg-user').first();
  await user.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('textbox', { name: 'Edit the message' }).fill('Second question');
  await page.getByRole('button', { name: 'Save and send' }).click();
  await answered(page);
  assert.equal(await page.getByText('First question').count(), 0);
  const afterEdit = await messages();
  assert.deepEqual(afterEdit.map((m) => [m.role, m.role === 'user' ? m.content : '']), [['user', 'Second question'], ['assistant', '']]);

  await page.locator('.msg-user').first().getByRole('button', { name: 'Delete from here' }).click();
  await page.getByRole('button', { name: 'Delete this and all later messages' }).click();
  await page.getByText('Send the first message below.').waitFor();
  assert.deepEqual(await messages(), []);
});

void test('a quota refusal says which quota refused and when it resets, and gives the text back', async () => {
  const page = await newPage();
  await register(page, TIGHT_USER);
  await newConversation(page, 'Tight', MODELS.chat);
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('Is anything left?');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.getByText(/Quota “tight” refused this request: Tokens per day\. Used 0 of 10, 10 left\. Resets /).waitFor();
  assert.equal(await box.inputValue(), 'Is anything left?');
  await shot(page, 'chat-quota-refused');
});

void test('add an own provider key, test it, and find its model in the picker', async () => {
  const page = bobsPage();
  if (stack === undefined) throw new Error('stack not started');
  await page.getByRole('link', { name: 'Provider keys' }).click();
  await page.getByRole('button', { name: 'Add key' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('input[name=name]').fill('My gateway');
  await dialog.locator('select[name=provider_type]').selectOption('OpenAICompatible');
  await dialog.locator('input[name=base_url]').fill(`${stack.mock}/openai/v1`);
  await dialog.getByLabel('Model 1: name').fill('mock-chat');
  await dialog.getByLabel(/Model 1: input price/).fill('0.1');
  await dialog.getByLabel(/Model 1: output price/).fill('0.2');
  await shot(page, 'keys-add');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const row = page.getByRole('row', { name: /My gateway/ });
  await row.getByText('mock-chat ($0.1/M / $0.2/M)').waitFor();
  await row.getByRole('button', { name: 'Test' }).click();
  await row.getByText(/The key works\./).waitFor();
  await shot(page, 'keys-tested');

  await page.getByRole('link', { name: 'Chat' }).click();
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  const group = page.locator('select[name=model] optgroup[label="My gateway (your key)"]');
  await group.locator('option').first().waitFor({ state: 'attached' });
  assert.deepEqual(await group.locator('option').allTextContents(), ['mock-chat — in $0.1/M · out $0.2/M']);
  await page.keyboard.press('Escape');
});

void test('an admin deactivates a user, whose open session then ends', async () => {
  const userPage = await newPage();
  await register(userPage, 'carol');

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
});

void test('screenshots of every main page (desktop; phone width in Chinese and dark)', async () => {
  const page = bobsPage();
  await page.goto(`${base()}/chat`);
  await page.getByRole('link', { name: /Plans/ }).click();
  await page.locator('.msg-assistant').first().waitFor();
  await shot(page, 'chat');
  await page.getByRole('textbox', { name: 'Message' }).fill('And what about the weather in spring?');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (document.querySelector('.msg-assistant.streaming .msg-body')?.textContent ?? '').length > 60);
  await page.screenshot({ path: join(shots, 'chat-streaming.png') });
  await page.getByRole('button', { name: 'Send' }).waitFor();
  await page.getByRole('button', { name: 'New conversation' }).first().click();
  await page.getByRole('dialog').waitFor();
  await shot(page, 'new-conversation');
  await page.keyboard.press('Escape');
  for (const path of ['usage', 'tokens', 'keys', 'settings']) {
    await page.goto(`${base()}/${path}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await shot(page, path);
  }

  const admin = await newPage();
  await logIn(admin, ADMIN.username, ADMIN.password);
  for (const path of ['users', 'usage', 'quotas', 'audit', 'providers']) {
    await admin.goto(`${base()}/admin/${path}`);
    await admin.getByRole('heading', { level: 1 }).waitFor();
    await shot(admin, `admin-${path}`);
  }

  const phone = await newPage({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', colorScheme: 'dark' });
  // The browser's language and colour scheme choose Chinese and dark.
  await phone.goto(`${base()}/login`);
  await shot(phone, 'phone-zh-dark-login');
  await logIn(phone, bob.name, bob.password);
  await phone.getByRole('link', { name: /Plans/ }).waitFor();
  await shot(phone, 'phone-zh-dark-chat-list');
  await assertFits(phone, 'the conversation list');
  await phone.getByRole('link', { name: /Plans/ }).click();
  await phone.locator('.msg-assistant').first().waitFor();
  await shot(phone, 'phone-zh-dark-conversation');
  await assertFits(phone, 'a conversation');
  await phone.getByRole('button', { name: '菜单' }).click();
  await phone.waitForTimeout(250);
  await shot(phone, 'phone-zh-dark-menu');
  for (const path of ['usage', 'tokens', 'keys', 'settings']) {
    await phone.goto(`${base()}/${path}`);
    await phone.getByRole('heading', { level: 1 }).waitFor();
    await shot(phone, `phone-zh-dark-${path.replace('/', '-')}`);
    await assertFits(phone, path);
  }
});
