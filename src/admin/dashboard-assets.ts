// The dashboard's static files, read once when the admin listener is created and served from
// memory. uPlot comes from its npm package (a runtime dependency), resolved like an import, so it
// is found wherever Sibyl is installed and no page ever needs the internet.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const own = (file: string): string => fileURLToPath(new URL(`./dashboard/${file}`, import.meta.url));
const uplot = (file: string): string => fileURLToPath(import.meta.resolve(`uplot/dist/${file}`));

const FILES: readonly (readonly [path: string, file: string, contentType: string])[] = [
  ['/', own('index.html'), 'text/html; charset=utf-8'],
  ['/dashboard/dashboard.js', own('dashboard.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/backends.js', own('backends.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/charts.js', own('charts.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/stats.js', own('stats.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/dashboard.css', own('dashboard.css'), 'text/css; charset=utf-8'],
  ['/dashboard/favicon.svg', own('favicon.svg'), 'image/svg+xml'],
  ['/dashboard/uPlot.iife.min.js', uplot('uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  ['/dashboard/uPlot.min.css', uplot('uPlot.min.css'), 'text/css; charset=utf-8'],
];

// Scripts and styles only from this listener; the page may not be framed (its buttons drain backends).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;

export function loadDashboardAssets(): ReadonlyMap<string, Asset> {
  return new Map(
    FILES.map(([path, file, contentType]) => {
      const body = readFileSync(file);
      return [path, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }];
    }),
  );
}

/** GET/HEAD of a dashboard file; revalidated on every load (no-cache) so an upgrade shows at once. */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers = { ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag: asset.etag };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'content-type': asset.contentType, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
