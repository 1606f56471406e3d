// Small process helpers for the end-to-end harness: free ports, waiting for HTTP, stopping children.
import { createServer } from 'node:net';

/** freePort asks the kernel for a free TCP port on 127.0.0.1. @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * waitForHTTP polls url until it answers 200 or the deadline passes; `alive` reports whether the process
 * serving it is still running (so a crash fails fast instead of waiting out the deadline).
 * @param {string} url
 * @param {() => boolean} alive
 * @param {number} timeoutMs
 */
export async function waitForHTTP(url, alive, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`process serving ${url} exited`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * stopChild sends SIGTERM, then SIGKILL after graceMs, and resolves when the child has exited.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} graceMs
 */
export function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise(/** @param {(v?: undefined) => void} resolveStop */ (resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
