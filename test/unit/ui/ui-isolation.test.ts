/**
 * The dashboard (ui/) talks to Ferry only over HTTP: it imports nothing from src/ (so what it shows
 * is what the API says, and no server code is bundled into the browser), and it fetches nothing
 * from another origin (no CDN: it works offline).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const UI_SRC = resolve(import.meta.dirname, '../../../ui/src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('the dashboard source', () => {
  const sources = files(UI_SRC).filter((f) => /\.(ts|tsx|css)$/.test(f));

  it('has sources to check', () => {
    expect(sources.length).toBeGreaterThan(5);
  });

  it('imports only its own files and its packages (preact, uplot), never src/', () => {
    const bad: string[] = [];
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) {
          const target = resolve(file, '..', spec);
          if (!target.startsWith(UI_SRC)) bad.push(`${file}: ${spec}`);
        } else if (!/^(preact|preact\/hooks|uplot|uplot\/dist\/uPlot\.min\.css)$/.test(spec)) {
          bad.push(`${file}: ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('names no other origin to fetch from, and never sets innerHTML', () => {
    const bad: string[] = [];
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      if (/fetch\(\s*['"`]https?:/.test(text)) bad.push(`${file}: fetch of an absolute URL`);
      if (/dangerouslySetInnerHTML|\.innerHTML\s*=/.test(text)) bad.push(`${file}: innerHTML`);
    }
    expect(bad).toEqual([]);
  });
});
