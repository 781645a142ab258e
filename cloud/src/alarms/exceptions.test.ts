import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { mqttIdentity } from '@vigil/protocol';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, until } from '../testing/edge.js';
import { addPanel, registerArc } from '../arc/testing.js';

const KEY = '00112233445566778899AABBCCDDEEFF';
const OFFLINE_DELAY_SEC = 1;

let cloud: TestCloud;
let players: EdgePlayers;
let receiver: Dc09ReceiverSimulator;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let box: { serial: string; edge: MqttClient; password: string };
/** One panel whose ARC takes device exceptions, one whose ARC does not. */
const panels = { told: '', notTold: '' };

const exceptions = (account: string) =>
  receiver.messages.filter((m) => m.account === account && !m.duplicate && m.event.kind === 'contact-id' && m.event.code === 350).map((m) => m.data);

async function boxOnline() {
  const edge = players.connect({ username: `edge:${box.serial}`, password: box.password, clientId: mqttIdentity.edgeClientId(box.serial) });
  await new Promise((resolve) => edge.once('connect', resolve));
  await answerCommands(edge, box.serial, 'alarms.configure', () => ({ ok: true, result: { revision: 1, panels: 2, applied: true } }));
  box = { ...box, edge };
}

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  receiver = new Dc09ReceiverSimulator({ accounts: { '1A2B': KEY, '3C4D': null } });
  const at = await receiver.start();
  installer = await registerCompany(cloud.api, 'Northern Alarms');
  const arc = await registerArc(cloud.api, 'Sentinel Monitoring');
  await arc.client.post('/arc/receivers', {
    name: 'Primary',
    host: at.host,
    port: at.tcp,
    transport: 'tcp',
    accounts: [
      { accountNumber: '1A2B', encrypted: true, key: KEY },
      { accountNumber: '3C4D', encrypted: false },
    ],
  });
  const site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'UTC', offlineDelaySec: OFFLINE_DELAY_SEC })).body.id;
  await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
  box = await players.claimed(installer.client, site);
  await answerCommands(box.edge, box.serial, 'alarms.configure', () => ({ ok: true, result: { revision: 1, panels: 2, applied: true } }));
  const transmission = { impulseCountingTimeSec: 0.3, attempts: 2, pollingRateSec: 0 };
  panels.told = await addPanel(players, installer.client, site, 'Hall panel');
  panels.notTold = await addPanel(players, installer.client, site, 'Garage panel');
  await installer.client.call('PUT', `/sites/${site}/arc/panels/${panels.told}`, { accountNumber: '1a2b', eventTypes: ['alarm', 'device_exception'], connectionMode: 'direct_or_server', transmission });
  await installer.client.call('PUT', `/sites/${site}/arc/panels/${panels.notTold}`, { accountNumber: '3c4d', eventTypes: ['alarm'], connectionMode: 'direct_or_server', transmission });
  for (const id of Object.values(panels)) await arc.client.post(`/arc/entrusted-devices/${id}/accept`);
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
  await receiver?.stop();
});

describe('the cloud tells the ARC when the box relaying a panel goes silent', () => {
  it('says nothing for a short outage within the offline delay', async () => {
    await box.edge.endAsync();
    await boxOnline();
    await new Promise((r) => setTimeout(r, OFFLINE_DELAY_SEC * 1000 + 700));
    expect(exceptions('1A2B')).toEqual([]);
  });

  it('reports communication trouble once the box is declared offline, and the restore when it is back', async () => {
    await box.edge.endAsync();
    await until(async () => exceptions('1A2B'), (e) => e.length === 1, 'the trouble at the receiver', 10_000);
    expect(exceptions('1A2B')).toEqual(['#1A2B|1350 00 000']);
    const trouble = receiver.messages.find((m) => m.data === '#1A2B|1350 00 000')!;
    expect(trouble).toMatchObject({ id: 'ADM-CID', encrypted: true, answer: '*ACK' });

    await boxOnline();
    await until(async () => exceptions('1A2B'), (e) => e.length === 2, 'the restore at the receiver', 10_000);
    expect(exceptions('1A2B')).toEqual(['#1A2B|1350 00 000', '#1A2B|3350 00 000']);
    // Each report has its own sequence number.
    const seqs = receiver.messages.filter((m) => m.account === '1A2B').map((m) => m.sequence);
    expect(new Set(seqs).size).toBe(2);
  });

  it('keeps trying while the receiver does not answer, and sends the report once', async () => {
    receiver.setSilent(true);
    await box.edge.endAsync();
    await until(async () => receiver.messages.filter((m) => m.data === '#1A2B|1350 00 000').length, (n) => n >= 3, 'resends to the silent receiver', 15_000);
    receiver.setSilent(false);
    await until(async () => receiver.messages.at(-1)?.answer, (a) => a === '*ACK', 'the trouble acknowledged', 15_000);
    const troubles = receiver.messages.filter((m) => m.data === '#1A2B|1350 00 000');
    const resent = troubles.filter((m) => m.sequence === troubles.at(-1)!.sequence);
    // Every resend carried the same sequence number: the receiver took it once.
    expect(resent.length).toBeGreaterThanOrEqual(3);
    expect(resent.filter((m) => !m.duplicate)).toHaveLength(1);
    await boxOnline();
    await until(async () => exceptions('1A2B'), (e) => e.length === 4, 'the second restore', 10_000);
  });

  it('tells no ARC that does not take device exceptions', () => {
    expect(exceptions('3C4D')).toEqual([]);
  });
});
