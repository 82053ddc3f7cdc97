// deploy/: the Dockerfile, compose and systemd files cannot be run here (no Docker, no systemd as
// PID 1), so they are read and checked against the real thing: the CLI's own --help, the config
// validator, the files the CLI loads, and a real Sibyl for the image's healthcheck. Kubernetes:
// kubernetes.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { badInvocation, cliSurface, dockerignoreMatcher, flagValue, importGraph, parseDockerfile, parseUnit, REPO } from '../helpers/deploy-assets.ts';
import { findExecutable } from '../helpers/requires-tool.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const run = promisify(execFile);
const DEPLOY = join(REPO, 'deploy');
const TOKEN = 'a-test-token-of-some-length';
const surface = await cliSurface(['serve', 'validate', 'backend', 'demo']);

interface SibylToml {
  runtime?: { accept_timeout_millis?: number };
  proxy: { listen_address: string };
  admin: { listen_address: string };
  backends: { address: string }[];
  model?: { path?: string };
}
const port = (address: string): number => Number(address.split(':').at(-1));
const text = (path: string): Promise<string> => readFile(join(REPO, path), 'utf8');

async function validates(path: string, env: Record<string, string> = {}): Promise<void> {
  const result = await runSibyl(['validate', '--config', path], { env });
  assert.equal(result.code, 0, `${path}: ${result.stdout}${result.stderr}`);
}

describe('example configs', () => {
  test('every shipped TOML passes `sibyl validate` (container ones with their token)', async () => {
    for (const file of ['minimal.toml', 'adaptive.toml', 'ip-hash.toml', 'production.toml']) await validates(join(REPO, 'examples', file));
    await validates(join(DEPLOY, 'systemd/sibyl.toml'));
    await validates(join(DEPLOY, 'sibyl.toml'), { SIBYL_ADMIN_TOKEN: TOKEN });
  });

  test('the container config is refused without SIBYL_ADMIN_TOKEN: its admin listener is not loopback', async () => {
    const result = await runSibyl(['validate', '--config', join(DEPLOY, 'sibyl.toml')]);
    assert.equal(result.code, 1);
    assert.match(result.stdout + result.stderr, /admin\.token: required/);
  });
});

describe('Dockerfile', () => {
  const config = async (): Promise<SibylToml> => parseToml(await text('deploy/sibyl.toml')) as unknown as SibylToml;

  test('builds from node:24 in stages, installs production dependencies only, runs unprivileged', async () => {
    const steps = parseDockerfile(await text('deploy/Dockerfile'));
    const froms = steps.filter((s) => s.keyword === 'FROM');
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) assert.match(from.args, /^node:24[-.\w]*\b/);
    assert.ok(steps.some((s) => s.keyword === 'RUN' && /npm ci --omit=dev/.test(s.args)));
    const last = froms.length - 1;
    const user = steps.filter((s) => s.stage === last && s.keyword === 'USER').at(-1);
    assert.ok(user !== undefined && !['root', '0'].includes(user.args), 'a non-root USER in the final stage');
  });

  test('exposes the ports of its config, and the healthcheck probes /health/live on the admin port', async () => {
    const steps = parseDockerfile(await text('deploy/Dockerfile'));
    const cfg = await config();
    const exposed = steps.filter((s) => s.keyword === 'EXPOSE').flatMap((s) => s.args.split(/\s+/).map(Number));
    assert.deepEqual(exposed.sort(), [port(cfg.proxy.listen_address), port(cfg.admin.listen_address)].sort());
    const health = steps.find((s) => s.keyword === 'HEALTHCHECK')?.args ?? '';
    assert.ok(health.includes(`127.0.0.1:${port(cfg.admin.listen_address)}/health/live`), health);
  });

  test('the entrypoint and command are a real `sibyl serve` of the config baked into the image', async () => {
    const steps = parseDockerfile(await text('deploy/Dockerfile'));
    const entrypoint = JSON.parse(steps.find((s) => s.keyword === 'ENTRYPOINT')?.args ?? '[]') as string[];
    assert.deepEqual(entrypoint, ['node', '/app/bin/sibyl.js']);
    const cmd = JSON.parse(steps.find((s) => s.keyword === 'CMD')?.args ?? '[]') as string[];
    assert.equal(badInvocation(cmd, surface), undefined);
    const copies = steps.filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'));
    assert.ok(copies.some((c) => c.args === `deploy/sibyl.toml ${flagValue(cmd, '--config')}`), 'the --config file is copied from deploy/sibyl.toml');
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) assert.ok(existsSync(join(REPO, source)), `COPY ${source}: no such file`);
    }
  });

  test('the image holds every file `sibyl` loads, and every package it imports is a production dependency', async () => {
    const steps = parseDockerfile(await text('deploy/Dockerfile'));
    const copied = steps.filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from')).map((s) => s.args.split(/\s+/)[0] ?? '');
    const ignored = dockerignoreMatcher(await text('.dockerignore'));
    const graph = await importGraph('bin/sibyl.js');
    const missing = [...graph.files, ...graph.dataFiles].filter((f) => ignored(f) || !copied.some((c) => f === c || f.startsWith(`${c}/`)));
    assert.deepEqual(missing, [], 'files the CLI loads but the image lacks');
    const pkg = JSON.parse(await text('package.json')) as { dependencies: Record<string, string> };
    const devOnly = [...graph.packages].filter(([name]) => pkg.dependencies[name] === undefined).map(([name, by]) => `${name} (imported by ${by})`);
    assert.deepEqual(devOnly, [], 'packages npm ci --omit=dev would not install');
    assert.ok(ignored('src/config/schema.test.ts') && ignored('test/e2e/demo.test.ts') && !ignored('src/main.ts'));
  });

  describe('healthcheck command against a real Sibyl', () => {
    let backend: TestBackend;
    let sibyl: SibylProcess;
    before(async () => {
      backend = await startTestBackend('app');
      sibyl = await startSibyl(`[proxy]\nlisten_address = "127.0.0.1:0"\n[admin]\nlisten_address = "127.0.0.1:0"\ntoken = "${TOKEN}"\n[health]\nenabled = false\n[[backends]]\naddress = "${backend.address}"\n`);
    });
    after(async () => {
      await sibyl?.stop();
      await backend?.close();
    });

    test('exits 0 while Sibyl is alive (no token needed) and 1 when nothing answers', async () => {
      const steps = parseDockerfile(await text('deploy/Dockerfile'));
      const argv = JSON.parse((steps.find((s) => s.keyword === 'HEALTHCHECK')?.args ?? '').replace(/^.*?CMD\s+/, '')) as string[];
      assert.equal(argv[0], 'node');
      const script = argv.slice(1);
      const live = script.map((a) => a.replace('127.0.0.1:9090', new URL(sibyl.adminUrl).host));
      await run(process.execPath, live);
      const dead = script.map((a) => a.replace('127.0.0.1:9090', '127.0.0.1:1'));
      await assert.rejects(run(process.execPath, dead), (err: { code?: number }) => err.code === 1);
    });
  });
});

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  secrets?: string[];
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets: Record<string, { environment?: string }>;
}

describe('docker-compose.yml', async () => {
  const compose = parseYaml(await text('deploy/docker-compose.yml'), { merge: true }) as Compose;
  const sibylImage = (s: ComposeService): boolean => s.image === 'sibyl:local';

  test('every Sibyl-image service runs a real subcommand with real flags', () => {
    const services = Object.entries(compose.services).filter(([, s]) => sibylImage(s));
    assert.ok(services.length >= 4);
    for (const [name, service] of services) {
      assert.deepEqual(service.build, { context: '..', dockerfile: 'deploy/Dockerfile' }, name);
      assert.equal(badInvocation(service.command ?? [], surface), undefined, name);
    }
  });

  test('every bind mount exists; sibyl serves the mounted deploy/sibyl.toml with its token', async () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('./')) assert.ok(existsSync(join(DEPLOY, source)), `${volume}: no such file`);
      }
    }
    const sibyl = compose.services.sibyl;
    assert.ok(sibyl !== undefined);
    const configPath = flagValue(sibyl.command ?? [], '--config');
    assert.ok(sibyl.volumes?.includes(`./sibyl.toml:${configPath}:ro`));
    assert.match(sibyl.environment?.SIBYL_ADMIN_TOKEN ?? '', /^\$\{SIBYL_ADMIN_TOKEN:\?/, 'compose refuses to start without the token');
  });

  test('ports, model volume and stop grace period match the config', async () => {
    const cfg = parseToml(await text('deploy/sibyl.toml')) as unknown as SibylToml;
    const sibyl = compose.services.sibyl;
    const published = (sibyl?.ports ?? []).map((p) => Number(p.split(':').at(-1)));
    assert.deepEqual(published, [port(cfg.proxy.listen_address), port(cfg.admin.listen_address)]);
    assert.ok((sibyl?.ports ?? []).some((p) => p === `127.0.0.1:${port(cfg.admin.listen_address)}:${port(cfg.admin.listen_address)}`), 'admin published on loopback only');
    assert.ok(sibyl?.volumes?.some((v) => v.endsWith(`:${posix.dirname(cfg.model?.path ?? '')}`)), 'the model directory is a volume');
    const grace = Number(/^(\d+)s$/.exec(sibyl?.stop_grace_period ?? '')?.[1]);
    assert.ok(grace * 1000 > (cfg.runtime?.accept_timeout_millis ?? Infinity), 'docker stop waits for the drain');
  });

  test('each backend of the config is a compose service listening on that port, health-checked there', async () => {
    const cfg = parseToml(await text('deploy/sibyl.toml')) as unknown as SibylToml;
    for (const { address } of cfg.backends) {
      const [host = '', p = ''] = address.split(':');
      const service = compose.services[host];
      assert.ok(service !== undefined, `no compose service ${host}`);
      const argv = service.command ?? [];
      assert.equal(argv[0], 'backend');
      assert.equal(flagValue(argv, '--listen'), `0.0.0.0:${p}`);
      assert.ok(service.healthcheck?.test.join(' ').includes(`127.0.0.1:${p}/health`), `${host} health-checked on its own port`);
    }
  });

  test('Prometheus reads its config from the mounted deploy/prometheus and the token from the secret', async () => {
    const prometheus = compose.services.prometheus;
    assert.ok(prometheus?.volumes?.includes('./prometheus:/etc/prometheus:ro'));
    const configFile = (prometheus?.command ?? []).find((a) => a.startsWith('--config.file='))?.split('=')[1] ?? '';
    assert.ok(existsSync(join(DEPLOY, 'prometheus', posix.relative('/etc/prometheus', configFile))));
    const scrape = parseYaml(await text('deploy/prometheus/prometheus.yml')) as { scrape_configs: { authorization: { credentials_file: string } }[] };
    const secret = posix.basename(scrape.scrape_configs[0]?.authorization.credentials_file ?? '');
    assert.ok(prometheus?.secrets?.includes(secret));
    assert.equal(compose.secrets[secret]?.environment, 'SIBYL_ADMIN_TOKEN', 'the same token Sibyl gets');
  });
});

describe('systemd unit', async () => {
  const unit = parseUnit(await text('deploy/systemd/sibyl.service'));
  const service = unit.get('Service') ?? new Map<string, string[]>();
  const one = (key: string): string => service.get(key)?.at(-1) ?? '';
  const cfg = parseToml(await text('deploy/systemd/sibyl.toml')) as unknown as SibylToml;

  test("keeps the seed's hardening and limits", () => {
    const seed = { NoNewPrivileges: 'true', PrivateTmp: 'true', ProtectSystem: 'strict', ProtectHome: 'true', LimitNOFILE: '100000', LimitNPROC: '1000', Restart: 'always' };
    for (const [key, value] of Object.entries(seed)) assert.equal(one(key), value, key);
    assert.ok(one('ReadWritePaths') !== '', 'ReadWritePaths');
    assert.equal(service.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  });

  test('runs a real `sibyl serve` (and validates first) through bin/sibyl.js', () => {
    for (const key of ['ExecStartPre', 'ExecStart']) {
      const [path = '', ...argv] = one(key).split(/\s+/);
      assert.equal(path, '/opt/sibyl/bin/sibyl.js', key);
      assert.equal(badInvocation(argv, surface), undefined, key);
      assert.equal(flagValue(argv, '--config'), '/etc/sibyl/sibyl.toml');
    }
    assert.ok(one('ExecStartPre').includes(' validate '));
    // the unit runs the file itself: it must be executable with a node shebang
    accessSync(join(REPO, 'bin/sibyl.js'), constants.X_OK);
  });

  test('waits longer than the drain, and the model path is writable', () => {
    const stopSeconds = Number(one('TimeoutStopSec'));
    assert.ok(stopSeconds * 1000 > (cfg.runtime?.accept_timeout_millis ?? Infinity));
    const writable = [...(service.get('ReadWritePaths') ?? []), ...(service.get('StateDirectory') ?? []).map((d) => `/var/lib/${d}`)];
    assert.ok(writable.includes(dirname(cfg.model?.path ?? '')), `${cfg.model?.path} under ${writable.join(', ')}`);
  });

  const analyze = findExecutable('systemd-analyze');
  test('systemd-analyze verify finds nothing wrong, and rates the sandbox OK', { skip: analyze === undefined ? 'systemd-analyze is not installed' : false }, async () => {
    // verify checks that the executables exist: point them at this checkout
    const dir = await mkdtemp(join(tmpdir(), 'sibyl-unit-'));
    const file = join(dir, 'sibyl.service');
    await writeFile(file, (await text('deploy/systemd/sibyl.service')).replaceAll('/opt/sibyl/bin/sibyl.js', join(REPO, 'bin/sibyl.js')));
    const verify = await run(analyze ?? '', ['verify', file]);
    assert.equal(verify.stdout + verify.stderr, '');
    // exposure 0 (locked down) .. 10 (unsafe); 3.0 and below is "OK" or better
    await run(analyze ?? '', ['security', '--offline=true', '--threshold=30', file]);
  });
});

describe('deployment docs', () => {
  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
  const anchors = (markdown: string): Set<string> =>
    new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => (m[1] ?? '').toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-')));

  test('links into docs/operations.md, and the alerts runbook, point at real headings', async () => {
    const operations = await text('docs/operations.md');
    const known = anchors(operations);
    const links = [
      ...[...operations.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] ?? ''),
      ...[...(await text('docs/api.md')).matchAll(/operations\.md#([\w-]+)/g)].map((m) => m[1] ?? ''),
      ...[...(await text('README.md')).matchAll(/operations\.md#([\w-]+)/g)].map((m) => m[1] ?? ''),
      ...[...(await text('deploy/prometheus/alerts.yml')).matchAll(/operations\.md#([\w-]+)/g)].map((m) => m[1] ?? ''),
    ];
    assert.ok(links.length > 10);
    assert.deepEqual([...new Set(links.filter((l) => !known.has(l)))], []);
  });

  test('every deploy/ file the docs name exists', async () => {
    const operations = await text('docs/operations.md');
    const named = [...operations.matchAll(/`(deploy\/[\w./-]+)`/g)].map((m) => m[1] ?? '');
    assert.ok(named.length > 10);
    assert.deepEqual(named.filter((p) => !existsSync(join(REPO, p.replace(/\/$/, '')))), []);
  });
});
