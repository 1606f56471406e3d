// Runs the mock LLM provider of the same binary (`llmplatform mock-provider`) on a free port of 127.0.0.1 for
// end-to-end tests, and reads its address from its log line.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { stopChild } from './procs.mjs';

/**
 * startMockProvider starts the mock provider and resolves with its base URL (the OpenAI protocol is under
 * /openai/v1, Anthropic's under /anthropic) once it listens.
 * @param {{ binary: string, logFile: string, args?: string[] }} o
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startMockProvider(o) {
  if (!existsSync(o.binary)) throw new Error(`no binary at ${o.binary}: run make build (or set LLMP_BINARY)`);
  const log = createWriteStream(o.logFile);
  const child = spawn(o.binary, ['mock-provider', '--listen', '127.0.0.1:0', ...(o.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  /** @type {Promise<string>} */
  const listening = new Promise((resolveURL, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`mock provider did not start (log: ${o.logFile})`)), 15_000);
    child.stderr.on('data', (/** @type {Buffer} */ chunk) => {
      seen += chunk.toString();
      const m = /\burl=(http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolveURL(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mock provider exited with ${code} (log: ${o.logFile})`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  try {
    return { url: await listening, stop: () => stopChild(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
