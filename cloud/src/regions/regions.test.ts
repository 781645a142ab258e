import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeReply, RegionMatrix, RegionRow } from '@vigil/protocol/api';
import { ApiClient, authenticateCompany, newSite, registerCompany, signInVendorAdmin, startTestCloud, type TestCloud } from '../testing/cloud.js';

type Refusal = { statusCode: number; code: string; message: string };

let cloud: TestCloud;
let vendor: ApiClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  vendor = await signInVendorAdmin(cloud);
});
afterAll(async () => {
  await cloud?.stop();
});

let seq = 0;
/** A company of the given country with its Installer Admin signed in. */
async function companyIn(countryCode: string) {
  const client = new ApiClient(cloud.api);
  const res = await client.post<MeReply>('/companies', {
    company: { name: `Company ${countryCode} ${++seq}`, type: 'installer', countryCode },
    admin: { name: 'Admin', email: `admin.${countryCode.toLowerCase()}${seq}.${Date.now()}@example.test`, password: 'Correct-Horse9' },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { client, companyId: res.body.company.id };
}

const ORDER = { retentionDays: 7, term: 'annual', mode: 'event', channels: 1 } as const;
const order = (client: ApiClient) => client.post<Refusal & { id: string }>('/cloud-storage/packages', ORDER);
const features = async (client: ApiClient) => (await client.get<MeReply>('/me')).body.features;
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

function expectRefusal(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect((res.body as Refusal).code).toBe(code);
}

describe('value-added services', () => {
  it('are bought by authenticated companies only', async () => {
    const gb = await registerCompany(cloud.api);
    expectRefusal(await order(gb.client), 403, 'COMPANY_NOT_AUTHENTICATED');
    expect((await gb.client.get<{ items: unknown[] }>('/cloud-storage/packages')).body.items).toEqual([]);
    await authenticateCompany(cloud, gb.companyId);
    expect((await order(gb.client)).status).toBe(201);
  });

  it('are not offered in a free-only country, even to an authenticated company', async () => {
    const ng = await companyIn('NG');
    await authenticateCompany(cloud, ng.companyId);
    const has = await features(ng.client);
    expect(has).not.toContain('cloud_storage');
    expect(has).not.toContain('arc_service');
    expect(has).toContain('site_collaboration');
    expectRefusal(await order(ng.client), 403, 'FEATURE_UNAVAILABLE_IN_REGION');
    expectRefusal(await ng.client.post(`/devices/${NO_SUCH_ID}/cloud-storage/channels/1/activate`, { packageId: NO_SUCH_ID }), 403, 'FEATURE_UNAVAILABLE_IN_REGION');
    const siteId = await newSite(ng.client);
    const arc = await ng.client.call('PUT', `/sites/${siteId}/arc/panels/${NO_SUCH_ID}`, { accountNumber: '1A2B', eventTypes: ['alarm'], connectionMode: 'direct_or_server' });
    expectRefusal(arc, 403, 'FEATURE_UNAVAILABLE_IN_REGION');
    expect((await ng.client.get<{ items: unknown[] }>('/cloud-storage/packages')).body.items).toEqual([]);
  });
});

describe('the region matrix', () => {
  it('starts from the manual’s tables', async () => {
    const matrix = await vendor.get<RegionMatrix>('/vendor/regions');
    expect(matrix.status).toBe(200);
    expect(matrix.body.features.map((f) => f.key)).toContain('cloud_storage');
    expect(matrix.body.features.find((f) => f.key === 'arc_service')?.label).toBe('Alarm Receiving Center (ARC) Service');
    const row = (cc: string) => matrix.body.rows.find((r) => r.countryCode === cc);
    expect(row('NG')?.features).toMatchObject({ cloud_storage: false, arc_service: false, site_collaboration: true });
    expect(row('US')?.features).toMatchObject({ health_linkage: false, cloud_storage: true });
    expect(row('GB')).toBeUndefined();
  });

  it('is switched per country by the vendor admin, and the companies see it at once', async () => {
    const ke = await companyIn('KE');
    const gb = await registerCompany(cloud.api);
    await authenticateCompany(cloud, ke.companyId);
    expect(await features(ke.client)).toContain('cloud_storage');

    const off = await vendor.call<RegionRow>('PUT', '/vendor/regions/KE', { features: { cloud_storage: false, sim_data: false } });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toMatchObject({ countryCode: 'KE', features: { cloud_storage: false, sim_data: false, arc_service: true } });
    expect(await features(ke.client)).not.toContain('cloud_storage');
    expect(await features(gb.client)).toContain('cloud_storage');
    expectRefusal(await order(ke.client), 403, 'FEATURE_UNAVAILABLE_IN_REGION');
    expect((await vendor.get<RegionMatrix>('/vendor/regions')).body.rows.find((r) => r.countryCode === 'KE')?.features.cloud_storage).toBe(false);

    const on = await vendor.call<RegionRow>('PUT', '/vendor/regions/KE', { features: { cloud_storage: true } });
    expect(on.body.features).toMatchObject({ cloud_storage: true, sim_data: false });
    expect(await features(ke.client)).toContain('cloud_storage');
    expect((await order(ke.client)).status).toBe(201);
    const oplog = await vendor.get<{ items: { content: string }[] }>('/operation-logs');
    expect(oplog.body.items.map((l) => l.content)).toContain('Edit Region Features Succeeded');
  });

  it('refuses unknown features, bad country codes and installers, changing nothing', async () => {
    expectRefusal(await vendor.call('PUT', '/vendor/regions/FR', { features: { cloud_storage: false, teleportation: false } }), 422, 'VALIDATION_FAILED');
    expect((await vendor.call('PUT', '/vendor/regions/fr', { features: { cloud_storage: false } })).status).toBe(400);
    expect((await vendor.call('PUT', '/vendor/regions/FRA', { features: { cloud_storage: false } })).status).toBe(400);
    expect((await vendor.call('PUT', '/vendor/regions/FR', { features: {} })).status).toBe(400);
    expect((await vendor.call('PUT', '/vendor/regions/FR', { features: { cloud_storage: 'no' } })).status).toBe(400);
    const installer = await registerCompany(cloud.api);
    expectRefusal(await installer.client.call('PUT', '/vendor/regions/FR', { features: { cloud_storage: false } }), 403, 'VENDOR_ONLY');
    expect((await vendor.get<RegionMatrix>('/vendor/regions')).body.rows.some((r) => r.countryCode === 'FR')).toBe(false);
  });
});
