import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { CODE, Lines, SERIAL, tempDir } from '../test/util.js';
import { AlarmStore } from './store.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Running, and not a zombie waiting to be reaped (an orphan's parent is whatever adopts it). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

const alarmsPid = (ready: Record<string, unknown>): number =>
  (ready.workers as { name: string; pid: number }[]).find((w) => w.name === 'alarms')?.pid ?? 0;

describe('alarm relay across an agent crash', () => {
  it('goes on relaying while the supervisor restarts a crashed agent, then hands over to the new relay', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const receiver = new Dc09ReceiverSimulator({ accounts: { ABC123: null } });
    await receiver.start();
    cleanups.push(() => receiver.stop());
    // The relay's own copy of its configuration: it needs neither the agent nor the cloud to relay.
    const store = await AlarmStore.open(tmp.dir);
    await store.saveConfig(1, {
      panels: [
        {
          account: '1234',
          arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
          connectionMode: 'direct_or_server',
          retry: { ackTimeoutMs: 300, attempts: 3, backoffMs: 200, backoffMaxMs: 400 },
          pollingMs: 0,
          eventTypes: [...ARC_EVENT_TYPES],
        },
      ],
    });
    await store.close();
    const port = await freePort();

    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', main], {
      env: {
        PATH: process.env.PATH ?? '',
        VIGIL_EDGE_SERIAL: SERIAL,
        VIGIL_EDGE_VERIFICATION_CODE: CODE,
        VIGIL_CLOUD_URL: 'http://127.0.0.1:1',
        VIGIL_EDGE_DATA_DIR: tmp.dir,
        VIGIL_EDGE_ALARM_LISTEN: `127.0.0.1:${port}`,
        VIGIL_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const relays: number[] = [];
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      for (const pid of relays) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    const lines = new Lines();
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));

    const ready = await lines.waitFor((l) => l.event === 'ready');
    const firstRelay = alarmsPid(ready);
    relays.push(firstRelay);
    expect(await lines.waitFor((l) => l.event === 'alarm-listen')).toMatchObject({ tcp: port, udp: port });
    const panel = await TestPanel.tcp(port);
    cleanups.push(() => panel.close());
    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001' }))).toMatchObject({ id: 'ACK' });
    await waitUntil(() => receiver.messages.length === 1, 'the first alarm');

    // The agent dies: its relay goes on, and takes and relays an alarm before the new agent is up.
    process.kill(ready.pid as number, 'SIGKILL');
    expect(await panel.request(panelFrame({ sequence: 2, data: '#1234|1130 01 002' }))).toMatchObject({ id: 'ACK' });
    await waitUntil(() => receiver.messages.length === 2, 'the alarm relayed without an agent');
    expect(lines.all.filter((l) => l.event === 'ready')).toHaveLength(1);
    expect(alive(firstRelay)).toBe(true);

    // The supervisor's new agent starts a new relay, which takes over the port and the queue.
    const again = await lines.waitFor((l) => l.event === 'ready', 1);
    const secondRelay = alarmsPid(again);
    relays.push(secondRelay);
    expect(secondRelay).not.toBe(firstRelay);
    await waitUntil(() => !alive(firstRelay), 'the first relay to end');
    const panel2 = await TestPanel.tcp(port);
    cleanups.push(() => panel2.close());
    expect(await panel2.request(panelFrame({ sequence: 3, data: '#1234|1130 01 003' }))).toMatchObject({ id: 'ACK' });
    await waitUntil(() => receiver.messages.length === 3, 'the alarm relayed by the new relay');
    expect(receiver.messages.map((m) => [m.sequence, m.data, m.duplicate])).toEqual([
      [1, '#ABC123|1130 01 001', false],
      [2, '#ABC123|1130 01 002', false],
      [3, '#ABC123|1130 01 003', false],
    ]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitUntil(() => !alive(secondRelay), 'the relay to stop with the edge');
  });
});
