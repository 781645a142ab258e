import { describe, expect, it } from 'vitest';
import {
  VlanSubStatus,
  buildVlanConfig,
  buildVlanUpdate,
  describeVlanUpdate,
  newVlanIdProblem,
  parseVlanConfig,
  parseVlanUpdate,
  vlanUpdateProblem,
  type VlanConfig,
  type VlanUpdate,
} from './index.js';

describe('VLAN documents', () => {
  it('round-trips an update: VLANs to add, an ACCESS port and a TRUNK port', () => {
    const u: VlanUpdate = {
      addVlans: [20, 30],
      ports: [
        { port: 3, mode: 'ACCESS', pvid: 20 },
        { port: 8, mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20, 30] },
      ],
    };
    const xml = buildVlanUpdate(u);
    expect(xml).toContain('<addVLANList>20,30</addVLANList>');
    expect(parseVlanUpdate(xml)).toEqual({ ok: true, value: u });
    expect(parseVlanUpdate(buildVlanUpdate({ addVlans: [], ports: [] }))).toEqual({ ok: true, value: { addVlans: [], ports: [] } });
  });

  it('round-trips the configuration with aggregation groups', () => {
    const c: VlanConfig = {
      maxVlansPerBatch: 8,
      vlans: [1, 20],
      ports: [
        { port: 1, mode: 'ACCESS', pvid: 20, allowedVlans: [], aggregationGroup: null },
        { port: 9, mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20], aggregationGroup: 1 },
        { port: 10, mode: 'ACCESS', pvid: 1, allowedVlans: [], aggregationGroup: 1 },
      ],
    };
    expect(parseVlanConfig(buildVlanConfig(c))).toEqual({ ok: true, value: c });
  });

  it('reads reserved and out-of-range ids so that the switch can refuse them by name', () => {
    const r = parseVlanUpdate(buildVlanUpdate({ addVlans: [0, 4095, 4096], ports: [{ port: 2, mode: 'ACCESS', pvid: 4095 }] }));
    expect(r).toEqual({ ok: true, value: { addVlans: [0, 4095, 4096], ports: [{ port: 2, mode: 'ACCESS', pvid: 4095 }] } });
  });

  it('refuses malformed documents', () => {
    const bad = [
      '<VLANConfig/>',
      '<VLANUpdate><addVLANList>20,x</addVLANList></VLANUpdate>',
      '<VLANUpdate><addVLANList>-1</addVLANList></VLANUpdate>',
      '<VLANUpdate><addVLANList>70000</addVLANList></VLANUpdate>',
      '<VLANUpdate><PortVLANList><PortVLAN><portNo>1</portNo><mode>HYBRID</mode><pvid>1</pvid></PortVLAN></PortVLANList></VLANUpdate>',
      '<VLANUpdate><PortVLANList><PortVLAN><portNo>1</portNo><mode>ACCESS</mode></PortVLAN></PortVLANList></VLANUpdate>',
    ];
    for (const xml of bad) expect(parseVlanUpdate(xml).ok, xml).toBe(false);
    expect(parseVlanConfig('<VLANConfig><VLANList>1</VLANList></VLANConfig>').ok).toBe(false);
  });
});

describe('VLAN rules every switch shares', () => {
  it('takes new ids 2 to 4094 only: 1 is the default VLAN, 4095 is reserved', () => {
    expect(newVlanIdProblem(2)).toBeUndefined();
    expect(newVlanIdProblem(4094)).toBeUndefined();
    expect(newVlanIdProblem(1)?.subStatus).toBe(VlanSubStatus.defaultVlan);
    expect(newVlanIdProblem(4095)).toMatchObject({ subStatus: VlanSubStatus.reservedVlanId, message: expect.stringContaining('reserved') });
    for (const id of [0, 4096, 2.5]) expect(newVlanIdProblem(id)?.subStatus, String(id)).toBe(VlanSubStatus.invalidVlanId);
  });

  it('checks ports: ids 1 to 4094, each port once, ACCESS without allowed VLANs, a TRUNK PVID among its allowed VLANs', () => {
    const port = (p: Record<string, unknown>) => vlanUpdateProblem({ addVlans: [], ports: [{ port: 3, mode: 'ACCESS', pvid: 1, ...p }] as VlanUpdate['ports'] });
    expect(port({})).toBeUndefined();
    expect(port({ mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20] })).toBeUndefined();
    expect(port({ pvid: 4095 })?.subStatus).toBe(VlanSubStatus.reservedVlanId);
    expect(port({ pvid: 0 })?.subStatus).toBe(VlanSubStatus.invalidVlanId);
    expect(port({ allowedVlans: [20] })?.subStatus).toBe(VlanSubStatus.invalidPortVlan);
    expect(port({ mode: 'TRUNK', pvid: 30, allowedVlans: [1, 20] })?.subStatus).toBe(VlanSubStatus.invalidPortVlan);
    expect(port({ mode: 'TRUNK', allowedVlans: [1, 4095] })?.subStatus).toBe(VlanSubStatus.reservedVlanId);
    expect(port({ port: 0 })?.subStatus).toBe(VlanSubStatus.invalidPort);
    const twice = vlanUpdateProblem({ addVlans: [], ports: [{ port: 3, mode: 'ACCESS', pvid: 1 }, { port: 3, mode: 'ACCESS', pvid: 1 }] });
    expect(twice?.message).toContain('port 3 is given twice');
    expect(vlanUpdateProblem({ addVlans: [7, 7], ports: [] })?.message).toContain('VLAN 7 is given twice');
    expect(vlanUpdateProblem({ addVlans: [], ports: [] })?.subStatus).toBe(VlanSubStatus.emptyUpdate);
  });

  it('describes an update in words', () => {
    expect(
      describeVlanUpdate({
        addVlans: [20],
        ports: [
          { port: 3, mode: 'ACCESS', pvid: 20 },
          { port: 8, mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20] },
        ],
      }),
    ).toBe('VLAN 20 added; port 3: ACCESS on VLAN 20; port 8: TRUNK, PVID 1, VLANs 1, 20');
  });
});
