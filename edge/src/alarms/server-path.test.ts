import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { ALARM_FORWARD_EVENT, type AlarmForward, type AlarmPanelConfig, type AlarmsStatusResult } from '@vigil/protocol';
import type { Dc09ReceiverSimulator } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeCloud } from '../test/cloud.js';
import { callBox, eventDetails, startRelayBox } from './test/box.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The events the box handed to the cloud for the server path (the same event may come more than once). */
const forwards = (cloud: FakeCloud): AlarmForward[] => eventDetails<AlarmForward>(cloud, ALARM_FORWARD_EVENT);

async function status(cloud: FakeCloud): Promise<AlarmsStatusResult> {
  const r = await callBox(cloud, 'alarms.status', {});
  if (!r.ok) throw new Error(r.error.message);
  return r.result as AlarmsStatusResult;
}

const panelStatus = async (cloud: FakeCloud, account: string) => (await status(cloud)).panels.find((p) => p.account === account);

const startBox = () => startRelayBox(cleanups, { ABC123: null, DEF456: null });

const config = (receiver: Dc09ReceiverSimulator, over: Partial<AlarmPanelConfig> = {}): AlarmPanelConfig => ({
  account: '1234',
  deviceId: 'panel-1',
  arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
  connectionMode: 'direct_or_server',
  retry: { ackTimeoutMs: 1_000, attempts: 2, backoffMs: 150, backoffMaxMs: 300 },
  pollingMs: 0,
  eventTypes: [...ARC_EVENT_TYPES],
  ...over,
});

describe('the server path of the alarm relay', () => {
  it('hands events to the cloud while the receiver is unreachable, forgets them on alarms.delivered, and goes direct again', async () => {
    const { receiver, cloud, lines } = await startBox();
    await receiver.down();
    expect(await callBox(cloud, 'alarms.configure', { panels: [config(receiver)] })).toMatchObject({ ok: true });
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());

    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001' }))).toMatchObject({ id: 'ACK', sequence: 1 });
    await waitUntil(() => forwards(cloud).length > 0, 'the event handed to the server path');
    const first = forwards(cloud)[0]!;
    // As the ARC must see it, with the sequence number the direct path uses too.
    expect(first).toMatchObject({ panel: '1234', deviceId: 'panel-1', token: 'ADM-CID', sequence: 1, data: '#ABC123|1130 01 001', xdata: [] });
    // The status the agent holds follows the relay's reports: wait for the one after the hand-over.
    await waitUntil(async () => (await panelStatus(cloud, '1234'))?.path === 'failed', 'the failed path in the status');
    expect(await panelStatus(cloud, '1234')).toMatchObject({ path: 'failed', queued: 1 });

    // The ARC acknowledged it through the cloud: out of the queue, never sent directly afterwards.
    expect(await callBox(cloud, 'alarms.delivered', { eventIds: [first.eventId] })).toEqual({ ok: true, result: { accepted: true } });
    await waitUntil(async () => (await panelStatus(cloud, '1234'))?.queued === 0, 'the queue empty in the status');
    // Delivered once more (a retried call): still fine.
    expect(await callBox(cloud, 'alarms.delivered', { eventIds: [first.eventId] })).toEqual({ ok: true, result: { accepted: true } });

    // The receiver answers again: the next events go directly, and the path is ok.
    await receiver.up();
    expect(await panel.request(panelFrame({ sequence: 2, data: '#1234|1130 01 002' }))).toMatchObject({ id: 'ACK', sequence: 2 });
    await waitUntil(() => receiver.messages.some((m) => m.sequence === 2), 'the second event sent directly');
    await waitUntil(async () => (await panelStatus(cloud, '1234'))?.path === 'ok', 'the path ok again');
    const handed = forwards(cloud).length;
    expect(await panel.request(panelFrame({ sequence: 3, data: '#1234|1130 01 003' }))).toMatchObject({ id: 'ACK', sequence: 3 });
    await waitUntil(() => receiver.messages.some((m) => m.sequence === 3), 'the third event sent directly');
    await waitUntil(async () => (await panelStatus(cloud, '1234'))?.queued === 0, 'the queue empty again in the status');
    expect(await panelStatus(cloud, '1234')).toMatchObject({ path: 'ok', queued: 0 });
    expect(forwards(cloud).length).toBe(handed);
    expect(receiver.messages.map((m) => [m.sequence, m.data])).toEqual([
      [2, '#ABC123|1130 01 002'],
      [3, '#ABC123|1130 01 003'],
    ]);
  });

  it('never sends a server_only panel’s events directly', async () => {
    const { receiver, cloud, lines } = await startBox();
    const serverOnly = config(receiver, { account: '5678', deviceId: 'panel-2', connectionMode: 'server_only', arc: { ...config(receiver).arc, account: 'DEF456' } });
    expect(await callBox(cloud, 'alarms.configure', { panels: [serverOnly] })).toMatchObject({ ok: true });
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());

    expect(await panel.request(panelFrame({ account: '5678', id: 'SIA-DCS', sequence: 9, data: '#5678|Nri1/BA01' }))).toMatchObject({ id: 'ACK' });
    await waitUntil(() => forwards(cloud).length > 0, 'the event handed to the server path');
    const f = forwards(cloud)[0]!;
    expect(f).toMatchObject({ panel: '5678', deviceId: 'panel-2', token: 'SIA-DCS', sequence: 1, data: '#DEF456|Nri1/BA01' });
    expect(await panelStatus(cloud, '5678')).toMatchObject({ path: 'server', queued: 1 });

    expect(await callBox(cloud, 'alarms.delivered', { eventIds: [f.eventId] })).toEqual({ ok: true, result: { accepted: true } });
    expect(await panelStatus(cloud, '5678')).toMatchObject({ path: 'server', queued: 0 });
    expect(receiver.messages).toHaveLength(0);
    expect(receiver.state.counters.frames).toBe(0);
  });
});
