import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'artifacts/', 'docs/', 'deploy/', 'dist/', '.tmp/', 'bench/results/', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', Buffer: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', WebSocket: 'readonly', fetch: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'No enum: use an `as const` object (STYLE.md).' },
        { selector: 'TSModuleDeclaration', message: 'No namespace (STYLE.md).' },
        { selector: 'TSParameterProperty', message: 'No parameter properties (STYLE.md).' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard's page scripts run in the browser (ES modules; uPlot is a global of its IIFE build).
    files: ['src/admin/dashboard/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', location: 'readonly', history: 'readonly', sessionStorage: 'readonly', ResizeObserver: 'readonly', uPlot: 'readonly' } },
  },
  {
    // Pure strategies: no clock, no randomness, no timers (STYLE.md).
    files: ['src/balancer/**/*.ts'],
    ignores: ['src/balancer/**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Inject an Rng.' }, { object: 'Date', property: 'now', message: 'Inject a Clock.' }, { object: 'performance', property: 'now', message: 'Inject a Clock.' }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate'],
    },
  },
);
