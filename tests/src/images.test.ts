import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '@vigil/cloud/testing';
import { ENTRY, ROOT, startProcess, type Proc } from './harness/process.js';
import { scenarioDir } from './harness/system.js';

/**
 * There is no container engine here, so the images are checked by running exactly what they run: the
 * build commands are the repository's, and each CMD is a built entry point the harness also starts.
 */
const images = join(ROOT, 'images');
const read = (name: string) => readFileSync(join(images, name), 'utf8');

function cmdOf(dockerfile: string): string[] {
  const lines = read(dockerfile).split('\n').filter((l) => l.startsWith('CMD '));
  return JSON.parse(lines.at(-1)!.slice(4)) as string[];
}
function envOf(dockerfile: string): Record<string, string> {
  const text = read(dockerfile).replace(/\\\n\s*/g, ' ');
  const env: Record<string, string> = {};
  for (const line of text.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  return env;
}
function composeCommand(service: string): string[] {
  const text = read('compose.yaml');
  const block = text.slice(text.indexOf(`\n  ${service}:`));
  const m = /\n {4}command: (\[.*\])/.exec(block);
  return JSON.parse(m![1]!) as string[];
}
const rel = (p: string) => relative(ROOT, p);

const procs: Proc[] = [];
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const d of drops) await d();
});

describe('images', () => {
  it('build with the repository commands and run the built entry points the tests run', () => {
    for (const [file, entry] of [['Dockerfile.cloud', ENTRY.cloud], ['Dockerfile.edge', ENTRY.edge], ['Dockerfile.simulators', ENTRY.sim]] as const) {
      expect(read(file)).toMatch(/npm ci .*&& npm run build/);
      const cmd = cmdOf(file);
      expect(cmd[0]).toBe('node');
      expect(cmd[1]).toBe(rel(entry));
      expect(existsSync(entry)).toBe(true);
    }
    expect(composeCommand('cloud')).toEqual(cmdOf('Dockerfile.cloud'));
    expect(composeCommand('edge')).toEqual(cmdOf('Dockerfile.edge'));
    expect(composeCommand('simulators')).toEqual(cmdOf('Dockerfile.simulators'));
    const unit = read('vigil-edge.service');
    expect(unit).toContain(`ExecStart=/usr/bin/node ${rel(ENTRY.edge)}`);
    expect(unit).toContain('RestartPreventExitStatus=78');
  });

  it('start as the images start them, on loopback ports', async () => {
    const dir = scenarioDir('images');
    const db = await freshDatabase();
    drops.push(db.drop);
    const [, cloudEntry] = cmdOf('Dockerfile.cloud');
    const cloud = await startProcess({
      name: 'cloud',
      entry: join(ROOT, cloudEntry!),
      logDir: dir,
      env: { ...envOf('Dockerfile.cloud'), VIGIL_HTTP_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_DATA_DIR: join(dir, 'cloud'), DATABASE_URL: db.url },
      ready: (l) => l.ready === true,
    });
    procs.push(cloud);
    const url = String(cloud.lines.find((l) => l.ready)!.url);
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);

    const [, simEntry, ...simArgs] = cmdOf('Dockerfile.simulators');
    const loopbackArgs = simArgs.map((a, i) => (simArgs[i - 1] === '--host' ? '127.0.0.1' : simArgs[i - 1]?.endsWith('-port') ? '0' : a));
    const sims = await startProcess({ name: 'simulators', entry: join(ROOT, simEntry!), args: loopbackArgs, logDir: dir, ready: (l) => l.ready === true });
    procs.push(sims);
    expect((sims.lines.find((l) => l.ready)!.cameras as unknown[]).length).toBe(2);

    const [, edgeEntry] = cmdOf('Dockerfile.edge');
    const edge = await startProcess({
      name: 'edge',
      entry: join(ROOT, edgeEntry!),
      logDir: dir,
      env: { ...envOf('Dockerfile.edge'), VIGIL_EDGE_DATA_DIR: join(dir, 'edge'), VIGIL_EDGE_SERIAL: 'VGIMAGE0001', VIGIL_EDGE_VERIFICATION_CODE: 'IMAGE2026', VIGIL_CLOUD_URL: url },
      ready: (l) => l.event === 'connected',
    });
    procs.push(edge);
    expect(edge.lines.find((l) => l.event === 'connected')?.mode).toBe('claim');
  });
});
