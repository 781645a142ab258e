import { LanDeviceClass, type SadpProbeMatch } from '@vigil/protocol';

/** A ProbeMatch's content for unit tests, without the probe's Uuid. */
export const sadpState = (serial: string, over: Partial<Omit<SadpProbeMatch, 'uuid'>> = {}): Omit<SadpProbeMatch, 'uuid'> => ({
  deviceClass: LanDeviceClass.camera,
  model: 'DS-2CD2143G2-I',
  serial,
  mac: '44:19:b6:00:00:01',
  ipv4: '192.168.1.64',
  mask: '255.255.255.0',
  gateway: '192.168.1.1',
  dns: '192.168.1.1',
  dhcp: false,
  httpPort: 80,
  commandPort: 8000,
  firmware: 'V5.7.3',
  activated: false,
  poe: false,
  eiSeries: false,
  solar: false,
  capabilities: [],
  analogChannels: 0,
  digitalChannels: 0,
  ...over,
});
