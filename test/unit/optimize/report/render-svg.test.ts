import { describe, expect, it } from 'vitest';
import { renderReportPng } from '../../../../src/optimize/report/render-png.js';
import { escapeXml, renderReportSvg } from '../../../../src/optimize/report/render-svg.js';
import { niceTicks, placeLabels } from '../../../../src/optimize/report/svg-layout.js';
import { expectFerryError } from '../../../helpers/expect-ferry-error.js';
import { ODD_LABEL, REPORT } from './report-fixture.js';

const svg = renderReportSvg(REPORT);

/**
 * Well-formedness as XML needs it, checked token by token: tags nest and close, attributes are
 * name="value" without a raw < or &, text holds no raw < or > and only the five named entities.
 */
function wellFormedProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const entity = /&(?!(?:amp|lt|gt|quot|apos);)/u;
  let rest = xml;
  while (rest.length > 0) {
    const open = rest.indexOf('<');
    const textPart = open === -1 ? rest : rest.slice(0, open);
    if (/>/u.test(textPart) || entity.test(textPart)) problems.push(`text ${JSON.stringify(textPart)}`);
    if (open === -1) break;
    const close = rest.indexOf('>', open);
    const tag = rest.slice(open + 1, close);
    rest = rest.slice(close + 1);
    const m =
      /^(\/?)([A-Za-z][\w:-]*)((?:\s+[A-Za-z][\w:-]*="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)$/u.exec(
        tag,
      );
    if (m === null || (m[1] === '/' && (m[3] !== '' || m[4] === '/'))) {
      problems.push(`tag <${tag}>`);
      continue;
    }
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) problems.push(`close </${m[2]}>`);
    } else if (m[4] !== '/') stack.push(m[2]!);
  }
  if (stack.length > 0) problems.push(`unclosed ${stack.join(', ')}`);
  return problems;
}

describe('renderReportSvg', () => {
  it('is well-formed: one svg root, every tag closed, entities only where they belong', () => {
    expect(wellFormedProblems(svg)).toEqual([]);
    expect(svg.trim().startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // The checker itself refuses what is broken.
    expect(wellFormedProblems('<svg><text>a < b & c</text></svg>')).not.toEqual([]);
    expect(wellFormedProblems('<svg><g></svg>')).not.toEqual([]);
  });

  it('escapes labels for XML', () => {
    expect(escapeXml(`<&"'>`)).toBe('&lt;&amp;&quot;&apos;&gt;');
    expect(svg).toContain(escapeXml(ODD_LABEL));
    expect(svg).not.toContain(ODD_LABEL);
  });

  it('draws two panels with one labelled point per scored model, the parent highlighted', () => {
    expect(svg).toContain('Weighted F1 against size');
    expect(svg).toContain('Weighted F1 against latency');
    expect(svg).toContain('artifact size (KB)');
    expect(svg).toContain('p50 latency, one row per call (ms)');
    // 3 scored models x 2 panels; the model without F1 is named as not plotted instead.
    expect(svg.match(/<circle /gu)).toHaveLength(6);
    expect(svg.match(/r="7" fill="#d95f02"/gu)).toHaveLength(2);
    expect(svg.match(/>parent<\/text>/gu)).toHaveLength(2);
    expect(svg).toContain('not plotted (F1 not measured): custom linear');
    expect(svg).toContain('seen by the parent in training');
  });

  it('puts ticks on round values that cover the points', () => {
    // Parent 2400 KB: the size axis reaches at least that far.
    expect(niceTicks(0, 2400 * 1.08)).toEqual([0, 1000, 2000, 3000]);
    expect(niceTicks(0.81, 0.87)).toEqual([0.8, 0.82, 0.84, 0.86, 0.88]);
    expect(svg).toContain('>3000</text>');
    expect(svg).toContain('>0.84</text>');
  });

  it('places the labels of points on one spot without overlap', () => {
    const bounds = { left: 0, right: 400, top: 0, bottom: 300 };
    const places = placeLabels(
      ['parent', 'same model', 'C 1'].map((text) => ({ x: 200, y: 150, text })),
      bounds,
    );
    const boxes = places.map((p, i) => {
      const w = ['parent', 'same model', 'C 1'][i]!.length * 6.6;
      return { x0: p.anchorEnd ? p.x - w : p.x, x1: p.anchorEnd ? p.x : p.x + w, y0: p.y - 11, y1: p.y + 3 };
    });
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1))
        expect(a.x1 <= b.x0 || a.x0 >= b.x1 || a.y1 <= b.y0 || a.y0 >= b.y1).toBe(true);
    // The first label (the parent's) gets the first place: right of the point, just above it.
    expect(places[0]).toEqual({ x: 210, y: 144, anchorEnd: false });
  });
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  // The IHDR chunk comes first: length (4), type (4), then width and height (big-endian).
  expect(new TextDecoder().decode(png.slice(12, 16))).toBe('IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('renderReportPng', () => {
  it('rasterises the SVG at its size, text included', async () => {
    const png = await renderReportPng(svg);
    expect([...png.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(pngSize(png)).toEqual({ width: 1000, height: 470 });
    // Without fonts resvg silently draws no text: the same SVG with its text removed would give the
    // same picture. Glyphs add thousands of anti-aliased pixels, hence bytes.
    const bare = await renderReportPng(svg.replace(/<text [^>]*>[^<]*<\/text>/gu, ''));
    expect(pngSize(bare)).toEqual({ width: 1000, height: 470 });
    expect(png.byteLength).toBeGreaterThan(bare.byteLength * 1.5);
  });

  it('names the package when the renderer is not installed', async () => {
    const error = await expectFerryError(
      renderReportPng(svg, 'ferry-no-such-renderer'),
      'FERRY_MODEL_BACKEND_MISSING',
    );
    expect(error.message).toContain('npm install ferry-no-such-renderer');
  });
});
