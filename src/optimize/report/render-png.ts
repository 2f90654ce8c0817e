import { existsSync } from 'node:fs';
import { ErrorCode, FerryError } from '../../core/errors.js';

/** The optional package that rasterises the SVG (a native module: loaded only when a PNG is asked for). */
const PNG_RENDERER_PACKAGE = '@resvg/resvg-js';

type ResvgModule = typeof import('@resvg/resvg-js');

/*
 * resvg draws text only with fonts it has loaded. It scans the system's font directories
 * (loadSystemFonts); these files are added when present so the chart's first choice (DejaVu Sans,
 * Debian's fonts-dejavu-core, installed on most Linux machines) is found even where fontconfig's
 * directories are not scanned. Elsewhere (macOS, Windows) the system's Arial/Helvetica serves.
 */
const KNOWN_FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
];

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function loadResvg(specifier: string): Promise<ResvgModule> {
  let mod: Partial<ResvgModule> & { default?: Partial<ResvgModule> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    const message = isNotFound(e)
      ? `a PNG of the report needs the optional package ${specifier}, which is not installed: run \`npm install ${specifier}\` (or ask for the SVG)`
      : `the optional package ${specifier} is installed but does not load on this platform: reinstall it with \`npm install ${specifier}\``;
    throw new FerryError(ErrorCode.MODEL_BACKEND_MISSING, message, {
      details: { package: specifier },
      cause: e,
    });
  }
  // A CommonJS package: Node exposes its exports both by name and as `default`.
  const resvg = mod.Resvg ? mod : mod.default;
  if (!resvg?.Resvg) {
    throw new FerryError(
      ErrorCode.MODEL_BACKEND_MISSING,
      `the package ${specifier} does not export Resvg: reinstall it with \`npm install ${specifier}\``,
      { details: { package: specifier } },
    );
  }
  return resvg as ResvgModule;
}

/**
 * The report's SVG as a PNG of the same size, white background. The specifier is a parameter so a
 * test can name a package that does not exist (FERRY_MODEL_BACKEND_MISSING naming it).
 */
export async function renderReportPng(svg: string, specifier = PNG_RENDERER_PACKAGE): Promise<Uint8Array> {
  const { Resvg } = await loadResvg(specifier);
  const renderer = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'original' },
    font: {
      loadSystemFonts: true,
      fontFiles: KNOWN_FONT_FILES.filter((f) => existsSync(f)),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return new Uint8Array(renderer.render().asPng());
}
