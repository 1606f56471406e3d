// Measures the JavaScript a first visit downloads — the entry script and every chunk index.html preloads — gzipped,
// and fails when it exceeds the budget. Route chunks loaded later do not count.
//   node scripts/bundle-size.mjs [budgetKB]
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, '../../apiserver/webui/dist');
const budgetKB = Number(process.argv[2] ?? 250);

const html = readFileSync(resolve(dist, 'index.html'), 'utf8');
/** @type {Set<string>} */
const refs = new Set();
for (const m of html.matchAll(/<script[^>]*\stype="module"[^>]*\ssrc="([^"]+)"/g)) refs.add(m[1]);
for (const m of html.matchAll(/<link[^>]*\srel="modulepreload"[^>]*\shref="([^"]+)"/g)) refs.add(m[1]);
if (refs.size === 0) {
  console.error('bundle-size: no entry script found in index.html');
  process.exit(1);
}

let total = 0;
for (const ref of refs) {
  const bytes = readFileSync(resolve(dist, ref.replace(/^\//, '')));
  total += gzipSync(bytes, { level: 9 }).length;
}
const kb = total / 1000;
const line = `initial JS: ${kb.toFixed(1)} kB gzipped in ${refs.size} files (budget ${budgetKB} kB)`;
if (kb > budgetKB) {
  console.error(`bundle-size: ${line}: over budget`);
  process.exit(1);
}
console.log(line);
