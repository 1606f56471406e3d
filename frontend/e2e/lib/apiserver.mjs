// Runs the real `llmplatform apiserver` binary for end-to-end tests: a platform.yaml written into a temporary
// directory with its secret files (or a config file given by the caller), a DATABASE_URL, a free port on
// 127.0.0.1, and a wait for /readyz.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitForHTTP } from './procs.mjs';

/** The bootstrap admin of writeConfig's platforms. */
export const ADMIN = { username: 'admin', password: 'admin-password-e2e' };

/**
 * writeConfig writes a platform.yaml (open registration, cheap password hashing for speed) plus its secret
 * files into a new temporary directory, and returns the config path and the directory.
 * @param {string | ((dir: string) => string)} extra YAML appended to the file (providers, quotas…), or a
 *   function of the directory that may write more files there (provider keys) and returns that YAML
 */
export function writeConfig(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'llmp-e2e-cfg-'));
  const extraYAML = typeof extra === 'function' ? extra(dir) : extra;
  const admin = join(dir, 'admin');
  mkdirSync(admin);
  writeFileSync(join(admin, 'username'), ADMIN.username);
  writeFileSync(join(admin, 'password'), ADMIN.password);
  writeFileSync(join(dir, 'jwt'), 'e2e-signing-key-0123456789abcdef0123456789abcdef');
  writeFileSync(join(dir, 'enc'), Buffer.alloc(32, 7).toString('base64'));
  const config = join(dir, 'platform.yaml');
  writeFileSync(
    config,
    `platform: e2e
auth:
  registration: Open
  passwordHashing: {memoryKiB: 1024, iterations: 1, parallelism: 1}
secrets:
  jwtKeyFile: ${join(dir, 'jwt')}
  encryptionKeyFile: ${join(dir, 'enc')}
  adminDir: ${admin}
${extraYAML}`,
  );
  return { config, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * startAPIServer starts the binary and resolves once it is ready.
 * @param {{ binary: string, config: string, databaseURL: string, logFile: string }} o
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startAPIServer(o) {
  if (!existsSync(o.binary)) throw new Error(`no API server binary at ${o.binary}: run make build (or set LLMP_BINARY)`);
  const port = await freePort();
  const log = createWriteStream(o.logFile);
  // No drain delay: nothing balances load in front of this server, and the run should end quickly.
  const args = ['apiserver', '--config', o.config, '--listen', `127.0.0.1:${port}`, '--drain-delay', '0s', '--shutdown-timeout', '5s'];
  const child = spawn(o.binary, args, {
    env: { ...process.env, DATABASE_URL: o.databaseURL },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('error', (err) => log.write(`spawn failed: ${err.message}\n`));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHTTP(`${url}/readyz`, () => child.exitCode === null);
  } catch (err) {
    await stopChild(child);
    throw new Error(`apiserver did not start (log: ${o.logFile})`, { cause: err });
  }
  return { url, stop: () => stopChild(child) };
}
