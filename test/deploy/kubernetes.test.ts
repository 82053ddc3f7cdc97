// deploy/kubernetes: the manifests are read (no cluster here) and checked against the real
// thing: the CLI's --help, `sibyl validate` on the ConfigMap's config with and without the
// Secret's token, and a real Sibyl from that config for the probe paths.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { request } from 'undici';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startTestBackend, type TestBackend } from '../helpers/backends.ts';
import { badInvocation, cliSurface, flagValue, REPO } from '../helpers/deploy-assets.ts';
import { runSibyl } from '../helpers/sibyl-cli.ts';
import { eventually, startSibyl, type SibylProcess } from '../helpers/sibyl-process.ts';

const TOKEN = 'a-test-token-of-some-length';
const surface = await cliSurface(['serve']);
const text = (path: string): Promise<string> => readFile(join(REPO, path), 'utf8');
const port = (address: string): number => Number(address.split(':').at(-1));

interface SibylToml {
  runtime?: { accept_timeout_millis?: number };
  proxy: { listen_address: string };
  admin: { listen_address: string };
  model?: { path?: string };
}

async function validates(path: string, env: Record<string, string> = {}): Promise<void> {
  const result = await runSibyl(['validate', '--config', path], { env });
  assert.equal(result.code, 0, `${path}: ${result.stdout}${result.stderr}`);
}

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  args: string[];
  image: string;
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext: { readOnlyRootFilesystem?: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  volumes: { name: string; configMap?: { name: string } }[];
}

describe('Kubernetes manifests', async () => {
  const kustomization = parseYaml(await text('deploy/kubernetes/kustomization.yaml')) as { resources: string[] };
  const objects: K8sObject[] = [];
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(await text(`deploy/kubernetes/${file}`))) objects.push(doc.toJS() as K8sObject);
  }
  const find = (kind: string, name?: string): K8sObject => {
    const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
    assert.ok(found !== undefined, `no ${kind} ${name ?? ''}`);
    return found;
  };
  const deployment = find('Deployment');
  const template = deployment.spec?.template as { metadata: { labels: Record<string, string> }; spec: PodSpec };
  const pod = template.spec;
  const container = pod.containers[0] as Container;
  const configVolume = pod.volumes.find((v) => v.configMap !== undefined);
  const configMap = find('ConfigMap', configVolume?.configMap?.name);
  const configPath = flagValue(container.args, '--config') ?? '';
  const configText = configMap.data?.[posix.basename(configPath)] ?? '';
  const cfg = parseToml(configText) as unknown as SibylToml;

  test('the kustomization lists every manifest, and includes Deployment, Service, ConfigMap, PDB and HPA', () => {
    assert.deepEqual([...kustomization.resources].sort(), ['configmap.yaml', 'deployment.yaml', 'hpa.yaml', 'pdb.yaml', 'service.yaml']);
    for (const kind of ['Deployment', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) find(kind);
  });

  test('the container runs a real `sibyl serve` of the ConfigMap, mounted as a directory', () => {
    assert.equal(badInvocation(container.args, surface), undefined);
    const mount = container.volumeMounts.find((m) => m.name === configVolume?.name);
    assert.equal(mount?.mountPath, posix.dirname(configPath), 'a directory mount (subPath would never see an update)');
    assert.ok(configText.length > 0, `the ConfigMap has no key ${posix.basename(configPath)}`);
  });

  test('the ConfigMap config validates with the token from the Secret, and not without it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sibyl-k8s-'));
    await writeFile(join(dir, 'sibyl.toml'), configText);
    await validates(join(dir, 'sibyl.toml'), { SIBYL_ADMIN_TOKEN: TOKEN });
    assert.equal((await runSibyl(['validate', '--config', join(dir, 'sibyl.toml')])).code, 1);
    const token = container.env.find((e) => e.name === 'SIBYL_ADMIN_TOKEN');
    assert.ok(token?.valueFrom?.secretKeyRef !== undefined, 'SIBYL_ADMIN_TOKEN comes from a Secret');
  });

  test('probes hit /health/live and /health/ready on the admin port, which listens beyond loopback', () => {
    const ports = new Map(container.ports.map((p) => [p.name, p.containerPort]));
    assert.equal(container.livenessProbe.httpGet.path, '/health/live');
    assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
    for (const probe of [container.livenessProbe, container.readinessProbe]) assert.equal(ports.get(probe.httpGet.port), port(cfg.admin.listen_address));
    assert.ok(cfg.admin.listen_address.startsWith('0.0.0.0:'), 'the kubelet probes the pod IP');
    assert.equal(ports.get('http'), port(cfg.proxy.listen_address));
  });

  test('Services, PDB and HPA select and target the Deployment; the proxy port only is public', () => {
    const labels = template.metadata.labels;
    const selects = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const portNames = new Set(container.ports.map((p) => p.name));
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      const spec = service.spec as { type?: string; selector: Record<string, string>; ports: { targetPort: string }[] };
      assert.ok(selects(spec.selector), service.metadata.name);
      for (const p of spec.ports) assert.ok(portNames.has(p.targetPort), `${service.metadata.name} -> ${p.targetPort}`);
      if (spec.type === 'LoadBalancer') assert.deepEqual(spec.ports.map((p) => p.targetPort), ['http']);
    }
    const pdb = find('PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } };
    assert.ok(selects(pdb.selector.matchLabels));
    const hpa = find('HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string; name: string } };
    assert.deepEqual(hpa.scaleTargetRef.kind + '/' + hpa.scaleTargetRef.name, `Deployment/${deployment.metadata.name}`);
  });

  test('the grace period outlasts preStop plus the drain; non-root; writable model directory', () => {
    const sleep = Number(container.lifecycle?.preStop?.exec?.command.at(-1) ?? 0);
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > sleep * 1000 + (cfg.runtime?.accept_timeout_millis ?? Infinity));
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, 1000, 'the node user of the image');
    if (container.securityContext.readOnlyRootFilesystem === true && cfg.model?.path !== undefined) {
      assert.ok(container.volumeMounts.some((m) => m.mountPath === posix.dirname(cfg.model?.path ?? '')), 'the model path is on a volume');
    }
  });

  describe('the ConfigMap config on a real Sibyl (loopback, local backend)', () => {
    let backend: TestBackend;
    let sibyl: SibylProcess;
    before(async () => {
      backend = await startTestBackend('app');
      const doc = parseToml(configText) as Record<string, Record<string, unknown> | unknown[]>;
      doc.proxy = { ...(doc.proxy as object), listen_address: '127.0.0.1:0' };
      doc.admin = { ...(doc.admin as object), listen_address: '127.0.0.1:0' };
      doc.backends = [{ name: 'app', address: backend.address }];
      doc.model = {};
      sibyl = await startSibyl(stringifyToml(doc), { env: { SIBYL_ADMIN_TOKEN: TOKEN } });
    });
    after(async () => {
      await sibyl?.stop();
      await backend?.close();
    });

    test('the probe paths answer without the token; /metrics needs it', async () => {
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        await eventually(async () => (await request(`${sibyl.adminUrl}${probe.httpGet.path}`).then(async (r) => (await r.body.text(), r.statusCode))) === 200);
      }
      const anonymous = await request(`${sibyl.adminUrl}/metrics`);
      await anonymous.body.text();
      assert.equal(anonymous.statusCode, 401);
      const scraped = await request(`${sibyl.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.match(await scraped.body.text(), /sibyl_config_generation/);
    });
  });
});

