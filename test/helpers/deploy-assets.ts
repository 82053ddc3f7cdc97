// Readers for the files in deploy/ that have no parser at hand (Dockerfile, .dockerignore,
// systemd units), the CLI surface as `sibyl --help` prints it, and the files the CLI loads.
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { runSibyl } from './sibyl-cli.ts';

export const REPO = new URL('../../', import.meta.url).pathname;

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the build stage (FROM) it belongs to. */
  readonly stage: number;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage++;
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), stage });
  }
  return out;
}

/** A .dockerignore pattern as a RegExp over paths relative to the build context. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((p) => {
      // "**/" matches any depth, "*" stays within one path segment
      const body = p
        .replace(/^\//, '')
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('(?:.*/)?');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  return (path) => patterns.some((re) => re.test(path));
}

/** Sections of a systemd unit: section -> key -> values (a key may repeat). */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** Subcommands of `sibyl` and the long flags each accepts, from the real `--help` output. */
export async function cliSurface(commands: readonly string[]): Promise<Map<string, Set<string>>> {
  const top = await runSibyl(['--help']);
  const listed = new Set([...top.stdout.matchAll(/^ {2}([a-z-]+) \[options\]/gm)].map((m) => m[1] ?? ''));
  const surface = new Map<string, Set<string>>();
  for (const command of commands) {
    if (!listed.has(command)) continue;
    const help = await runSibyl([command, '--help']);
    surface.set(command, new Set([...help.stdout.matchAll(/^ +(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1] ?? '')));
  }
  return surface;
}

/** Why `argv` (a subcommand and its flags) is not something `sibyl` accepts, or undefined. */
export function badInvocation(argv: readonly string[], surface: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  const [command = '', ...rest] = argv;
  const flags = surface.get(command);
  if (flags === undefined) return `sibyl has no subcommand ${JSON.stringify(command)}`;
  const unknown = rest.filter((a) => a.startsWith('--') && !flags.has(a.split('=')[0] ?? ''));
  return unknown.length === 0 ? undefined : `sibyl ${command} has no flag ${unknown.join(', ')}`;
}

/** The value following `flag` in argv. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

const IMPORT = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
/** `import.meta.resolve('pkg/file')`: a package file read at runtime. */
const RESOLVE = /import\.meta\.resolve\(\s*[`'"]([^`'"$]+)/g;
/** `new URL('./file', import.meta.url)`: a data file next to the code (templates are skipped). */
const DATA_FILE = /new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g;

export interface ImportGraph {
  /** Repository-relative paths of every local module reachable from the entry. */
  readonly files: Set<string>;
  /** Packages imported at runtime (type-only imports left out), by the file that imports them. */
  readonly packages: Map<string, string>;
  /** Repository-relative paths of data files the modules read beside themselves. */
  readonly dataFiles: Set<string>;
}

function packageName(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
}

/** Every local module and package that running `entry` loads, following static and dynamic imports. */
export async function importGraph(entry: string): Promise<ImportGraph> {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const dataFiles = new Set<string>();
  const queue = [join(REPO, entry)];
  while (queue.length > 0) {
    const file = queue.pop() ?? '';
    const rel = relative(REPO, file);
    if (files.has(rel)) continue;
    files.add(rel);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const specifier = m[3] ?? m[4] ?? '';
      const isTypeOnly = m[2] !== undefined;
      if (specifier.startsWith('.')) {
        queue.push(join(dirname(file), specifier));
      } else if (!specifier.startsWith('node:') && !isTypeOnly) {
        packages.set(packageName(specifier), rel);
      }
    }
    for (const m of text.matchAll(RESOLVE)) packages.set(packageName(m[1] ?? ''), rel);
    for (const m of text.matchAll(DATA_FILE)) dataFiles.add(relative(REPO, join(dirname(file), m[1] ?? '')));
  }
  return { files, packages, dataFiles };
}
