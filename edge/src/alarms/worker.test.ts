import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { ALARM_PATH_EVENT, topics, type AlarmPanelConfig, type AlarmPathReport, type AlarmsStatusResult } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeCloud } from '../test/cloud.js';
import { SERIAL } from '../test/util.js';
import { callBox, eventDetails, startRelayBox } from './test/box.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { nextEvent, waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const pathEvents = (cloud: FakeCloud): AlarmPathReport[] => eventDetails<AlarmPathReport>(cloud, ALARM_PATH_EVENT);

describe('alarm relay worker on the bus', () => {
  it('is configured by RPC, relays, reports its path through the outbox, and resumes its queue after kill -9', async () => {
    const { receiver, cloud, lines, agent } = await startRelayBox(cleanups, { ABC123: null });

    const panelConfig: AlarmPanelConfig = {
      account: '1234',
      deviceId: 'panel-1',
      arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
      connectionMode: 'direct_or_server',
      retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 150, backoffMaxMs: 300 },
      pollingMs: 250,
      eventTypes: [...ARC_EVENT_TYPES],
    };
    const configured = await callBox(cloud, 'alarms.configure', { panels: [panelConfig] });
    expect(configured).toEqual({ ok: true, result: { revision: 1, panels: 1, applied: true } });
    const bad = await callBox(cloud, 'alarms.configure', { panels: [panelConfig, { ...panelConfig, account: '1234' }] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'RPC_BAD_PARAMS' } });

    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());
    const first = nextEvent(receiver, 'message');
    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001' }))).toMatchObject({ id: 'ACK', sequence: 1 });
    expect((await first)[0]).toMatchObject({ account: 'ABC123', data: '#ABC123|1130 01 001' });

    const status = await callBox(cloud, 'alarms.status', {});
    expect(status.ok).toBe(true);
    const s = (status as { result: AlarmsStatusResult }).result;
    expect(s).toMatchObject({ revision: 1, applied: true, listening: { host: '127.0.0.1', tcp: listen.tcp } });
    expect(s.panels[0]).toMatchObject({ account: '1234', deviceId: 'panel-1', path: 'ok' });
    await waitUntil(async () => {
      const r = await callBox(cloud, 'alarms.status', {});
      return r.ok && (r.result as AlarmsStatusResult).timing.count === 1;
    }, 'the delivery in the statistics');

    // The receiver goes away: the failure reaches the cloud as an alarm.path event through the outbox.
    await receiver.down();
    await cloud.waitFor((m) => m.topic === topics.event(SERIAL, ALARM_PATH_EVENT));
    expect(pathEvents(cloud)[0]).toMatchObject({ panel: '1234', deviceId: 'panel-1', state: 'failed', arc: { account: 'ABC123' } });

    // Events queue meanwhile; the relay process is killed outright with them on disk, and restarted.
    for (let zone = 2; zone <= 4; zone++) await panel.request(panelFrame({ sequence: zone, data: `#1234|1130 01 00${zone}` }));
    const pid = agent.workers.info()[0]?.pid ?? 0;
    const restarted = new Promise<number>((resolve) => agent.workers.once('ready', (_n, p) => resolve(p)));
    process.kill(pid, 'SIGKILL');
    expect(await restarted).not.toBe(pid);
    await receiver.up();
    await waitUntil(() => receiver.messages.filter((m) => !m.duplicate).length === 4, 'the queue delivered');
    const unique = receiver.messages.filter((m) => !m.duplicate);
    expect(unique.map((m) => m.data)).toEqual(['#ABC123|1130 01 001', '#ABC123|1130 01 002', '#ABC123|1130 01 003', '#ABC123|1130 01 004']);
    expect(unique.map((m) => m.sequence)).toEqual([1, 2, 3, 4]);
    await cloud.waitFor((m) => m.topic === topics.event(SERIAL, ALARM_PATH_EVENT) && pathEvents(cloud).some((r) => r.state === 'ok'));
    expect(pathEvents(cloud).map((r) => r.state)).toEqual(['failed', 'ok']);
  });
});
