import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { ALARM_EVENT_EVENT, ALARM_FORWARD_EVENT, ALARM_SENT_EVENT, topics, type AlarmEventReport, type AlarmForward, type AlarmPanelConfig, type AlarmSentReport } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { SERIAL } from '../test/util.js';
import { callBox, eventDetails, startRelayBox } from './test/box.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the alarm log reports of the relay', () => {
  it('reports each stored event and its delivery by either path through the outbox, but neither NULL messages nor retransmissions', async () => {
    const { receiver, cloud, lines } = await startRelayBox(cleanups, { ABC123: null });
    const config: AlarmPanelConfig = {
      account: '1234',
      deviceId: 'panel-1',
      arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: 'ABC123' },
      connectionMode: 'direct_or_server',
      retry: { ackTimeoutMs: 200, attempts: 2, backoffMs: 150, backoffMaxMs: 300 },
      pollingMs: 0,
      eventTypes: ARC_EVENT_TYPES.filter((t) => t !== 'arm_disarm'),
    };
    expect(await callBox(cloud, 'alarms.configure', { panels: [config] })).toMatchObject({ ok: true });
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());

    const burglary = panelFrame({ sequence: 1, data: '#1234|1130 01 005' });
    expect(await panel.request(burglary)).toMatchObject({ id: 'ACK', sequence: 1 });
    // The panel did not hear the ACK and sends the same message again; then a link test; then an opening the ARC does not receive.
    expect(await panel.request(burglary)).toMatchObject({ id: 'ACK', sequence: 1 });
    expect(await panel.request(panelFrame({ id: 'NULL', sequence: 2, data: '' }))).toMatchObject({ id: 'ACK', sequence: 2 });
    expect(await panel.request(panelFrame({ sequence: 3, data: '#1234|1401 01 007' }))).toMatchObject({ id: 'ACK', sequence: 3 });

    const stored = () => [...new Map(eventDetails<AlarmEventReport>(cloud, ALARM_EVENT_EVENT).map((r) => [r.eventId, r])).values()];
    const sent = () => eventDetails<AlarmSentReport>(cloud, ALARM_SENT_EVENT);
    await waitUntil(() => stored().length === 2 && sent().length > 0, 'the reports of two events and one delivery');
    const [alarm, opening] = stored();
    expect(alarm).toMatchObject({
      panel: '1234',
      deviceId: 'panel-1',
      token: 'ADM-CID',
      event: { code: '130', restore: false, zone: '005', area: '01', description: 'Burglary' },
      types: ['alarm'],
      forwarded: true,
    });
    expect(opening).toMatchObject({ event: { code: '401', zone: null, area: '01' }, types: ['arm_disarm'], forwarded: false });
    expect(sent()[0]).toMatchObject({ eventId: alarm!.eventId, panel: '1234', deviceId: 'panel-1', path: 'direct' });
    expect(sent()[0]!.ackedAt).toBeGreaterThanOrEqual(alarm!.receivedAt);
    // In the outbox's order: an event before its delivery.
    const kinds = cloud.received.map((m) => m.topic).filter((t) => t === topics.event(SERIAL, ALARM_EVENT_EVENT) || t === topics.event(SERIAL, ALARM_SENT_EVENT));
    expect(kinds[0]).toBe(topics.event(SERIAL, ALARM_EVENT_EVENT));
    expect(receiver.messages.filter((m) => !m.duplicate)).toHaveLength(1);
    // The kept event is never delivered, and nothing else is reported.
    expect(stored()).toHaveLength(2);
    expect(new Set(sent().map((s) => s.eventId))).toEqual(new Set([alarm!.eventId]));

    // Delivered through the server path: reported as such.
    await receiver.down();
    expect(await panel.request(panelFrame({ sequence: 4, data: '#1234|1110 01 002' }))).toMatchObject({ id: 'ACK', sequence: 4 });
    await waitUntil(() => eventDetails<AlarmForward>(cloud, ALARM_FORWARD_EVENT).length > 0, 'the fire alarm handed to the server path');
    const fire = eventDetails<AlarmForward>(cloud, ALARM_FORWARD_EVENT)[0]!;
    expect(await callBox(cloud, 'alarms.delivered', { eventIds: [fire.eventId] })).toMatchObject({ ok: true });
    await waitUntil(() => sent().some((s) => s.eventId === fire.eventId), 'the server delivery reported');
    expect(sent().find((s) => s.eventId === fire.eventId)).toMatchObject({ path: 'server', deviceId: 'panel-1' });
    expect(stored().find((r) => r.eventId === fire.eventId)).toMatchObject({ types: ['fire'], forwarded: true, event: { code: '110', description: 'Fire' } });
  });
});
