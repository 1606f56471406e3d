// A throwaway PostgreSQL cluster on 127.0.0.1 for end-to-end runs (like internal/testutil/pgtest): initdb with
// trust auth into a temporary directory, started on a free port, run as "postgres" when we are root.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './procs.mjs';

/** @param {string} name @returns {string} */
function pgBin(name) {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort().reverse()) {
      const p = join(base, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name;
}

/**
 * startPostgres starts a cluster and returns its URL and a stop function. DATABASE_URL in the environment
 * short-circuits this: that database is used and left alone.
 * @returns {Promise<{ url: string, stop: () => void }>}
 */
export async function startPostgres() {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'llmp-e2e-pg-'));
  chmodSync(dir, 0o777);
  const asPostgres = typeof process.getuid === 'function' && process.getuid() === 0;
  /** @param {string} bin @param {string[]} args */
  const run = (bin, args) => {
    const cmd = asPostgres ? 'runuser' : pgBin(bin);
    const argv = asPostgres ? ['-u', 'postgres', '--', pgBin(bin), ...args] : args;
    return execFileSync(cmd, argv, { stdio: 'pipe' });
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off`;
  run('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log'), '-o', opts]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    stop: () => {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
