import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDashboardAssets } from './dashboard-assets.ts';

test('every file the page asks for is served, uPlot included, and nothing from elsewhere', () => {
  const assets = loadDashboardAssets();
  const text = (path: string): string => assets.get(path)?.body.toString('utf8') ?? assert.fail(`${path} is not served`);
  // relative references from the page (at /) and from the modules (at /dashboard/)
  const wanted = [...text('/').matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => `/${m[1]}`);
  for (const module of ['/dashboard/dashboard.js', '/dashboard/backends.js', '/dashboard/charts.js']) {
    wanted.push(...[...text(module).matchAll(/from '\.\/([^']+)'/g)].map((m) => `/dashboard/${m[1]}`));
  }
  assert.ok(wanted.length >= 8, wanted.join(' '));
  for (const path of wanted) assert.ok(assets.has(path), `${path} is referenced but not served`);
  assert.match(text('/dashboard/uPlot.iife.min.js'), /uPlot/);
  assert.doesNotMatch(text('/'), /https?:\/\//, 'no CDN: the page works without the internet');
  assert.equal(assets.get('/')?.contentType, 'text/html; charset=utf-8');
  assert.equal(assets.get('/dashboard/stats.js')?.contentType, 'text/javascript; charset=utf-8');
});
