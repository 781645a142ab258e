import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase } from '@vigil/cloud/testing';
import { onRelease, spawnGroup } from './procs.js';

/** The built entry point an operator runs, not an in-process cloud: RSS and CPU are the real process's. */
const CLOUD_ENTRY = fileURLToPath(new URL('../../../cloud/dist/main.js', import.meta.url));

export interface CloudChild {
  pid: number;
  http: number;
  mqtt: number;
  databaseUrl: string;
  logPath: string;
  /** Stops the process, then drops its database. */
  stop(): Promise<void>;
}

/** `env` adds to the cloud's environment, e.g. VIGIL_SMTP_URL for a mail catcher. */
export async function startCloud(name: string, logDir: string, env: Record<string, string> = {}): Promise<CloudChild> {
  const db = await freshDatabase();
  const dropDb = onRelease(`${name} database`, () => db.drop());
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-cloud-'));
  const removeData = onRelease(`${name} data`, () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const child = spawnGroup(
    name,
    process.execPath,
    // e.g. BENCH_CLOUD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the cloud's time goes.
    [...(process.env.BENCH_CLOUD_NODE_ARGS ?? '').split(' ').filter(Boolean), CLOUD_ENTRY],
    { VIGIL_MQTT_TCP_PORT: '0', VIGIL_HTTP_PORT: '0', DATABASE_URL: db.url, VIGIL_LOG_LEVEL: 'warn', VIGIL_DATA_DIR: dataDir, ...env },
    logDir,
  );
  const ready = await child.waitFor((l) => l.ready === true, 'the ready line', 60_000);
  if (typeof ready.http !== 'number' || typeof ready.mqtt !== 'number') {
    throw new Error(`${name}: ready line without an http and an mqtt port: ${JSON.stringify(ready)}`);
  }
  return {
    pid: child.pid,
    http: ready.http,
    mqtt: ready.mqtt,
    databaseUrl: db.url,
    logPath: child.logPath,
    async stop() {
      await child.stop();
      await dropDb();
      await removeData();
    },
  };
}

/** One counter or gauge from the cloud's /metrics, summed over the series whose labels contain `labels`. */
export async function metric(http: number, name: string, labels = ''): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${http}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m?.[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}
