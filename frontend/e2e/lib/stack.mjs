// The whole stack of an end-to-end run, started from one binary: a throwaway PostgreSQL, the mock LLM provider,
// and the API server (with the UI embedded) configured with the mock as its providers, a few quotas and users'
// own keys allowed. Everything is stopped and removed by stop().
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAPIServer, writeConfig } from './apiserver.mjs';
import { startMockProvider } from './mockprovider.mjs';
import { startPostgres } from './postgres.mjs';

/** Model ids as /api/v1/models and /v1 name them. */
export const MODELS = {
  /** A 40-token answer at 25 tokens a second: about 1.8 s, streamed one token at a time. */
  chat: 'mock/mock-chat',
  /** A 600-token answer at 30 tokens a second (20 s): long enough to stop. */
  long: 'mock/mock-long',
  /** Anthropic's protocol, with a key in the pool. */
  sonnet: 'mock-claude/mock-sonnet',
};

/** The user whose own quota refuses every answer (10 tokens a day). */
export const TIGHT_USER = 'erin';

/** @param {string} mock the mock provider's base URL @param {string} dir the config directory */
function platformYAML(mock, dir) {
  const claudeKey = join(dir, 'claude-key');
  writeFileSync(claudeKey, 'sk-ant-e2e-0000');
  return `timezone: UTC
userKeys: {allowed: true}
providers:
  - name: mock
    type: OpenAICompatible
    baseURL: ${mock}/openai/v1
    models:
      - name: mock-chat
        upstreamName: mock-chat+tps:25
        pricing: {input: "0.15", output: "0.60"}
        contextWindow: 128000
      - name: mock-long
        upstreamName: mock-chat+tokens:600+tps:30
        pricing: {input: "2.50", output: "10.00"}
        contextWindow: 32000
  - name: mock-claude
    type: Anthropic
    baseURL: ${mock}/anthropic
    keys:
      - {id: mock-claude/apiKey, file: ${claudeKey}, weight: 1}
    models:
      - name: mock-sonnet
        pricing: {input: "3", output: "15"}
        contextWindow: 200000
quotas:
  - name: everyone
    subjects: {allUsers: true}
    limits: {requestsPerMinute: 120, tokensPerDay: 2000000, costPerMonth: "25"}
    mode: Enforce
  - name: tight
    subjects: {users: [${TIGHT_USER}]}
    limits: {tokensPerDay: 10}
    mode: Enforce
  - name: watch-costs
    subjects: {roles: [user]}
    limits: {costPerMonth: "1"}
    mode: Shadow
`;
}

/**
 * startStack starts PostgreSQL, the mock provider and the API server; logs go to logDir.
 * @param {{ binary: string, logDir: string }} o
 * @returns {Promise<{ base: string, mock: string, stop: () => Promise<void> }>}
 */
export async function startStack(o) {
  /** @type {(() => unknown)[]} */
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        console.error('e2e cleanup:', err);
      }
    }
  };
  try {
    const [pgStarted, mockStarted] = await Promise.allSettled([
      startPostgres(),
      startMockProvider({ binary: o.binary, logFile: join(o.logDir, 'mock-provider.log') }),
    ]);
    for (const r of [pgStarted, mockStarted]) if (r.status === 'fulfilled') stops.push(r.value.stop);
    if (pgStarted.status === 'rejected') throw pgStarted.reason;
    if (mockStarted.status === 'rejected') throw mockStarted.reason;
    const mock = mockStarted.value;
    const pg = pgStarted.value;
    const cfg = writeConfig((dir) => platformYAML(mock.url, dir));
    stops.push(cfg.cleanup);
    const server = await startAPIServer({ binary: o.binary, config: cfg.config, databaseURL: pg.url, logFile: join(o.logDir, 'apiserver.log') });
    stops.push(server.stop);
    return { base: server.url, mock: mock.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
