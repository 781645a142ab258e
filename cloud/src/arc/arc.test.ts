import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArcCredentialsReply, ArcListItem, ArcPanel, ArcProfile, ArcReceiver, EntrustedPanel, ErrorReply, SiteArcService } from '@vigil/protocol/api';
import { ApiClient, registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers } from '../testing/edge.js';
import { setPanelArmed } from './panels.js';
import { verifyArcKey } from './profile.js';
import { addPanel, registerArc } from './testing.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let arc: Awaited<ReturnType<typeof registerArc>>;
let otherArc: Awaited<ReturnType<typeof registerArc>>;
let site: string;
let teamSite: string;

const enable = { accountNumber: '1A2B', eventTypes: ['alarm', 'fault', 'periodic_test'], connectionMode: 'direct_or_server' };

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api, 'Northern Alarms');
  arc = await registerArc(cloud.api, 'Sentinel Monitoring');
  otherArc = await registerArc(cloud.api, 'Beacon Response');
  site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'Europe/London' })).body.id;
  teamSite = (await installer.client.post<{ id: string }>('/sites', { name: 'Depot', type: 'team', timeZone: 'Europe/London' })).body.id;
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

const arcService = async (siteId = site) => (await installer.client.get<SiteArcService>(`/sites/${siteId}/arc`)).body;
const panelOf = async (deviceId: string) => (await arcService()).panels.find((p) => p.deviceId === deviceId)!;
const putPanel = (deviceId: string, body: unknown, client = installer.client) => client.call<ArcPanel & ErrorReply>('PUT', `/sites/${site}/arc/panels/${deviceId}`, body);
const authorize = (client: ApiClient, siteId: string, arcCompanyId: string) =>
  client.call<SiteArcService & ErrorReply>('PUT', `/sites/${siteId}/arc/authorization`, { arcCompanyId });
const decide = (client: ApiClient, deviceId: string, decision: string) => client.post<EntrustedPanel & ErrorReply>(`/arc/entrusted-devices/${deviceId}/${decision}`);
const logOf = async (client: ApiClient) => (await client.get<{ items: { content: string }[] }>('/operation-logs')).body.items.map((e) => e.content);

describe('an ARC joins the ARC list (§4.12.1)', () => {
  it('gets an ARC ID and a key shown once; a regenerated key replaces the old one; listed once configured', async () => {
    const newcomer = await registerArc(cloud.api, 'Vanguard ARC', { listed: false });
    const names = async () => (await installer.client.get<{ items: ArcListItem[] }>('/arcs')).body.items.map((a) => a.name);
    expect(await names()).not.toContain('Vanguard ARC');
    const profile = await newcomer.client.get<ArcProfile>('/arc/profile');
    expect(profile.body).toMatchObject({ status: 'credentials_issued', arcId: newcomer.arcId, regions: ['GB'], configCompletedAt: null });
    expect(JSON.stringify(profile.body)).not.toContain(newcomer.arcKey);
    expect(await verifyArcKey(cloud.ctx.db, newcomer.arcId, newcomer.arcKey)).toBe(newcomer.companyId);

    const again = await newcomer.client.post<ErrorReply>('/arc/profile', { contactEmail: newcomer.email });
    expect(again.body.code).toBe('ARC_ALREADY_APPLIED');

    const regenerated = await newcomer.client.post<ArcCredentialsReply>('/arc/profile/key');
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.arcKey).not.toBe(newcomer.arcKey);
    expect(regenerated.body.profile.arcId).toBe(newcomer.arcId);
    expect(await verifyArcKey(cloud.ctx.db, newcomer.arcId, newcomer.arcKey)).toBeNull();
    expect(await verifyArcKey(cloud.ctx.db, newcomer.arcId, regenerated.body.arcKey)).toBe(newcomer.companyId);
    expect(await verifyArcKey(cloud.ctx.db, 'ARC0000000000000000', regenerated.body.arcKey)).toBeNull();

    const completed = await newcomer.client.post<ArcProfile>('/arc/profile/config-completed');
    expect(completed.body.status).toBe('config_completed');
    expect(await names()).toContain('Vanguard ARC');
    const listed = (await installer.client.get<{ items: ArcListItem[] }>('/arcs')).body.items.find((a) => a.name === 'Vanguard ARC');
    expect(listed).toEqual({ id: newcomer.companyId, name: 'Vanguard ARC', countryCode: 'GB', regions: ['GB'], contactEmail: newcomer.email, description: 'Vanguard ARC, 24/7' });
    expect(await logOf(newcomer.client)).toEqual(
      expect.arrayContaining(['Submit Application for Joining as ARC Succeeded', 'Regenerate ARC Key Succeeded', 'ARC ID & Key Config Completed Succeeded']),
    );
  });

  it('is listed only to installers of the countries/regions it serves', async () => {
    const french = await registerArc(cloud.api, 'Veille Paris', { countryCode: 'FR' });
    const list = (await installer.client.get<{ items: ArcListItem[] }>('/arcs')).body.items;
    expect(list.map((a) => a.name)).not.toContain('Veille Paris');
    expect((await authorize(installer.client, site, french.companyId)).body.code).toBe('ARC_NOT_FOUND');
  });

  it('registers receivers with per-account encryption, validated, never giving keys back', async () => {
    const key = '00112233445566778899AABBCCDDEEFF';
    const body = { name: 'Primary', host: 'receiver.example.net', port: 9999, transport: 'tcp', accounts: [{ accountNumber: 'ab12', encrypted: true, key }] };
    const created = await arc.client.post<ArcReceiver>('/arc/receivers', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ host: 'receiver.example.net', accounts: [{ accountNumber: 'AB12', encrypted: true }] });
    expect(JSON.stringify(created.body)).not.toContain(key);

    const refusals: [unknown, number, string][] = [
      [{ ...body, host: 'not a host' }, 422, 'INVALID_ARC_RECEIVER'],
      [{ ...body, host: '300.1.1.1' }, 422, 'INVALID_ARC_RECEIVER'],
      [{ ...body, port: 70000 }, 400, 'VALIDATION_FAILED'],
      [{ ...body, transport: 'sctp' }, 400, 'VALIDATION_FAILED'],
      [{ ...body, accounts: [{ accountNumber: 'AB12', encrypted: true, key: '0011' }] }, 400, 'VALIDATION_FAILED'],
      [{ ...body, accounts: [{ accountNumber: 'AB12', encrypted: true }] }, 422, 'INVALID_ARC_RECEIVER'],
      [{ ...body, accounts: [{ accountNumber: 'AB12', encrypted: false, key }] }, 422, 'INVALID_ARC_RECEIVER'],
      [{ ...body, accounts: [{ accountNumber: 'ab12', encrypted: false }, { accountNumber: 'AB12', encrypted: false }] }, 422, 'INVALID_ARC_RECEIVER'],
    ];
    for (const [bad, status, code] of refusals) {
      const res = await arc.client.post<ErrorReply>('/arc/receivers', bad);
      expect([res.status, res.body.code], JSON.stringify(bad)).toEqual([status, code]);
    }
    // An edit that sends no key keeps the account's key; a new account must bring one.
    const edited = await arc.client.call<ArcReceiver>('PUT', `/arc/receivers/${created.body.id}`, { ...body, host: '2001:db8::7', accounts: [{ accountNumber: 'AB12', encrypted: true }] });
    expect(edited.body).toMatchObject({ host: '2001:db8::7', accounts: [{ accountNumber: 'AB12', encrypted: true }] });
    const list = await arc.client.get<{ items: ArcReceiver[] }>('/arc/receivers');
    expect(list.body.items.map((r) => r.host)).toEqual(['2001:db8::7']);
    // Another ARC does not see or change it.
    expect((await otherArc.client.get<{ items: ArcReceiver[] }>('/arc/receivers')).body.items).toEqual([]);
    expect((await otherArc.client.delete<ErrorReply>(`/arc/receivers/${created.body.id}`)).body.code).toBe('ARC_RECEIVER_NOT_FOUND');
  });
});

describe('an installer enables the ARC service and the ARC accepts (§4.12.2, §4.12.3)', () => {
  it('authorizes personal sites only, to one ARC at a time', async () => {
    const team = await authorize(installer.client, teamSite, arc.companyId);
    expect([team.status, team.body.code]).toEqual([422, 'ARC_PERSONAL_SITES_ONLY']);
    expect((await arcService(teamSite)).authorization).toBeNull();

    const done = await authorize(installer.client, site, arc.companyId);
    expect(done.status).toBe(200);
    expect(done.body.authorization?.arc).toMatchObject({ id: arc.companyId, name: 'Sentinel Monitoring' });
    expect((await authorize(installer.client, site, arc.companyId)).status).toBe(200);
    const other = await authorize(installer.client, site, otherArc.companyId);
    expect([other.status, other.body.code]).toEqual([409, 'SITE_AUTHORIZED_TO_ANOTHER_ARC']);
    expect((await arcService()).authorization?.arc.id).toBe(arc.companyId);
  });

  it('entrusts a panel pending acceptance; the ARC accepts, suspends, resumes, and approves event-type changes', async () => {
    const panel = await addPanel(players, installer.client, site, 'Hall panel');
    expect(await panelOf(panel)).toMatchObject({ state: 'off', armed: false, accountNumber: null });

    const enabled = await putPanel(panel, enable);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ state: 'pending', accountNumber: '1A2B', eventTypes: ['alarm', 'fault', 'periodic_test'], connectionMode: 'direct_or_server' });

    // The ARC sees it with where it is, and accepts it.
    const entrusted = (await arc.client.get<{ items: EntrustedPanel[] }>('/arc/entrusted-devices')).body.items;
    expect(entrusted.find((p) => p.deviceId === panel)).toMatchObject({ state: 'pending', installer: 'Northern Alarms', site: { name: 'Flat 7' }, name: 'Hall panel' });
    expect((await decide(arc.client, panel, 'accept')).body.state).toBe('accepted');
    expect((await decide(arc.client, panel, 'accept')).body.code).toBe('ARC_SERVICE_STATE_FORBIDS');
    expect((await panelOf(panel)).state).toBe('accepted');

    // A change of event types waits for the ARC; the accepted ones stay meanwhile.
    const changed = await putPanel(panel, { ...enable, eventTypes: ['alarm', 'fire'] });
    expect(changed.body).toMatchObject({ state: 'accepted', eventTypes: ['alarm', 'fault', 'periodic_test'], pendingEventTypes: ['alarm', 'fire'] });
    expect((await decide(arc.client, panel, 'event-types/reject')).body).toMatchObject({ eventTypes: ['alarm', 'fault', 'periodic_test'], pendingEventTypes: null });
    await putPanel(panel, { ...enable, eventTypes: ['alarm', 'fire'] });
    expect((await decide(arc.client, panel, 'event-types/approve')).body).toMatchObject({ eventTypes: ['alarm', 'fire'], pendingEventTypes: null });

    expect((await decide(arc.client, panel, 'suspend')).body.state).toBe('suspended');
    expect((await panelOf(panel)).state).toBe('suspended');
    expect((await decide(arc.client, panel, 'resume')).body.state).toBe('accepted');

    expect(await logOf(installer.client)).toEqual(
      expect.arrayContaining(['Authorize Site to Alarm Receiving Center Succeeded', 'Enable ARC Service for Device Succeeded', 'Edit ARC Service for Device Succeeded']),
    );
    expect(await logOf(arc.client)).toEqual(
      expect.arrayContaining([
        'Accept Device Entrusted by Installer Succeeded',
        'Accept Device Entrusted by Installer Failed',
        'Reject Event Type Change Succeeded',
        'Approve Event Type Change Succeeded',
        'Suspend ARC Service for Device Succeeded',
        'Resume ARC Service for Device Succeeded',
      ]),
    );
  });

  it('lets the installer re-request a rejected panel and turn the service off at any time', async () => {
    const panel = await addPanel(players, installer.client, site, 'Garage panel');
    await putPanel(panel, { ...enable, accountNumber: '5150' });
    const rejected = await decide(arc.client, panel, 'reject');
    expect(rejected.body.state, JSON.stringify(rejected.body)).toBe('rejected');
    // No longer entrusted: the ARC neither sees nor changes it.
    expect((await arc.client.get<{ items: EntrustedPanel[] }>('/arc/entrusted-devices')).body.items.map((p) => p.deviceId)).not.toContain(panel);
    expect((await decide(arc.client, panel, 'accept')).status).toBe(404);
    expect((await panelOf(panel)).state).toBe('rejected');

    expect((await putPanel(panel, { ...enable, accountNumber: '5150' })).body.state).toBe('pending');
    const off = await installer.client.delete<ArcPanel & ErrorReply>(`/sites/${site}/arc/panels/${panel}`);
    expect(off.body).toMatchObject({ state: 'off', accountNumber: '5150' });
    expect((await installer.client.delete<ErrorReply>(`/sites/${site}/arc/panels/${panel}`)).body.code).toBe('ARC_SERVICE_STATE_FORBIDS');
    expect(await logOf(installer.client)).toContain('Disable ARC Service for Device Succeeded');
  });

  it('refuses invalid settings, other devices and taken account numbers, changing nothing', async () => {
    const panel = await addPanel(players, installer.client, site, 'Kitchen panel');
    const refusals: [unknown, number, string][] = [
      [{ ...enable, accountNumber: '12' }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, accountNumber: '12345678901234567' }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, accountNumber: 'XYZ1' }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, eventTypes: [] }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, eventTypes: ['alarm', 'alarm'] }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, eventTypes: ['smoke'] }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, connectionMode: 'direct_only' }, 400, 'VALIDATION_FAILED'],
      [{ ...enable, extra: true }, 400, 'VALIDATION_FAILED'],
      // Another panel at this ARC has 1A2B.
      [enable, 409, 'ARC_ACCOUNT_NUMBER_TAKEN'],
    ];
    for (const [body, status, code] of refusals) {
      const res = await putPanel(panel, body);
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect(await panelOf(panel)).toMatchObject({ state: 'off', accountNumber: null, eventTypes: [], updatedAt: null });

    await players.p2pDevice('C00000001', 'ABCDEF', { serial: 'C00000001', deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7', name: 'Porch', channels: 1 });
    const camera = (await installer.client.post<{ id: string }>(`/sites/${site}/devices/by-serial`, { serial: 'C00000001', verificationCode: 'ABCDEF' })).body.id;
    expect((await putPanel(camera, { ...enable, accountNumber: 'C0FE' })).body.code).toBe('ARC_DEVICE_NOT_ELIGIBLE');
    expect((await arcService()).panels.map((p) => p.deviceId)).not.toContain(camera);
  });

  it('refuses a new connection mode while the panel is armed', async () => {
    const panel = await addPanel(players, installer.client, site, 'Office panel');
    await putPanel(panel, { ...enable, accountNumber: '0FF1CE' });
    await setPanelArmed(cloud.ctx.db, panel, true);
    const refused = await putPanel(panel, { ...enable, accountNumber: '0FF1CE', connectionMode: 'server_only' });
    expect([refused.status, refused.body.code]).toEqual([409, 'PANEL_ARMED']);
    expect(await panelOf(panel)).toMatchObject({ armed: true, connectionMode: 'direct_or_server' });
    await setPanelArmed(cloud.ctx.db, panel, false);
    expect((await putPanel(panel, { ...enable, accountNumber: '0FF1CE', connectionMode: 'server_only' })).body.connectionMode).toBe('server_only');
  });

  it('tells the ARC’s portal when a panel is entrusted to it', async () => {
    const controller = new AbortController();
    const res = await fetch(`${cloud.api}/live`, { headers: { cookie: arc.client.cookie ?? '' }, signal: controller.signal });
    const reader = res.body!.getReader();
    const panel = await addPanel(players, installer.client, site, 'Porch panel');
    await putPanel(panel, { ...enable, accountNumber: 'B0B' });
    let text = '';
    while (!text.includes('arc.changed')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(site);
    controller.abort();
  });

  it('withdrawing the site’s authorization turns every panel of the site off', async () => {
    const panel = await addPanel(players, installer.client, site, 'Loft panel');
    await putPanel(panel, { ...enable, accountNumber: '10F7' });
    await decide(arc.client, panel, 'accept');
    const withdrawn = await installer.client.delete<SiteArcService>(`/sites/${site}/arc/authorization`);
    expect(withdrawn.body.authorization).toBeNull();
    expect(withdrawn.body.panels.every((p) => p.state === 'off')).toBe(true);
    expect((await arc.client.get<{ items: EntrustedPanel[] }>('/arc/entrusted-devices')).body.items).toEqual([]);
    expect((await installer.client.delete<ErrorReply>(`/sites/${site}/arc/authorization`)).body.code).toBe('SITE_NOT_AUTHORIZED_TO_ARC');
    expect((await putPanel(panel, { ...enable, accountNumber: '10F7' })).body.code).toBe('SITE_NOT_AUTHORIZED_TO_ARC');
    expect(await logOf(installer.client)).toContain('Withdraw Site Authorization from Alarm Receiving Center Succeeded');
    // A new authorization may go to another ARC.
    expect((await authorize(installer.client, site, otherArc.companyId)).status).toBe(200);
  });
});

describe('who may do what', () => {
  let panel: string;
  let intruder: Awaited<ReturnType<typeof registerCompany>>;
  let flat: string;

  beforeAll(async () => {
    flat = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 9', type: 'personal', timeZone: 'Europe/London' })).body.id;
    await authorize(installer.client, flat, arc.companyId);
    panel = await addPanel(players, installer.client, flat, 'Matrix panel');
    await installer.client.call('PUT', `/sites/${flat}/arc/panels/${panel}`, { ...enable, accountNumber: 'AAA1' });
    intruder = await registerCompany(cloud.api, 'Other Installers');
  });

  it('another installer company sees and changes nothing of the site', async () => {
    for (const res of [
      await intruder.client.get<ErrorReply>(`/sites/${flat}/arc`),
      await authorize(intruder.client, flat, otherArc.companyId),
      await intruder.client.delete<ErrorReply>(`/sites/${flat}/arc/authorization`),
      await intruder.client.call<ErrorReply>('PUT', `/sites/${flat}/arc/panels/${panel}`, { ...enable, accountNumber: 'AAA2' }),
      await intruder.client.delete<ErrorReply>(`/sites/${flat}/arc/panels/${panel}`),
    ]) {
      expect([res.status, res.body.code]).toEqual([404, 'SITE_NOT_FOUND']);
    }
    // Nor a panel of this site through its own site.
    const own = (await intruder.client.post<{ id: string }>('/sites', { name: 'Own', type: 'personal', timeZone: 'UTC' })).body.id;
    await authorize(intruder.client, own, arc.companyId);
    expect((await intruder.client.call<ErrorReply>('PUT', `/sites/${own}/arc/panels/${panel}`, enable)).body.code).toBe('DEVICE_NOT_FOUND');
  });

  it('another ARC neither sees nor decides on the panel', async () => {
    expect((await otherArc.client.get<{ items: EntrustedPanel[] }>('/arc/entrusted-devices')).body.items.map((p) => p.deviceId)).not.toContain(panel);
    for (const decision of ['accept', 'reject', 'suspend', 'resume', 'event-types/approve', 'event-types/reject']) {
      const res = await decide(otherArc.client, panel, decision);
      expect([res.status, res.body.code]).toEqual([404, 'DEVICE_NOT_FOUND']);
    }
    expect((await installer.client.get<SiteArcService>(`/sites/${flat}/arc`)).body.panels[0]).toMatchObject({ state: 'pending' });
  });

  it('an installer is refused the ARC routes, and an ARC the installer routes', async () => {
    for (const res of [
      await installer.client.get<ErrorReply>('/arc/entrusted-devices'),
      await decide(installer.client, panel, 'accept'),
      await installer.client.get<ErrorReply>('/arc/profile'),
      await installer.client.post<ErrorReply>('/arc/profile', { contactEmail: installer.email }),
      await installer.client.get<ErrorReply>('/arc/receivers'),
    ]) {
      expect([res.status, res.body.code]).toEqual([403, 'ARC_COMPANY_ONLY']);
    }
    for (const res of [
      await arc.client.get<ErrorReply>('/arcs'),
      await arc.client.get<ErrorReply>(`/sites/${flat}/arc`),
      await authorize(arc.client, flat, arc.companyId),
      await arc.client.call<ErrorReply>('PUT', `/sites/${flat}/arc/panels/${panel}`, enable),
    ]) {
      expect([res.status, res.body.code]).toEqual([403, 'NOT_FOR_ARC_COMPANY']);
    }
    expect((await new ApiClient(cloud.api).get<ErrorReply>('/arc/entrusted-devices')).status).toBe(401);
    expect((await installer.client.get<SiteArcService>(`/sites/${flat}/arc`)).body.panels[0]).toMatchObject({ state: 'pending', accountNumber: 'AAA1' });
  });
});
