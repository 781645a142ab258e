import { afterEach, describe, expect, it } from 'vitest';
import {
  DigestClient,
  FACTORY_RESET_FULL,
  IsapiStatusCode,
  VLAN_PATH,
  VlanSubStatus,
  buildVlanUpdate,
  parseResponseStatus,
  parseVlanConfig,
  vlanPath,
  type VlanUpdate,
} from '@vigil/protocol';
import { DeviceHost } from './host.js';
import type { SimDeviceOptions } from './sim-device.js';
import { SwitchVlans } from './switch-vlan.js';

const access = (port: number, pvid: number) => ({ port, mode: 'ACCESS' as const, pvid });
const update = (u: Partial<VlanUpdate>): VlanUpdate => ({ addVlans: [], ports: [], ...u });

describe('switch VLAN rules', () => {
  it('starts with VLAN 1 only and every port an ACCESS port on it, aggregated ports marked', () => {
    const s = new SwitchVlans({ ports: 10, aggregation: [[9, 10]] });
    const c = s.config;
    expect(c.vlans).toEqual([1]);
    expect(c.maxVlansPerBatch).toBe(8);
    expect(c.ports).toHaveLength(10);
    expect(c.ports[0]).toEqual({ port: 1, mode: 'ACCESS', pvid: 1, allowedVlans: [], aggregationGroup: null });
    expect(c.ports.filter((p) => p.aggregationGroup === 1).map((p) => p.port)).toEqual([9, 10]);
  });

  it('adds VLANs and assigns ports in one batch; the new VLANs are usable in the same batch', () => {
    const s = new SwitchVlans({ ports: 10 });
    expect(s.apply(update({ addVlans: [30, 20], ports: [access(3, 20), { port: 8, mode: 'TRUNK', pvid: 1, allowedVlans: [30, 1, 20, 20] }] }))).toBeUndefined();
    const c = s.config;
    expect(c.vlans).toEqual([1, 20, 30]);
    expect(c.ports[2]).toMatchObject({ mode: 'ACCESS', pvid: 20, allowedVlans: [] });
    expect(c.ports[7]).toMatchObject({ mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20, 30] });
    // Back to ACCESS: the allowed VLANs go; adding a VLAN the switch has changes nothing.
    expect(s.apply(update({ addVlans: [20], ports: [access(8, 30)] }))).toBeUndefined();
    expect(s.config.ports[7]).toMatchObject({ mode: 'ACCESS', pvid: 30, allowedVlans: [] });
    expect(s.config.vlans).toEqual([1, 20, 30]);
  });

  it('refuses VLAN 4095, 0, 4096 and 1 as new VLANs, a batch over the model limit, unknown ports and VLANs, changing nothing', () => {
    const s = new SwitchVlans({ ports: 10, maxVlansPerBatch: 3 });
    s.apply(update({ addVlans: [20], ports: [access(3, 20)] }));
    const before = s.config;
    const cases: [VlanUpdate, string][] = [
      [update({ addVlans: [40, 4095] }), VlanSubStatus.reservedVlanId],
      [update({ addVlans: [0] }), VlanSubStatus.invalidVlanId],
      [update({ addVlans: [4096] }), VlanSubStatus.invalidVlanId],
      [update({ addVlans: [1] }), VlanSubStatus.defaultVlan],
      [update({ addVlans: [40, 41, 42, 43] }), VlanSubStatus.vlanBatchLimit],
      [update({ addVlans: [40], ports: [access(11, 40)] }), VlanSubStatus.invalidPort],
      [update({ addVlans: [40], ports: [access(4, 40), access(5, 50)] }), VlanSubStatus.vlanNotFound],
      [update({ ports: [access(4, 4095)] }), VlanSubStatus.reservedVlanId],
    ];
    for (const [u, sub] of cases) expect(s.apply(u)?.subStatus, JSON.stringify(u)).toBe(sub);
    expect(s.apply(update({ addVlans: [40, 41, 42, 43] }))?.message).toContain('at most 3 VLANs');
    expect(s.config).toEqual(before);
  });

  it('refuses any VLAN assignment of a port in an aggregation group, even with other changes in the batch', () => {
    const s = new SwitchVlans({ ports: 10, aggregation: [[9, 10]] });
    const r = s.apply(update({ addVlans: [20], ports: [access(3, 20), access(10, 20)] }));
    expect(r).toEqual({
      statusCode: IsapiStatusCode.invalidOperation,
      subStatus: VlanSubStatus.portInAggregationGroup,
      message: expect.stringContaining('port 10 is in aggregation group 1'),
    });
    expect(s.config.vlans).toEqual([1]);
    expect(s.config.ports[2]!.pvid).toBe(1);
  });

  it('deletes a VLAN no port uses; never VLAN 1', () => {
    const s = new SwitchVlans({ ports: 4 });
    s.apply(update({ addVlans: [20, 30], ports: [access(2, 20)] }));
    expect(s.remove(1)?.subStatus).toBe(VlanSubStatus.defaultVlan);
    expect(s.remove(4095)?.subStatus).toBe(VlanSubStatus.reservedVlanId);
    expect(s.remove(40)?.subStatus).toBe(VlanSubStatus.vlanNotFound);
    expect(s.remove(20)).toMatchObject({ subStatus: VlanSubStatus.vlanInUse, message: expect.stringContaining('port 2') });
    expect(s.remove(30)).toBeUndefined();
    expect(s.config.vlans).toEqual([1, 20]);
  });

  it('refuses aggregation groups of unknown ports, a port in two groups, or a single port', () => {
    expect(() => new SwitchVlans({ ports: 10, aggregation: [[10, 11]] })).toThrow(/11 is not one of ports 1–10/);
    expect(() => new SwitchVlans({ ports: 10, aggregation: [[1, 2], [2, 3]] })).toThrow(/port 2 is in groups 1 and 2/);
    expect(() => new SwitchVlans({ ports: 10, aggregation: [[4]] })).toThrow(/at least two ports/);
    expect(() => new SwitchVlans({ ports: 10, maxVlansPerBatch: 0 })).toThrow(/maxVlansPerBatch/);
  });
});

describe('switch VLANs over the device API', () => {
  const PW = 'Abcd1234!';
  const hosts: DeviceHost[] = [];
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
  });

  async function device(opts: Partial<SimDeviceOptions> = {}) {
    const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'switch', activated: true, password: PW, poePorts: 8, aggregation: [[9, 10]], ...opts }] });
    hosts.push(host);
    await host.start();
    const d = host.devices[0]!;
    const base = `http://${d.endpoints.listenIp}:${d.endpoints.httpPort}`;
    const client = new DigestClient('admin', PW);
    const put = async (u: VlanUpdate) => {
      const res = await client.fetch(`${base}${VLAN_PATH}`, { method: 'PUT', body: buildVlanUpdate(u) });
      const s = parseResponseStatus(await res.text());
      if (!s.ok) throw new Error(s.error);
      return { http: res.status, ...s.value };
    };
    const state = async () => (await (await fetch(`${base}/__sim/state`)).json()) as { vlan: { vlans: number[]; ports: { port: number; pvid: number }[] } | null };
    return { d, base, client, put, state };
  }

  it('serves the VLAN table and applies a batch; /__sim/state shows both', async () => {
    const { base, client, put, state } = await device({ maxVlansPerBatch: 4 });
    const got = parseVlanConfig(await (await client.fetch(`${base}${VLAN_PATH}`)).text());
    expect(got.ok && got.value).toMatchObject({ maxVlansPerBatch: 4, vlans: [1] });
    expect(got.ok && got.value.ports.map((p) => p.port)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await put(update({ addVlans: [20], ports: [access(3, 20)] }))).toMatchObject({ http: 200, statusCode: 1 });
    const s = await state();
    expect(s.vlan?.vlans).toEqual([1, 20]);
    expect(s.vlan?.ports[2]).toMatchObject({ port: 3, pvid: 20 });
  });

  it('answers refusals with a ResponseStatus naming the rule, and changes nothing', async () => {
    const { put, state } = await device();
    const before = (await state()).vlan;
    expect(await put(update({ addVlans: [4095] }))).toMatchObject({ http: 400, statusCode: IsapiStatusCode.invalidXmlContent, subStatusCode: 'reservedVlanId' });
    const agg = await put(update({ addVlans: [20], ports: [access(9, 20)] }));
    expect(agg).toMatchObject({ http: 403, statusCode: IsapiStatusCode.invalidOperation, subStatusCode: 'portInAggregationGroup' });
    expect(agg.errorMsg).toContain('port 9 is in aggregation group 1');
    expect((await state()).vlan).toEqual(before);
  });

  it('deletes VLANs, and forgets them on a factory reset', async () => {
    const { d, base, client, put, state } = await device();
    await put(update({ addVlans: [20, 30] }));
    const del = async (id: number) => (await client.fetch(`${base}${vlanPath(id)}`, { method: 'DELETE' })).status;
    expect(await del(1)).toBe(403);
    expect(await del(30)).toBe(200);
    expect((await state()).vlan?.vlans).toEqual([1, 20]);
    expect((await client.fetch(`${base}${FACTORY_RESET_FULL}`, { method: 'PUT' })).status).toBe(200);
    await expect.poll(() => d.isActivated).toBe(false);
    expect((await state()).vlan?.vlans).toEqual([1]);
  });

  it('is not there on other devices', async () => {
    const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'ac_router', activated: true, password: PW }] });
    hosts.push(host);
    await host.start();
    const d = host.devices[0]!;
    const res = await new DigestClient('admin', PW).fetch(`http://${d.endpoints.listenIp}:${d.endpoints.httpPort}${VLAN_PATH}`);
    expect(res.status).toBe(403);
    expect(parseResponseStatus(await res.text())).toMatchObject({ ok: true, value: { subStatusCode: 'notSupport' } });
    expect(d.state.vlan).toBeNull();
  });
});
