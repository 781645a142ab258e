import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKind } from '@vigil/protocol';
import { SITE_OPERATION_STATUSES, SiteOperation, SiteStatus } from '@vigil/protocol/api';
import { devices, edges, sites } from '../db/schema.js';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { newSerial } from '../testing/edge.js';

let cloud: TestCloud;
let client: ApiClient;
let companyId: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  ({ client, companyId } = await registerCompany(cloud.api, 'Gatekeepers'));
});
afterAll(async () => {
  await cloud?.stop();
});

type Reply = { status: number; body: { code?: string; name?: string; city?: string } };

/** A site in `status` with a camera and a P2P alarm panel reached through an edge box (rows written directly). */
async function siteIn(status: SiteStatus) {
  const siteId = await newSite(client, { name: `Site ${status} ${randomUUID().slice(0, 6)}` });
  const serial = newSerial();
  await cloud.ctx.db.insert(edges).values({ serial, companyId, siteId, claimedAt: new Date() });
  const device = (kind: string, name: string) => ({
    companyId,
    siteId,
    edgeSerial: serial,
    deviceKey: randomUUID(),
    kind,
    protocol: 'isapi',
    manufacturer: 'Hikvision',
    model: 'DS-TEST',
    serial: `DS${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    firmware: 'V1',
    name,
    host: '10.0.0.9',
    port: 80,
    channels: 1,
    reportedOnline: true,
    reportedAt: new Date(),
    status: 'online',
  });
  const [camera, panel] = await cloud.ctx.db.insert(devices).values([device(DeviceKind.camera, 'Door camera'), device(DeviceKind.alarmPanel, 'Panel')]).returning();
  await cloud.ctx.db.update(sites).set({ status }).where(eq(sites.id, siteId));
  return { siteId, serial, camera: camera!.id, panel: panel!.id, status };
}
type Fixture = Awaited<ReturnType<typeof siteIn>>;

const STORAGE_OFF = { enabled: false, stream: 'main', triggers: { motion: { enabled: true, notifySurveillanceCenter: true } }, schedule: null, preSeconds: 0, postSeconds: 5 };

/** One request per route that is an operation of Table 3-12; `ok` is what an allowed call answers, when it is sure. */
const PROBES: { op: SiteOperation; what: string; run: (f: Fixture) => Promise<Reply>; ok?: number }[] = [
  { op: SiteOperation.search, what: 'GET /sites/:id', run: (f) => client.get(`/sites/${f.siteId}`), ok: 200 },
  { op: SiteOperation.editSite, what: 'PATCH /sites/:id', run: (f) => client.patch(`/sites/${f.siteId}`, { city: `City ${f.status}` }), ok: 200 },
  { op: SiteOperation.manageDevice, what: 'PATCH /devices/:id', run: (f) => client.patch(`/devices/${f.camera}`, { name: `Camera ${f.status}` }), ok: 200 },
  { op: SiteOperation.manageDevice, what: 'POST /sites/:id/edges', run: (f) => client.post(`/sites/${f.siteId}/edges`, { serial: newSerial(), verificationCode: 'ABC123' }) },
  { op: SiteOperation.manageDevice, what: 'PATCH /edges/:serial', run: (f) => client.patch(`/edges/${f.serial}`, { name: `Box ${f.status}` }), ok: 200 },
  { op: SiteOperation.manageDevice, what: 'POST /edges/:serial/reboot', run: (f) => client.post(`/edges/${f.serial}/reboot`) },
  { op: SiteOperation.manageDevice, what: 'POST /sites/:id/devices/by-serial', run: (f) => client.post(`/sites/${f.siteId}/devices/by-serial`, { serial: 'Q12345678', verificationCode: 'ABCDEF' }) },
  {
    op: SiteOperation.manageDevice,
    what: 'POST /sites/:id/devices/by-address',
    run: (f) => client.post(`/sites/${f.siteId}/devices/by-address`, { address: '127.0.0.1', port: 9, username: 'admin', password: 'Secret-123' }),
  },
  { op: SiteOperation.manageDevice, what: 'POST /sites/:id/onsite/add', run: (f) => client.post(`/sites/${f.siteId}/onsite/add`, { serials: ['DS0000000001'] }) },
  { op: SiteOperation.manageDevice, what: 'POST /sites/:id/onsite/activations', run: (f) => client.post(`/sites/${f.siteId}/onsite/activations`, { serials: ['DS0000000001'], useDefaults: true }) },
  {
    op: SiteOperation.manageDevice,
    what: 'POST /sites/:id/onsite/operations',
    run: (f) => client.post(`/sites/${f.siteId}/onsite/operations`, { operation: 'reboot', serials: ['DS0000000001'], useDefaults: true }),
  },
  { op: SiteOperation.manageDevice, what: 'POST /devices/:id/channels', run: (f) => client.post(`/devices/${f.camera}/channels`, { serials: ['DS0000000002'] }) },
  { op: SiteOperation.manageDevice, what: 'DELETE /devices/:id/channels/:n', run: (f) => client.delete(`/devices/${f.camera}/channels/1`) },
  { op: SiteOperation.manageDevice, what: 'POST /devices/:id/panel/areas/1/disarm', run: (f) => client.post(`/devices/${f.panel}/panel/areas/1/disarm`) },
  { op: SiteOperation.manageDevice, what: 'PUT /devices/:id/cloud-storage/channels/1', run: (f) => client.call('PUT', `/devices/${f.camera}/cloud-storage/channels/1`, STORAGE_OFF) },
  { op: SiteOperation.manageDevice, what: 'POST /devices/:id/cloud-storage/bandwidth-test', run: (f) => client.post(`/devices/${f.camera}/cloud-storage/bandwidth-test`) },
  { op: SiteOperation.manageDevice, what: 'PUT /sites/:id/arc/authorization', run: (f) => client.call('PUT', `/sites/${f.siteId}/arc/authorization`, { arcCompanyId: randomUUID() }) },
  { op: SiteOperation.manageDevice, what: 'DELETE /sites/:id/arc/authorization', run: (f) => client.delete(`/sites/${f.siteId}/arc/authorization`) },
  { op: SiteOperation.manageDevice, what: 'DELETE /sites/:id/arc/panels/:id', run: (f) => client.delete(`/sites/${f.siteId}/arc/panels/${f.panel}`) },
  {
    op: SiteOperation.collaborate,
    what: 'POST /sites/:id/collaborations',
    run: (f) => client.post(`/sites/${f.siteId}/collaborations`, { type: f.status === SiteStatus.authorizedAndMonitoring ? 'msp' : 'isp', partnerEmail: 'nobody@example.test' }),
  },
  { op: SiteOperation.manageDevice, what: 'DELETE /edges/:serial', run: (f) => client.delete(`/edges/${f.serial}`), ok: 204 },
  { op: SiteOperation.deleteSite, what: 'DELETE /sites/:id', run: (f) => client.delete(`/sites/${f.siteId}`), ok: 204 },
];

describe('Table 3-12 on the existing routes', () => {
  for (const status of Object.values(SiteStatus)) {
    it(`allows and refuses each operation as the table says while a site is ${status}`, async () => {
      const f = await siteIn(status);
      for (const probe of PROBES) {
        const allowed = SITE_OPERATION_STATUSES[probe.op].includes(status);
        const res = (await probe.run(f)) as Reply;
        const seen = { what: probe.what, status: res.status, code: res.body?.code };
        if (!allowed) expect(seen).toEqual({ what: probe.what, status: 409, code: 'SITE_STATUS_FORBIDS' });
        else if (probe.ok) expect(seen).toMatchObject({ what: probe.what, status: probe.ok });
        else expect(seen.code, JSON.stringify(seen)).not.toBe('SITE_STATUS_FORBIDS');
      }
      // A refusal changed nothing; the site is gone after Delete Site either way.
      expect((await client.get(`/sites/${f.siteId}`)).status).toBe(404);
      const [camera] = await cloud.ctx.db.select().from(devices).where(eq(devices.id, f.camera));
      expect(camera).toBeUndefined();
    });
  }

  it('leaves a refused site, its device and its edge box as they were', async () => {
    const f = await siteIn(SiteStatus.handedOverNotAuthorized);
    for (const probe of PROBES.filter((p) => p.op === SiteOperation.editSite || p.op === SiteOperation.manageDevice)) {
      const res = (await probe.run(f)) as Reply;
      expect([probe.what, res.status, res.body.code]).toEqual([probe.what, 409, 'SITE_STATUS_FORBIDS']);
    }
    const site = await client.get<{ city: string; status: string }>(`/sites/${f.siteId}`);
    expect([site.body.city, site.body.status]).toEqual(['', SiteStatus.handedOverNotAuthorized]);
    const camera = await client.get<{ name: string }>(`/devices/${f.camera}`);
    expect(camera.body.name).toBe('Door camera');
    const box = await client.get<{ name: string }>(`/edges/${f.serial}`);
    expect(box.body.name).toBe('');
    const list = await client.get<{ items: { id: string }[] }>(`/sites?status=${SiteStatus.handedOverNotAuthorized}`);
    expect(list.body.items.map((s) => s.id)).toContain(f.siteId);
  });

  it('fixes a site time zone at creation: another one is refused, the same one accepted', async () => {
    const siteId = await newSite(client, { timeZone: 'Europe/London' });
    const moved = await client.patch<{ code: string }>(`/sites/${siteId}`, { timeZone: 'Europe/Paris', city: 'Paris' });
    expect([moved.status, moved.body.code]).toEqual([422, 'TIME_ZONE_IMMUTABLE']);
    const same = await client.patch<{ timeZone: string; city: string }>(`/sites/${siteId}`, { timeZone: 'Europe/London', city: 'London' });
    expect([same.status, same.body.timeZone, same.body.city]).toEqual([200, 'Europe/London', 'London']);
    const after = await client.get<{ timeZone: string; city: string }>(`/sites/${siteId}`);
    expect([after.body.timeZone, after.body.city]).toEqual(['Europe/London', 'London']);
  });
});
