import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_KEY_PATTERN, type ServiceKey } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';
import { registerCompany, signInCustomer, signInVendorAdmin, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { newServiceKey, normalizeServiceKey, parseServiceKeys } from './keys.js';

type Refusal = { code: string; message: string };

describe('service key codes', () => {
  it('are random groups of Crockford base 32', () => {
    const keys = Array.from({ length: 1000 }, newServiceKey);
    for (const k of keys) expect(k).toMatch(new RegExp(SERVICE_KEY_PATTERN));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('are read forgivingly: case, spaces, dashes and look-alike letters', () => {
    expect(normalizeServiceKey('abcd efgh jkmn pqrs')).toBe('ABCD-EFGH-JKMN-PQRS');
    expect(normalizeServiceKey('ABCDEFGHJKMNPQRS')).toBe('ABCD-EFGH-JKMN-PQRS');
    expect(normalizeServiceKey('O0IL-1111-2222-3333')).toBe('0011-1111-2222-3333');
    expect(normalizeServiceKey('ABCD-EFGH-JKMN-PQR')).toBeNull();
    expect(normalizeServiceKey('ABCD-EFGH-JKMN-PQRU')).toBeNull();
  });

  it('are split at commas, and a submission repeating one is refused', () => {
    expect(parseServiceKeys(' abcd-efgh-jkmn-pqrs,ZZZZ-ZZZZ-ZZZZ-ZZZZ , nonsense,').map((k) => k.code)).toEqual([
      'ABCD-EFGH-JKMN-PQRS',
      'ZZZZ-ZZZZ-ZZZZ-ZZZZ',
      null,
    ]);
    for (const bad of [' , ', 'ABCD-EFGH-JKMN-PQRS, abcdefghjkmnpqrs']) {
      expect(() => parseServiceKeys(bad)).toThrow(AppError);
    }
  });
});

describe('minting service keys', () => {
  let cloud: TestCloud;
  let vendor: ApiClient;

  beforeAll(async () => {
    cloud = await startTestCloud();
    vendor = await signInVendorAdmin(cloud);
  }, 60_000);
  afterAll(async () => {
    await cloud?.stop();
  });

  it('gives the vendor admin the number of new keys asked for, listed newest first', async () => {
    const res = await vendor.post<{ items: ServiceKey[] }>('/vendor/service-keys', { serviceType: 'co_branding', months: 24, count: 100 });
    expect(res.status).toBe(201);
    expect(res.body.items).toHaveLength(100);
    expect(new Set(res.body.items.map((k) => k.code)).size).toBe(100);
    for (const k of res.body.items) {
      expect(k).toMatchObject({ serviceType: 'co_branding', months: 24, redeemedByCompanyId: null, redeemedByCompanyName: null, redeemedAt: null });
    }
    const more = await vendor.post<{ items: ServiceKey[] }>('/vendor/service-keys', { serviceType: 'co_branding', months: 12, count: 1 });
    const listed = await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(101);
    expect(listed.body.items[0]!.code).toBe(more.body.items[0]!.code);
  });

  it('refuses a batch over 100, another service, or another period, and mints nothing', async () => {
    const before = (await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys')).body.items.length;
    for (const body of [
      { serviceType: 'co_branding', months: 12, count: 101 },
      { serviceType: 'co_branding', months: 12, count: 0 },
      { serviceType: 'employee_addon', months: 12, count: 1 },
      { serviceType: 'co_branding', months: 13, count: 1 },
    ]) {
      const res = await vendor.post<Refusal>('/vendor/service-keys', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys')).body.items).toHaveLength(before);
  });

  it('refuses installers and customers', async () => {
    const before = (await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys')).body.items.length;
    const installer = await registerCompany(cloud.api, 'Key Hopefuls');
    const customer = await signInCustomer(cloud);
    for (const client of [installer.client, customer.client]) {
      const minted = await client.post<Refusal>('/vendor/service-keys', { serviceType: 'co_branding', months: 12, count: 1 });
      expect(minted.status).toBe(403);
      expect(minted.body.code).toBe('VENDOR_ONLY');
      const listed = await client.get<Refusal>('/vendor/service-keys');
      expect(listed.status).toBe(403);
      expect(listed.body.code).toBe('VENDOR_ONLY');
    }
    expect((await vendor.get<{ items: ServiceKey[] }>('/vendor/service-keys')).body.items).toHaveLength(before);
  });
});
