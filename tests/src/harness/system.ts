import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase } from '@vigil/cloud/testing';
import { ENTRY, startProcess, type Proc } from './process.js';

export interface CameraEndpoint {
  serial: string;
  host: string;
  http: number;
  discovery: number;
}

/** Temporary folders of one scenario: logs (kept for a failed run) and data. */
export function scenarioDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `vigil-${name}-`));
}

/** The cloud process over a fresh PostgreSQL database, with test-sized timers. */
export async function startCloudProcess(dir: string, opts: { databaseUrl?: string; port?: number; host?: string; env?: Record<string, string> } = {}) {
  const db = opts.databaseUrl ? null : await freshDatabase();
  const databaseUrl = opts.databaseUrl ?? db!.url;
  const proc = await startProcess({
    name: 'cloud',
    entry: ENTRY.cloud,
    logDir: dir,
    env: {
      DATABASE_URL: databaseUrl,
      VIGIL_HTTP_PORT: String(opts.port ?? 0),
      VIGIL_HTTP_HOST: opts.host ?? '127.0.0.1',
      VIGIL_DATA_DIR: join(dir, 'cloud-data'),
      VIGIL_MIN_OFFLINE_DELAY_SEC: '1',
      VIGIL_JOB_POLL_MS: '100',
      ...opts.env,
    },
    ready: (l) => l.ready === true,
  });
  const ready = proc.lines.find((l) => l.ready === true)!;
  const port = Number(ready.http);
  return { proc, port, url: `http://${opts.host ?? '127.0.0.1'}:${port}`, databaseUrl, dropDatabase: () => db?.drop() ?? Promise.resolve() };
}

/** One camera simulator process. */
export async function startCamera(dir: string, serial: string, password: string) {
  const proc = await startProcess({
    name: `camera-${serial}`,
    entry: ENTRY.sim,
    args: ['camera', '--serial', serial, '--password', password],
    logDir: dir,
    ready: (l) => l.ready === true,
  });
  const cameras = proc.lines.find((l) => l.ready === true)!.cameras as CameraEndpoint[];
  return { proc, camera: cameras[0]! };
}

export interface EdgeBox {
  serial: string;
  code: string;
  dataDir: string;
  env: Record<string, string>;
}

export function edgeBox(dir: string, cloudUrl: string, cameras: readonly CameraEndpoint[], devicePassword: string): EdgeBox {
  const serial = `VGE${randomBytes(5).toString('hex').toUpperCase()}`;
  const code = randomBytes(4).toString('hex').toUpperCase();
  const dataDir = join(dir, `edge-${serial}`);
  return {
    serial,
    code,
    dataDir,
    env: {
      VIGIL_EDGE_SERIAL: serial,
      VIGIL_EDGE_VERIFICATION_CODE: code,
      VIGIL_CLOUD_URL: cloudUrl,
      VIGIL_EDGE_DATA_DIR: dataDir,
      VIGIL_EDGE_PROBE_TARGETS: cameras.map((c) => `${c.host}:${c.discovery}`).join(','),
      VIGIL_EDGE_DEVICE_USER: 'admin',
      VIGIL_EDGE_DEVICE_PASSWORD: devicePassword,
      VIGIL_EDGE_HEARTBEAT_SEC: '1',
      VIGIL_EDGE_DISCOVERY_INTERVAL_MS: '300',
    },
  };
}

/** Starts the edge box's supervisor and waits until its tunnel is up (claim mode or edge mode). */
export function startEdge(dir: string, box: EdgeBox, name = 'edge', netns?: string): Promise<Proc> {
  return startProcess({ name, entry: ENTRY.edge, logDir: dir, env: box.env, netns, ready: (l) => l.event === 'connected' });
}
