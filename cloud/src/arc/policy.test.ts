import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devices } from '../db/schema.js';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers } from '../testing/edge.js';
import { forwardingPolicy } from './policy.js';
import { addPanel, registerArc } from './testing.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let arc: Awaited<ReturnType<typeof registerArc>>;
let site: string;

const KEY = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';
const settings = (accountNumber: string) => ({ accountNumber, eventTypes: ['alarm', 'periodic_test'], connectionMode: 'server_only' });
const policyOf = (deviceId: string) => forwardingPolicy(cloud.ctx.db, deviceId, cloud.ctx.vault);

/** A panel of the site, entrusted to the ARC with this account number (pending acceptance). */
async function entrusted(accountNumber: string): Promise<string> {
  const panel = await addPanel(players, installer.client, site);
  expect((await installer.client.call('PUT', `/sites/${site}/arc/panels/${panel}`, settings(accountNumber))).status).toBe(200);
  return panel;
}

const arcDoes = async (panel: string, action: string) => expect((await arc.client.post(`/arc/entrusted-devices/${panel}/${action}`)).status).toBe(200);

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api, 'Policy Installers');
  arc = await registerArc(cloud.api, 'Policy ARC');
  // A primary receiver that encrypts account 00A1, and a backup that does not.
  const receiver = (name: string, host: string, accounts: unknown[]) => ({ name, host, port: 7001, transport: 'tcp', accounts });
  expect((await arc.client.post('/arc/receivers', receiver('Primary', '203.0.113.10', [{ accountNumber: '00a1', encrypted: true, key: KEY }]))).status).toBe(201);
  expect((await arc.client.post('/arc/receivers', receiver('Backup', 'backup.arc.example', []))).status).toBe(201);
  site = (await installer.client.post<{ id: string }>('/sites', { name: 'Policy flat', type: 'personal', timeZone: 'UTC' })).body.id;
  await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

describe('forwardingPolicy: whether a panel’s events may go to its ARC now', () => {
  it('allows nothing before the ARC accepts, then names the receivers in order with the account’s key', async () => {
    const panel = await entrusted('00A1');
    expect(await policyOf(panel)).toEqual({ allowed: false, reason: 'awaiting_acceptance' });
    await arcDoes(panel, 'accept');
    expect(await policyOf(panel)).toEqual({
      allowed: true,
      arc: { companyId: arc.companyId, arcId: arc.arcId },
      accountNumber: '00A1',
      eventTypes: ['alarm', 'periodic_test'],
      connectionMode: 'server_only',
      transmission: { impulseCountingTimeSec: 10, attempts: 3, pollingRateSec: 0 },
      receivers: [
        { receiverId: expect.any(String), host: '203.0.113.10', port: 7001, transport: 'tcp', encryptionKey: KEY.toUpperCase() },
        { receiverId: expect.any(String), host: 'backup.arc.example', port: 7001, transport: 'tcp', encryptionKey: null },
      ],
    });
  });

  it('allows nothing for a device without the service, nor while suspended', async () => {
    expect(await policyOf('00000000-0000-4000-8000-000000000000')).toEqual({ allowed: false, reason: 'not_entrusted' });
    const panel = await entrusted('00A2');
    await arcDoes(panel, 'accept');
    await arcDoes(panel, 'suspend');
    expect(await policyOf(panel)).toEqual({ allowed: false, reason: 'suspended' });
    await arcDoes(panel, 'resume');
    expect((await policyOf(panel)).allowed).toBe(true);
  });

  it('keeps the accepted event types while a change waits for the ARC’s approval', async () => {
    const panel = await entrusted('00A3');
    await arcDoes(panel, 'accept');
    await installer.client.call('PUT', `/sites/${site}/arc/panels/${panel}`, { ...settings('00A3'), eventTypes: ['alarm', 'fire', 'tamper'] });
    expect(await policyOf(panel)).toMatchObject({ allowed: true, eventTypes: ['alarm', 'periodic_test'] });
    await arcDoes(panel, 'event-types/approve');
    expect(await policyOf(panel)).toMatchObject({ allowed: true, eventTypes: ['alarm', 'fire', 'tamper'] });
  });

  it('allows nothing once rejected, disabled by the installer, or the site’s authorization withdrawn', async () => {
    const rejected = await entrusted('00A4');
    await arcDoes(rejected, 'reject');
    expect(await policyOf(rejected)).toEqual({ allowed: false, reason: 'not_entrusted' });

    const disabled = await entrusted('00A5');
    await arcDoes(disabled, 'accept');
    await installer.client.delete(`/sites/${site}/arc/panels/${disabled}`);
    expect(await policyOf(disabled)).toEqual({ allowed: false, reason: 'not_entrusted' });

    const withdrawn = await entrusted('00A6');
    await arcDoes(withdrawn, 'accept');
    expect((await policyOf(withdrawn)).allowed).toBe(true);
    await installer.client.delete(`/sites/${site}/arc/authorization`);
    expect(await policyOf(withdrawn)).toEqual({ allowed: false, reason: 'not_entrusted' });
  });

  it('allows nothing for a panel moved to a site that is not authorized to its ARC', async () => {
    await installer.client.call('PUT', `/sites/${site}/arc/authorization`, { arcCompanyId: arc.companyId });
    const panel = await entrusted('00A7');
    await arcDoes(panel, 'accept');
    const elsewhere = (await installer.client.post<{ id: string }>('/sites', { name: 'Elsewhere', type: 'personal', timeZone: 'UTC' })).body.id;
    await cloud.ctx.db.update(devices).set({ siteId: elsewhere }).where(eq(devices.id, panel));
    expect(await policyOf(panel)).toEqual({ allowed: false, reason: 'site_not_authorized' });
  });

  it('allows nothing while the ARC has no receiver', async () => {
    const bare = await registerArc(cloud.api, 'Receiverless ARC');
    const flat = (await installer.client.post<{ id: string }>('/sites', { name: 'Bare flat', type: 'personal', timeZone: 'UTC' })).body.id;
    await installer.client.call('PUT', `/sites/${flat}/arc/authorization`, { arcCompanyId: bare.companyId });
    const panel = await addPanel(players, installer.client, flat);
    await installer.client.call('PUT', `/sites/${flat}/arc/panels/${panel}`, settings('0B01'));
    await bare.client.post(`/arc/entrusted-devices/${panel}/accept`);
    expect(await policyOf(panel)).toEqual({ allowed: false, reason: 'no_receiver' });
  });
});
