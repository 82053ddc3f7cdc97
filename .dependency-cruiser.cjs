// Import directions from STYLE.md, checked on every `npm test`.
const pure = '^src/(balancer|core)/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'core-imports-nothing', severity: 'error', from: { path: '^src/core/' }, to: { path: '^src/(?!core/)', pathNot: '^node_modules' } },
    { name: 'core-no-node-io', severity: 'error', from: { path: '^src/core/' }, to: { dependencyTypes: ['npm', 'npm-dev'] } },
    { name: 'balancer-only-core', severity: 'error', from: { path: '^src/balancer/' }, to: { path: '^src/', pathNot: pure } },
    { name: 'balancer-no-io', severity: 'error', from: { path: '^src/balancer/', pathNot: '\\.test\\.ts$' }, to: { dependencyTypes: ['core'], pathNot: '^node:?(assert|test)' } },
    { name: 'health-pure-parts', severity: 'error', comment: 'health imports only core (the active checker may use node I/O)', from: { path: '^src/health/' }, to: { path: '^src/(?!(core|health)/)' } },
    { name: 'retry-pure', severity: 'error', comment: 'retry policy, budget and backoff import only core', from: { path: '^src/retry/' }, to: { path: '^src/(?!(core|retry)/)' } },
    { name: 'traffic-pure', severity: 'error', comment: 'routes, splits, rollout FSM, experiments and their statistics import only core', from: { path: '^src/traffic/' }, to: { path: '^src/(?!(core|traffic)/)' } },
    { name: 'proxy-never-reads-config', severity: 'error', from: { path: '^src/proxy/' }, to: { path: '^src/config/' } },
    { name: 'admin-via-runtime', severity: 'error', from: { path: '^src/admin/' }, to: { path: '^src/(proxy|balancer|health)/' } },
    { name: 'nothing-imports-cli-or-main', severity: 'error', from: { path: '^src/(?!cli/|main\\.ts)' }, to: { path: '^src/(cli/|main\\.ts)' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
  },
};
