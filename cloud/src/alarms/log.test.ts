import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ALARM_EVENT_EVENT, ALARM_SENT_EVENT, encodeEnvelope, envelope, topics, type AlarmEventReport, type AlarmSentReport } from '@vigil/protocol';
import type { ArcAlarmList, DeviceAlarmList, LiveEvent } from '@vigil/protocol/api';
import { registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, publish, until } from '../testing/edge.js';
import { addPanel, registerArc } from '../arc/testing.js';

let cloud: TestCloud;
let players: EdgePlayers;
let box: { serial: string; edge: MqttClient };
let installer: Awaited<ReturnType<typeof registerCompany>>;
let arc: Awaited<ReturnType<typeof registerArc>>;
let otherArc: Awaited<ReturnType<typeof registerArc>>;
/** Entrusted to the ARC and accepted. */
let panel: string;
/** Entrusted to the ARC, not accepted yet. */
let pendingPanel: string;
/** Another installer company and its panel. */
let stranger: Awaited<ReturnType<typeof registerCompany>>;
let strangerPanel: string;

const T0 = Date.parse('2026-11-20T10:00:00Z');

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api, 'Northern Alarms');
  arc = await registerArc(cloud.api, 'Sentinel Monitoring');
  otherArc = await registerArc(cloud.api, 'Other Monitoring');
  const site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'Europe/London' })).body.id;
  await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
  box = await players.claimed(installer.client, site);
  await answerCommands(box.edge, box.serial, 'alarms.configure', () => ({ ok: true, result: { revision: 1, panels: 1, applied: true } }));
  panel = await addPanel(players, installer.client, site, 'Hall panel');
  pendingPanel = await addPanel(players, installer.client, site, 'Garage panel');
  const enable = (deviceId: string, accountNumber: string) =>
    installer.client.call('PUT', `/sites/${site}/arc/panels/${deviceId}`, { accountNumber, eventTypes: ['alarm', 'fire'], connectionMode: 'direct_or_server' });
  await enable(panel, '1a2b');
  await enable(pendingPanel, '3C4D');
  expect((await arc.client.post(`/arc/entrusted-devices/${panel}/accept`)).status).toBe(200);
  stranger = await registerCompany(cloud.api, 'Southern Security');
  const strangerSite = (await stranger.client.post<{ id: string }>('/sites', { name: 'Shop', type: 'personal', timeZone: 'UTC' })).body.id;
  strangerPanel = await addPanel(players, stranger.client, strangerSite, 'Shop panel');
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

let nextEventId = 1;
function eventReport(over: Partial<AlarmEventReport> = {}): AlarmEventReport {
  const eventId = nextEventId++;
  return {
    eventId,
    panel: '1234',
    deviceId: panel,
    token: 'ADM-CID',
    event: { code: '130', restore: false, zone: '005', area: '01', description: 'Burglary' },
    types: ['alarm'],
    forwarded: true,
    receivedAt: T0 + eventId * 60_000,
    ...over,
  };
}

/** Publishes a report as the box's outbox does (each publish a new envelope). */
const report = (kind: string, details: AlarmEventReport | AlarmSentReport) =>
  publish(box.edge, topics.event(box.serial, kind), encodeEnvelope(envelope('event', { at: Date.now(), details })));

const inbox = (client: ApiClient, query = '') => client.get<ArcAlarmList>(`/arc/alarms${query}`);
const panelAlarms = (client: ApiClient, deviceId = panel) => client.get<DeviceAlarmList>(`/devices/${deviceId}/alarms`);

describe('the alarm log', () => {
  it('shows a forwarded event in the ARC’s inbox and on the installer’s panel, then its delivery, each once', async () => {
    const controller = new AbortController();
    const live = await fetch(`${cloud.api}/live`, { headers: { cookie: arc.client.cookie ?? '' }, signal: controller.signal });
    const reader = live.body!.getReader();
    const e = eventReport();
    await report(ALARM_EVENT_EVENT, e);
    let text = '';
    const events = () => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as LiveEvent);
    while (!events().some((ev) => ev.type === 'alarm.event')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(events().find((ev) => ev.type === 'alarm.event')).toEqual({ type: 'alarm.event', deviceId: panel });

    const waiting = await inbox(arc.client);
    expect(waiting.status).toBe(200);
    expect(waiting.body.total).toBe(1);
    expect(waiting.body.items[0]).toMatchObject({
      deviceId: panel,
      device: 'Hall panel',
      site: 'Flat 7',
      installer: 'Northern Alarms',
      account: '1A2B',
      code: '130',
      zone: '005',
      area: '01',
      description: 'Burglary',
      types: ['alarm'],
      delivery: 'waiting',
      at: new Date(e.receivedAt).toISOString(),
    });

    await report(ALARM_SENT_EVENT, { eventId: e.eventId, panel: '1234', deviceId: panel, path: 'direct', ackedAt: e.receivedAt + 85 });
    await until(() => inbox(arc.client), (r) => r.body.items[0]?.delivery === 'direct', 'the delivery in the inbox');
    // The same reports again, as after a restart of the box before its outbox saw the PUBACK: nothing changes.
    await report(ALARM_EVENT_EVENT, { ...e, forwarded: false });
    await report(ALARM_SENT_EVENT, { eventId: e.eventId, panel: '1234', deviceId: panel, path: 'server', ackedAt: e.receivedAt + 999 });
    const marker = eventReport({ forwarded: false, types: ['arm_disarm'], event: { code: '401', restore: false, zone: null, area: '01', description: 'Opening' } });
    await report(ALARM_EVENT_EVENT, marker);
    const mine = await until(() => panelAlarms(installer.client), (r) => r.body.total === 2, 'the installer’s view');
    expect(mine.body.items.map((a) => [a.code, a.delivery, a.transmissionMs, a.account])).toEqual([
      ['401', 'kept', null, '1234'],
      ['130', 'direct', 85, '1234'],
    ]);
    // A kept event is not the ARC's.
    const delivered = await inbox(arc.client);
    expect(delivered.body.total).toBe(1);
    expect(delivered.body.items[0]).toMatchObject({ delivery: 'direct', transmissionMs: 85, deliveredAt: new Date(e.receivedAt + 85).toISOString() });
  });

  it('filters and pages the inbox, newest first', async () => {
    const fire = eventReport({ types: ['fire'], event: { code: '110', restore: false, zone: '002', area: '01', description: 'Fire' } });
    await report(ALARM_EVENT_EVENT, fire);
    await until(() => inbox(arc.client), (r) => r.body.total === 2, 'the fire alarm in the inbox');
    const firstPage = await inbox(arc.client, '?pageSize=1');
    expect(firstPage.body).toMatchObject({ total: 2, items: [{ code: '110' }] });
    expect((await inbox(arc.client, '?pageSize=1&page=2')).body.items.map((a) => a.code)).toEqual(['130']);
    expect((await inbox(arc.client, '?category=fire')).body.items.map((a) => a.code)).toEqual(['110']);
    expect((await inbox(arc.client, '?category=tamper')).body.total).toBe(0);
    const from = encodeURIComponent(new Date(fire.receivedAt).toISOString());
    expect((await inbox(arc.client, `?from=${from}`)).body.items.map((a) => a.code)).toEqual(['110']);
    expect((await inbox(arc.client, `?to=${from}`)).body.total).toBe(2);
    expect((await inbox(arc.client, `?deviceId=${pendingPanel}`)).body.total).toBe(0);
    const bad = await inbox(arc.client, '?category=everything');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('shows an ARC only what was forwarded to it, and each installer only its own panels', async () => {
    // A panel the ARC has not accepted: even a box saying it forwarded the event does not put it in the inbox.
    await report(ALARM_EVENT_EVENT, eventReport({ deviceId: pendingPanel, panel: '5678' }));
    await until(() => panelAlarms(installer.client, pendingPanel), (r) => r.body.total === 1, 'the pending panel’s event');
    // A box cannot log events for a panel of another site.
    await report(ALARM_EVENT_EVENT, eventReport({ deviceId: strangerPanel }));
    const last = eventReport();
    await report(ALARM_EVENT_EVENT, last);
    await until(() => inbox(arc.client), (r) => r.body.total === 3, 'the last event');
    expect((await inbox(arc.client)).body.items.map((a) => a.deviceId)).not.toContain(pendingPanel);

    expect((await inbox(otherArc.client)).body).toEqual({ items: [], total: 0 });
    expect((await inbox(installer.client)).status).toBe(403);
    expect((await panelAlarms(arc.client)).status).toBe(404);
    expect((await panelAlarms(stranger.client)).status).toBe(404);
    expect((await panelAlarms(stranger.client, strangerPanel)).body).toEqual({ items: [], total: 0 });

    // Suspended, the ARC keeps what it received.
    expect((await arc.client.post(`/arc/entrusted-devices/${panel}/suspend`)).status).toBe(200);
    expect((await inbox(arc.client)).body.total).toBe(3);
  });
});
