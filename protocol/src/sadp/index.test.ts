import { describe, expect, it } from 'vitest';
import { DiscoveredDeviceSchema } from '../lan.js';
import { decoder } from '../validate.js';
import {
  SADP_MULTICAST_GROUP,
  SADP_PORT,
  buildSadpProbe,
  buildSadpProbeMatch,
  normalizeMac,
  parseSadpProbe,
  parseSadpProbeMatch,
  sadpMatchToDiscovered,
  type SadpProbeMatch,
} from './index.js';

const PROBE = '<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>7C1B3A52-8E0F-4E55-A1D2-3B4C5D6E7F80</Uuid><Types>inquiry</Types></Probe>';

const MATCH_XML =
  '<?xml version="1.0" encoding="utf-8"?><ProbeMatch>' +
  '<Uuid>7C1B3A52-8E0F-4E55-A1D2-3B4C5D6E7F80</Uuid><Types>inquiry</Types>' +
  '<DeviceClass>nvr</DeviceClass><DeviceDescription>DS-7608NXI-K2/8P</DeviceDescription>' +
  '<DeviceSN>DS-7608NXI-K2/8P0820240101CCRRK12345678</DeviceSN><MAC>c0:56:e3:a1:b2:c3</MAC>' +
  '<IPv4Address>192.168.1.64</IPv4Address><IPv4SubnetMask>255.255.255.0</IPv4SubnetMask>' +
  '<IPv4Gateway>192.168.1.1</IPv4Gateway><IPv4DNS>8.8.8.8</IPv4DNS><DHCP>false</DHCP>' +
  '<HttpPort>80</HttpPort><CommandPort>8000</CommandPort><SoftwareVersion>V4.74.105 build 231010</SoftwareVersion>' +
  '<Activated>false</Activated><AnalogChannelNum>0</AnalogChannelNum><DigitalChannelNum>8</DigitalChannelNum><PoE>true</PoE><Capabilities>smartH265,md2,hikConnect</Capabilities></ProbeMatch>';

const MATCH: SadpProbeMatch = {
  uuid: '7C1B3A52-8E0F-4E55-A1D2-3B4C5D6E7F80',
  deviceClass: 'nvr',
  model: 'DS-7608NXI-K2/8P',
  serial: 'DS-7608NXI-K2/8P0820240101CCRRK12345678',
  mac: 'c0:56:e3:a1:b2:c3',
  ipv4: '192.168.1.64',
  mask: '255.255.255.0',
  gateway: '192.168.1.1',
  dns: '8.8.8.8',
  dhcp: false,
  httpPort: 80,
  commandPort: 8000,
  firmware: 'V4.74.105 build 231010',
  activated: false,
  poe: true,
  eiSeries: false,
  solar: false,
  capabilities: ['smartH265', 'md2', 'hikConnect'],
  analogChannels: 0,
  digitalChannels: 8,
};

describe('SADP probe', () => {
  it('has the well-known group and port', () => {
    expect(SADP_MULTICAST_GROUP).toBe('239.255.255.250');
    expect(SADP_PORT).toBe(37020);
  });

  it('builds the exact bytes', () => {
    expect(buildSadpProbe({ uuid: '7C1B3A52-8E0F-4E55-A1D2-3B4C5D6E7F80' })).toBe(PROBE);
  });

  it('parses a probe from text or bytes', () => {
    const want = { ok: true, value: { uuid: '7C1B3A52-8E0F-4E55-A1D2-3B4C5D6E7F80', types: 'inquiry' } };
    expect(parseSadpProbe(PROBE)).toEqual(want);
    expect(parseSadpProbe(Buffer.from(PROBE))).toEqual(want);
    expect(parseSadpProbe('<Probe>\n  <Uuid> abc </Uuid>\n  <Types>Inquiry</Types>\n</Probe>')).toEqual({
      ok: true,
      value: { uuid: 'abc', types: 'inquiry' },
    });
  });

  it('gives each probe a fresh uuid', () => {
    const a = parseSadpProbe(buildSadpProbe());
    const b = parseSadpProbe(buildSadpProbe());
    expect(a.ok && b.ok && a.value.uuid !== b.value.uuid).toBe(true);
  });

  it('refuses what is not a discovery probe, without throwing', () => {
    for (const bad of [
      '',
      'garbage',
      '<Probe><Types>inquiry</Types></Probe>',
      '<Probe><Uuid>x</Uuid><Types>update</Types></Probe>',
      '<Probe><Uuid>x</Uuid></Probe>',
      MATCH_XML,
      '<Probe><Uuid>x</Uuid><Types>inquiry</Types>',
      '<!DOCTYPE x [<!ENTITY a "b">]><Probe><Uuid>&a;</Uuid><Types>inquiry</Types></Probe>',
      `<Probe><Uuid>${'x'.repeat(20000)}</Uuid><Types>inquiry</Types></Probe>`,
      Buffer.from([0xff, 0xfe, 0x00, 0x3c]),
    ]) {
      const r = parseSadpProbe(bad);
      expect(r.ok, String(bad).slice(0, 60)).toBe(false);
    }
  });
});

describe('SADP probe match', () => {
  it('builds the exact bytes (flags only when set)', () => {
    expect(buildSadpProbeMatch(MATCH)).toBe(MATCH_XML);
  });

  it('round-trips', () => {
    expect(parseSadpProbeMatch(MATCH_XML)).toEqual({ ok: true, value: MATCH });
    const sw: SadpProbeMatch = { ...MATCH, deviceClass: 'switch', poe: false, eiSeries: true, capabilities: [], dhcp: true, activated: true };
    expect(parseSadpProbeMatch(buildSadpProbeMatch(sw))).toEqual({ ok: true, value: sw });
    const cam: SadpProbeMatch = { ...MATCH, deviceClass: 'camera', poe: false, solar: true, model: 'A&B <cam>', gateway: '', dns: '' };
    expect(parseSadpProbeMatch(Buffer.from(buildSadpProbeMatch(cam)))).toEqual({ ok: true, value: cam });
  });

  it('reads a device-style answer leniently', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ProbeMatch>\n<Uuid>u1</Uuid>\n<Types>inquiry</Types>\n<DeviceType>139</DeviceType>\n' +
      '<DeviceClass>toaster</DeviceClass>\n<DeviceDescription>DS-2CD2143G2-I</DeviceDescription>\n<DeviceSN>DS-2CD2143G2-I20240101AACHE12345678</DeviceSN>\n' +
      '<MAC>C0-56-E3-A1-B2-C4</MAC>\n<IPv4Address>192.0.0.64</IPv4Address>\n<IPv4SubnetMask>255.255.255.0</IPv4SubnetMask>\n' +
      '<IPv4Gateway>::</IPv4Gateway>\n<DHCP>TRUE</DHCP>\n<SoftwareVersion>V5.7.3build 220112</SoftwareVersion>\n' +
      '<Activated>true</Activated>\n<Capabilities>md2, foo ,md2</Capabilities>\n</ProbeMatch>';
    expect(parseSadpProbeMatch(xml)).toEqual({
      ok: true,
      value: {
        uuid: 'u1',
        deviceClass: 'other',
        model: 'DS-2CD2143G2-I',
        serial: 'DS-2CD2143G2-I20240101AACHE12345678',
        mac: 'c0:56:e3:a1:b2:c4',
        ipv4: '192.0.0.64',
        mask: '255.255.255.0',
        gateway: '',
        dns: '',
        dhcp: true,
        httpPort: 80,
        commandPort: 8000,
        firmware: 'V5.7.3build 220112',
        activated: true,
        poe: false,
        eiSeries: false,
        solar: false,
        capabilities: ['md2'],
        analogChannels: 0,
        digitalChannels: 0,
      },
    });
  });

  it('refuses answers the edge could not use', () => {
    const without = (name: string) => MATCH_XML.replace(new RegExp(`<${name}>[^<]*</${name}>`), '');
    const replace = (name: string, v: string) => MATCH_XML.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${v}</${name}>`);
    for (const bad of [
      without('Uuid'),
      without('DeviceSN'),
      without('MAC'),
      without('IPv4Address'),
      without('IPv4SubnetMask'),
      without('Activated'),
      replace('MAC', 'c0:56:e3:a1:b2'),
      replace('IPv4Address', '192.168.1.300'),
      replace('Activated', 'maybe'),
      replace('HttpPort', '70000'),
      replace('CommandPort', 'x'),
      replace('AnalogChannelNum', '-1'),
      replace('DigitalChannelNum', 'many'),
      PROBE,
      '<ProbeMatch/>',
      '',
    ]) {
      expect(parseSadpProbeMatch(bad).ok, bad.slice(0, 80)).toBe(false);
    }
  });

  it('maps onto a DiscoveredDevice', () => {
    const d = sadpMatchToDiscovered(MATCH, { pingMs: 12, lastSeenAt: 1_700_000_000_000 });
    expect(d).toEqual({
      serial: 'DS-7608NXI-K2/8P0820240101CCRRK12345678',
      deviceClass: 'nvr',
      model: 'DS-7608NXI-K2/8P',
      firmware: 'V4.74.105 build 231010',
      mac: 'c0:56:e3:a1:b2:c3',
      network: { dhcp: false, ipv4: '192.168.1.64', mask: '255.255.255.0', gateway: '192.168.1.1', dns: '8.8.8.8' },
      httpPort: 80,
      activated: false,
      channels: 8,
      pingMs: 12,
      via: 'sadp',
      lastSeenAt: 1_700_000_000_000,
    });
    expect(decoder(DiscoveredDeviceSchema).decode(d).ok).toBe(true);
    const noGw = sadpMatchToDiscovered({ ...MATCH, gateway: '', dns: '' }, { pingMs: null, lastSeenAt: 0 });
    expect(decoder(DiscoveredDeviceSchema).decode(noGw).ok).toBe(true);
  });

  it('counts the video channels a device brings to a site', () => {
    const channels = (over: Partial<SadpProbeMatch>) => sadpMatchToDiscovered({ ...MATCH, ...over }, { pingMs: null, lastSeenAt: 0 }).channels;
    expect(channels({ deviceClass: 'nvr', analogChannels: 0, digitalChannels: 16 })).toBe(16);
    expect(channels({ deviceClass: 'dvr', analogChannels: 8, digitalChannels: 2 })).toBe(10);
    expect(channels({ deviceClass: 'camera', analogChannels: 0, digitalChannels: 0 })).toBe(1);
    expect(channels({ deviceClass: 'switch', analogChannels: 0, digitalChannels: 4 })).toBe(0);
    expect(channels({ deviceClass: 'ac_router', analogChannels: 0, digitalChannels: 0 })).toBe(0);
    // Answers without the counts (older firmware) read as 0.
    const old = MATCH_XML.replace(/<AnalogChannelNum>[^<]*<\/AnalogChannelNum><DigitalChannelNum>[^<]*<\/DigitalChannelNum>/, '');
    expect(parseSadpProbeMatch(old)).toMatchObject({ ok: true, value: { analogChannels: 0, digitalChannels: 0 } });
  });

  it('normalizes MACs', () => {
    expect(normalizeMac('AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aa:bb:cc:dd:ee')).toBeNull();
  });
});
