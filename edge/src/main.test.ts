import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeEnvelope, envelope, topics, type StatusData } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCloud } from './test/cloud.js';
import { CODE, Lines, SERIAL, tempDir } from './test/util.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const statusWith = (reason: StatusData['reason']) => (m: { topic: string; payload: Buffer }) => {
  if (m.topic !== topics.status(SERIAL)) return false;
  const d = decodeMessage(m.topic, m.payload);
  return d.ok && (d.value.envelope.data as StatusData).reason === reason;
};

describe('vigil-edge supervisor', () => {
  it('runs the agent, restarts it on edge.reboot, and exits 0 after SIGTERM', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    cloud.claim();

    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', main], {
      env: {
        PATH: process.env.PATH ?? '',
        VIGIL_EDGE_SERIAL: SERIAL,
        VIGIL_EDGE_VERIFICATION_CODE: CODE,
        VIGIL_CLOUD_URL: cloud.url.replace(/^ws:/, 'http:').replace(/\/mqtt$/, ''),
        VIGIL_EDGE_DATA_DIR: tmp.dir,
        VIGIL_EDGE_HEARTBEAT_SEC: '1',
        VIGIL_EDGE_DISCOVERY_INTERVAL_MS: '300',
        VIGIL_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    const lines = new Lines();
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));

    const first = await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');
    const ready = await lines.waitFor((l) => l.event === 'ready');
    expect((ready.workers as { name: string; ready: boolean }[]).map((w) => [w.name, w.ready])).toEqual([
      ['discovery', true],
      ['lan', true],
      ['alarms', true],
      ['media', true],
      ['clips', true],
    ]);

    const id = 'reboot-request-1';
    const reply = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, id));
    await cloud.publish(
      topics.command(SERIAL, 'edge.reboot'),
      encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params: {} }, { id })),
    );
    await reply;
    await cloud.waitFor(statusWith('reboot'));
    // The supervisor starts a new agent process, which comes back in edge mode with the stored secret.
    const second = await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge', 1);
    expect(second.pid).not.toBe(first.pid);
    await lines.waitFor((l) => l.event === 'ready', 1);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await cloud.waitFor(statusWith('shutdown'));
    expect(cloud.received.filter(statusWith('will'))).toHaveLength(0);
  });
});
