import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ALARM_PATH_EVENT, encodeEnvelope, envelope, mqttIdentity, topics, type AlarmPathReport, type AlarmsConfigureParams, type AlarmsStatusResult } from '@vigil/protocol';
import type { LiveEvent, SiteAlarmRelay } from '@vigil/protocol/api';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, publish, until } from '../testing/edge.js';
import { addPanel, registerArc } from '../arc/testing.js';
import { ALARM_BACKOFF, relayConfigFor } from './config.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let arc: Awaited<ReturnType<typeof registerArc>>;
let site: string;
let box: { serial: string; edge: MqttClient; password: string };
let panel: string;

const KEY = '00112233445566778899AABBCCDDEEFF';
const enable = { accountNumber: '1a2b', eventTypes: ['alarm', 'fire'], connectionMode: 'direct_or_server' };

/** Answers every `alarms.configure` on the connection and keeps what it was sent, latest last. */
async function relay(edge: MqttClient, serial: string) {
  const received: AlarmsConfigureParams[] = [];
  await answerCommands<AlarmsConfigureParams>(edge, serial, 'alarms.configure', (params) => {
    received.push(params);
    return { ok: true, result: { revision: received.length, panels: params.panels.length, applied: true } };
  });
  return received;
}

/** Waits for a push after the `seen` first ones that `ok` accepts. */
const nextPush = (received: AlarmsConfigureParams[], seen: number, ok: (p: AlarmsConfigureParams) => boolean, what: string) =>
  until(async () => received.slice(seen), (pushed) => pushed.some(ok), what).then(() => received.at(-1)!);

const decide = (decision: string) => arc.client.post(`/arc/entrusted-devices/${panel}/${decision}`);

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api, 'Northern Alarms');
  arc = await registerArc(cloud.api, 'Sentinel Monitoring');
  await arc.client.post('/arc/receivers', { name: 'Primary', host: 'receiver.example.net', port: 9999, transport: 'tcp', accounts: [{ accountNumber: '1A2B', encrypted: true, key: KEY }] });
  await arc.client.post('/arc/receivers', { name: 'Backup', host: 'backup.example.net', port: 9998, transport: 'udp', accounts: [{ accountNumber: '1A2B', encrypted: false }] });
  site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'Europe/London' })).body.id;
  await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
  box = await players.claimed(installer.client, site);
  panel = await addPanel(players, installer.client, site, 'Hall panel');
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

describe('the edge box’s alarm relay follows the ARC service', () => {
  let received: AlarmsConfigureParams[];
  const expected = () => ({
    account: '1A2B',
    deviceId: panel,
    arc: { host: 'receiver.example.net', port: 9999, transport: 'tcp', account: '1A2B', key: KEY },
    connectionMode: 'direct_or_server',
    retry: { ackTimeoutMs: 10_000, attempts: 3, ...ALARM_BACKOFF },
    pollingMs: 0,
    eventTypes: ['alarm', 'fire'],
  });

  it('relays no panel while the ARC has not accepted it', async () => {
    received = await relay(box.edge, box.serial);
    const seen = received.length;
    const enabled = await installer.client.call<{ state: string }>('PUT', `/sites/${site}/arc/panels/${panel}`, enable);
    expect(enabled.body.state).toBe('pending');
    expect((await nextPush(received, seen, () => true, 'a push after the request')).panels).toEqual([]);
  });

  it('relays the panel to the ARC’s first receiver once accepted, and no more while suspended', async () => {
    let seen = received.length;
    await decide('accept');
    const accepted = await nextPush(received, seen, (p) => p.panels.length > 0, 'the accepted panel');
    expect(accepted).toEqual({ panels: [expected()] });

    seen = received.length;
    await decide('suspend');
    expect((await nextPush(received, seen, (p) => p.panels.length === 0, 'the suspension')).panels).toEqual([]);

    seen = received.length;
    await decide('resume');
    expect(await nextPush(received, seen, (p) => p.panels.length > 0, 'the resumption')).toEqual({ panels: [expected()] });
  });

  it('follows the ARC’s receivers', async () => {
    const receivers = (await arc.client.get<{ items: { id: string; name: string }[] }>('/arc/receivers')).body.items;
    const primary = receivers.find((r) => r.name === 'Primary')!;
    const seen = received.length;
    const moved = { name: 'Primary', host: '192.0.2.10', port: 9999, transport: 'tcp', accounts: [{ accountNumber: '1A2B', encrypted: true }] };
    expect((await arc.client.call('PUT', `/arc/receivers/${primary.id}`, moved)).status).toBe(200);
    const pushed = await nextPush(received, seen, (p) => p.panels[0]?.arc.host === '192.0.2.10', 'the new receiver address');
    expect(pushed.panels[0]?.arc).toEqual({ ...expected().arc, host: '192.0.2.10' });
    await arc.client.call('PUT', `/arc/receivers/${primary.id}`, { ...moved, host: 'receiver.example.net' });
    await nextPush(received, seen, (p) => p.panels[0]?.arc.host === 'receiver.example.net', 'the receiver address back');
  });

  it('applies the panel’s impulse counting time, attempts and polling rate at once, without the ARC’s approval', async () => {
    const seen = received.length;
    const transmission = { impulseCountingTimeSec: 1.5, attempts: 5, pollingRateSec: 60 };
    const saved = await installer.client.call<{ transmission: unknown; pendingEventTypes: unknown }>('PUT', `/sites/${site}/arc/panels/${panel}`, { ...enable, transmission });
    expect(saved.body).toMatchObject({ transmission, pendingEventTypes: null });
    const pushed = await nextPush(received, seen, (p) => p.panels[0]?.retry.attempts === 5, 'the new transmission settings');
    expect(pushed.panels[0]).toMatchObject({ retry: { ackTimeoutMs: 1500, attempts: 5, ...ALARM_BACKOFF }, pollingMs: 60_000 });
    // Left out, they stay as they are; out of range, nothing changes.
    expect((await installer.client.call<{ transmission: unknown }>('PUT', `/sites/${site}/arc/panels/${panel}`, enable)).body.transmission).toEqual(transmission);
    const bad = await installer.client.call<{ code: string }>('PUT', `/sites/${site}/arc/panels/${panel}`, { ...enable, transmission: { ...transmission, attempts: 100 } });
    expect(bad.status).toBe(400);
    expect(relayRetryOf(await relayConfigFor(cloud.ctx.db, cloud.ctx.vault, box.serial))).toEqual({ ackTimeoutMs: 1500, attempts: 5 });

    const back = received.length;
    await installer.client.call('PUT', `/sites/${site}/arc/panels/${panel}`, { ...enable, transmission: { impulseCountingTimeSec: 10, attempts: 3, pollingRateSec: 0 } });
    await nextPush(received, back, (p) => p.panels[0]?.retry.attempts === 3, 'the default settings back');
  });

  it('only the site’s first online box relays its panels', async () => {
    const second = await players.claimed(installer.client, site, `VGZ${box.serial.slice(3)}`);
    const secondReceived = await relay(second.edge, second.serial);
    await until(async () => secondReceived, (r) => r.length > 0, 'a push to the second box');
    expect(secondReceived.every((p) => p.panels.length === 0)).toBe(true);
    expect((await relayConfigFor(cloud.ctx.db, cloud.ctx.vault, second.serial)).panels).toEqual([]);
    expect(await relayConfigFor(cloud.ctx.db, cloud.ctx.vault, box.serial)).toEqual({ panels: [expected()] });
    await second.edge.endAsync();
  });

  it('shows the installer how the box relays the site’s panels, without the ARC’s route, and no one else', async () => {
    const status: AlarmsStatusResult = {
      revision: 3,
      applied: true,
      reportedAt: Date.now(),
      listening: { host: '0.0.0.0', tcp: 7100, udp: 7100 },
      panels: [
        {
          account: '1A2B',
          deviceId: panel,
          arc: { host: 'receiver.example.net', port: 9999, transport: 'tcp', account: '1A2B', encrypted: true },
          connectionMode: 'direct_or_server',
          path: 'server',
          pathSince: Date.UTC(2026, 0, 2),
          queued: 2,
          oldestQueuedAt: Date.UTC(2026, 0, 2, 0, 1),
          lastAckAt: null,
          lastPanelMessageAt: Date.UTC(2026, 0, 2, 0, 2),
        },
      ],
      unrouted: 0,
      timing: { windowMs: 86_400_000, count: 10, meanMs: 120, p95Ms: 300, maxMs: 450, class: 'D4' },
    };
    await answerCommands(box.edge, box.serial, 'alarms.status', () => ({ ok: true, result: status }));
    const seen = await installer.client.get<SiteAlarmRelay>(`/sites/${site}/arc/relay`);
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual({
      serial: box.serial,
      panels: [
        {
          deviceId: panel,
          account: '1A2B',
          connectionMode: 'direct_or_server',
          path: 'server',
          pathSince: '2026-01-02T00:00:00.000Z',
          queued: 2,
          oldestQueuedAt: '2026-01-02T00:01:00.000Z',
          lastAckAt: null,
          lastPanelMessageAt: '2026-01-02T00:02:00.000Z',
        },
      ],
      timing: status.timing,
    });
    const other = await registerCompany(cloud.api, 'Other Installers');
    expect((await other.client.get<{ code: string }>(`/sites/${site}/arc/relay`)).body.code).toBe('SITE_NOT_FOUND');
    expect((await arc.client.get(`/sites/${site}/arc/relay`)).status).toBeGreaterThanOrEqual(403);
  });

  it('configures a box that connects again with the current configuration', async () => {
    await box.edge.endAsync();
    const edge = players.connect({ username: `edge:${box.serial}`, password: box.password, clientId: mqttIdentity.edgeClientId(box.serial) });
    await new Promise((resolve) => edge.once('connect', resolve));
    const again = await relay(edge, box.serial);
    expect(await nextPush(again, 0, (p) => p.panels.length > 0, 'the configuration on connect')).toEqual({ panels: [expected()] });
    box = { ...box, edge };
  });

  it('tells the installer’s portal when the box reports a path change', async () => {
    const controller = new AbortController();
    const res = await fetch(`${cloud.api}/live`, { headers: { cookie: installer.client.cookie ?? '' }, signal: controller.signal });
    const reader = res.body!.getReader();
    const report: AlarmPathReport = {
      reportId: 'r-1',
      panel: '1A2B',
      deviceId: panel,
      arc: { host: 'receiver.example.net', port: 9999, transport: 'tcp', account: '1A2B', encrypted: true },
      state: 'failed',
      at: Date.now(),
      reason: 'no ACK after 3 attempts',
      queued: 2,
    };
    await publish(box.edge, topics.event(box.serial, ALARM_PATH_EVENT), encodeEnvelope(envelope('event', { at: report.at, details: report })));
    let text = '';
    const events = () => text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as LiveEvent);
    while (!events().some((e) => e.type === 'alarm.path')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(events().find((e) => e.type === 'alarm.path')).toEqual({ type: 'alarm.path', siteId: site, serial: box.serial, report });
  });
});

const relayRetryOf = (c: AlarmsConfigureParams) => ({ ackTimeoutMs: c.panels[0]?.retry.ackTimeoutMs, attempts: c.panels[0]?.retry.attempts });

describe('a site with two edge boxes', () => {
  it('moves its panels to the other box once the relaying one is declared offline, and back when it returns', async () => {
    const flat = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 9', type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 })).body.id;
    await installer.client.call('PUT', `/sites/${flat}/arc/authorization`, { arcCompanyId: arc.companyId });
    // Serials decide which box relays while both are online: the first.
    const first = await players.claimed(installer.client, flat, `VGA${box.serial.slice(3)}`);
    const second = await players.claimed(installer.client, flat, `VGB${box.serial.slice(3)}`);
    const [toFirst, toSecond] = await Promise.all([relay(first.edge, first.serial), relay(second.edge, second.serial)]);
    const hall = await addPanel(players, installer.client, flat, 'Flat 9 panel');
    await installer.client.call('PUT', `/sites/${flat}/arc/panels/${hall}`, { ...enable, accountNumber: '9F9F' });
    await arc.client.post(`/arc/entrusted-devices/${hall}/accept`);
    await until(async () => toFirst, (r) => r.at(-1)?.panels.length === 1, 'the panel on the first box');

    const seen = toSecond.length;
    await first.edge.endAsync();
    const taken = await nextPush(toSecond, seen, (p) => p.panels.length === 1, 'the panel moved to the second box');
    expect(taken.panels[0]).toMatchObject({ account: '9F9F', deviceId: hall });

    const back = players.connect({ username: `edge:${first.serial}`, password: first.password, clientId: mqttIdentity.edgeClientId(first.serial) });
    await new Promise((resolve) => back.once('connect', resolve));
    const again = await relay(back, first.serial);
    await nextPush(again, 0, (p) => p.panels.length === 1, 'the panel back on the first box');
    await nextPush(toSecond, toSecond.length - 1, (p) => p.panels.length === 0, 'the second box giving it up');
    await Promise.all([back.endAsync(), second.edge.endAsync()]);
  });
});
