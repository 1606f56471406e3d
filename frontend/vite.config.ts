import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The API server embeds this directory (apiserver/webui). Vite empties it before each build, so the keep-file
// that holds the directory in git is written back afterwards.
const outDir = resolve(import.meta.dirname, '../apiserver/webui/dist');

function keepFile(): Plugin {
  return {
    name: 'llmplatform-keep-file',
    apply: 'build',
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(resolve(outDir, '.keep'), '');
    },
  };
}

export default defineConfig({
  plugins: [react(), keepFile()],
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: process.env.LLMP_API ?? 'http://127.0.0.1:8080', changeOrigin: false },
      '/v1': { target: process.env.LLMP_API ?? 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
