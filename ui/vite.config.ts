import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard (issue 15): a Preact app built into dist/ui, which `ferry serve` serves at /ui
 * (src/serving/http/routes/ui-routes.ts). Everything is bundled: nothing is fetched from a CDN.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // No inline data: URLs for assets: the page's CSP allows scripts and styles from 'self' only.
    assetsInlineLimit: 0,
  },
});
