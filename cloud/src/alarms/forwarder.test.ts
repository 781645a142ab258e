import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { ALARM_FORWARD_EVENT, encodeEnvelope, envelope, topics, type AlarmForward, type AlarmsDeliveredParams } from '@vigil/protocol';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, publish, until } from '../testing/edge.js';
import { addPanel, registerArc } from '../arc/testing.js';

const KEY = '00112233445566778899AABBCCDDEEFF';

let cloud: TestCloud;
let players: EdgePlayers;
let receiver: Dc09ReceiverSimulator;
let arc: Awaited<ReturnType<typeof registerArc>>;
let box: { serial: string; edge: MqttClient };
let panel: string;
/** What the cloud told the box was delivered, in order. */
const delivered: number[] = [];
/** `alarms.delivered` calls the box left unanswered. */
const ignored: number[] = [];
let answering = true;

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  receiver = new Dc09ReceiverSimulator({ accounts: { '1A2B': KEY } });
  const at = await receiver.start();
  const installer = await registerCompany(cloud.api, 'Northern Alarms');
  arc = await registerArc(cloud.api, 'Sentinel Monitoring');
  await arc.client.post('/arc/receivers', { name: 'Primary', host: at.host, port: at.tcp, transport: 'tcp', accounts: [{ accountNumber: '1A2B', encrypted: true, key: KEY }] });
  const site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'Europe/London' })).body.id;
  await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
  box = await players.claimed(installer.client, site);
  await answerCommands(box.edge, box.serial, 'alarms.configure', () => ({ ok: true, result: { revision: 1, panels: 1, applied: true } }));
  await answerCommands<AlarmsDeliveredParams>(box.edge, box.serial, 'alarms.delivered', (p) => {
    if (!answering) {
      ignored.push(...p.eventIds);
      return null;
    }
    delivered.push(...p.eventIds);
    return { ok: true, result: { accepted: true } };
  });
  panel = await addPanel(players, installer.client, site, 'Hall panel');
  await installer.client.call('PUT', `/sites/${site}/arc/panels/${panel}`, {
    accountNumber: '1a2b',
    eventTypes: ['alarm', 'fire'],
    connectionMode: 'direct_or_server',
    transmission: { impulseCountingTimeSec: 0.2, attempts: 3, pollingRateSec: 0 },
  });
  await arc.client.post(`/arc/entrusted-devices/${panel}/accept`);
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
  await receiver?.stop();
});

const forward = (eventId: number, sequence: number): AlarmForward => ({
  eventId,
  panel: '1A2B',
  deviceId: panel,
  token: 'SIA-DCS',
  sequence,
  data: '#1A2B|Nri1/BA01',
  xdata: [],
  receivedAt: Date.now(),
});

const handOver = (f: AlarmForward) => publish(box.edge, topics.event(box.serial, ALARM_FORWARD_EVENT), encodeEnvelope(envelope('event', { at: f.receivedAt, details: f })));

const copies = (sequence: number) => receiver.messages.filter((m) => m.sequence === sequence);

describe('the server path of the alarm relay', () => {
  it('sends a handed-over event to the ARC receiver with the ARC’s account and the box’s sequence, then tells the box', async () => {
    await handOver(forward(1, 42));
    await until(async () => delivered, (d) => d.includes(1), 'alarms.delivered for event 1');
    const got = copies(42);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ account: '1A2B', sequence: 42, encrypted: true, data: '#1A2B|Nri1/BA01', duplicate: false, answer: '*ACK' });
  });

  it('keeps sending while the receiver is silent and delivers once it answers again', async () => {
    receiver.setSilent(true);
    await handOver(forward(2, 43));
    // A whole run of attempts goes unanswered: the job is retried later, not dropped.
    await until(async () => copies(43).length, (n) => n >= 4, 'sends to the silent receiver beyond one run of attempts');
    expect(delivered).not.toContain(2);
    receiver.setSilent(false);
    await until(async () => delivered, (d) => d.includes(2), 'alarms.delivered for event 2', 15_000);
    const got = copies(43);
    // Every resend carries the same sequence number: the receiver keeps the event once.
    expect(got.filter((m) => !m.duplicate)).toHaveLength(1);
    expect(got.at(-1)?.answer).toBe('*ACK');
    expect(delivered.filter((id) => id === 2)).toHaveLength(1);
  });

  it('tells the box until it answers', async () => {
    answering = false;
    await handOver(forward(5, 46));
    await until(async () => ignored, (i) => i.includes(5), 'an unanswered alarms.delivered');
    expect(copies(46)).toHaveLength(1);
    answering = true;
    await until(async () => delivered, (d) => d.includes(5), 'alarms.delivered for event 5 answered');
    // Telling the box again does not send the event again.
    expect(copies(46)).toHaveLength(1);
  });

  it('takes neither a route nor a panel from another site', async () => {
    await handOver({ ...forward(3, 44), deviceId: '00000000-0000-0000-0000-000000000000' });
    await handOver(forward(4, 45));
    await until(async () => delivered, (d) => d.includes(4), 'alarms.delivered for event 4');
    expect(copies(44)).toHaveLength(0);
    expect(delivered).not.toContain(3);
  });

  it('keeps a panel’s events in the box’s order when the receiver misses the first of them', async () => {
    receiver.setSilent(true);
    await handOver(forward(7, 48));
    // A whole run of sends of the first goes unanswered; the receiver answers again as the second arrives.
    await until(async () => copies(48).length, (n) => n >= 3, 'a run of sends of the first event to the silent receiver');
    receiver.setSilent(false);
    await handOver(forward(8, 49));
    await until(async () => delivered, (d) => d.includes(7) && d.includes(8), 'both events delivered', 15_000);
    const order = receiver.messages.filter((m) => !m.duplicate && (m.sequence === 48 || m.sequence === 49)).map((m) => m.sequence);
    expect(order).toEqual([48, 49]);
    expect(delivered.indexOf(7)).toBeLessThan(delivered.indexOf(8));
  });

  it('sends to the ARC’s backup receiver while the primary does not answer', async () => {
    const backup = new Dc09ReceiverSimulator({ accounts: { '1A2B': KEY } });
    try {
      const at = await backup.start();
      await arc.client.post('/arc/receivers', { name: 'Backup', host: at.host, port: at.tcp, transport: 'tcp', accounts: [{ accountNumber: '1A2B', encrypted: true, key: KEY }] });
      await receiver.down();
      await handOver(forward(6, 47));
      await until(async () => delivered, (d) => d.includes(6), 'alarms.delivered for event 6 through the backup');
      expect(backup.messages.map((m) => [m.sequence, m.duplicate])).toEqual([[47, false]]);
      expect(copies(47)).toHaveLength(0);
    } finally {
      await receiver.up();
      await backup.stop();
    }
  });
});
