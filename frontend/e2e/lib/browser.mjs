// Headless Chromium from Debian driven by playwright-core, with a fresh profile per launch and the flags that
// keep it from reaching for the network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * launchBrowser starts Chromium with a fresh user-data-dir and returns its context and a close function.
 * @param {{ viewport?: { width: number, height: number }, locale?: string, colorScheme?: 'light' | 'dark' }} o
 */
export async function launchBrowser(o = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'llmp-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: o.viewport ?? { width: 1280, height: 800 },
    locale: o.locale ?? 'en-US',
    colorScheme: o.colorScheme ?? 'light',
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
