import Type, { type Static, type TLiteral } from 'typebox';

/**
 * What the edge sees on its customer's LAN (the role of the manual's SADP tool): every device that answers
 * a discovery probe, activated or not, with its network settings and how fast it answers.
 */

/** The manual's ping levels: green < 50 ms (smooth), yellow 50–200 ms (some operations may fail), red > 200 ms. */
export const PingLevel = { green: 'green', yellow: 'yellow', red: 'red' } as const;
export type PingLevel = (typeof PingLevel)[keyof typeof PingLevel];

export function pingLevel(ms: number): PingLevel {
  if (ms < 50) return PingLevel.green;
  if (ms <= 200) return PingLevel.yellow;
  return PingLevel.red;
}

/**
 * Device classes as the manual's initialization rules (Table 3-2) and adding rules (Table 3-6) tell them
 * apart. Variants that change a rule are flags on the device (PoE NVR, EI-series switch, solar camera).
 */
export const LanDeviceClass = {
  nvr: 'nvr',
  dvr: 'dvr',
  camera: 'camera',
  networkSwitch: 'switch',
  acRouter: 'ac_router',
  accessPoint: 'ap',
  alarmPanel: 'alarm_panel',
  accessControl: 'access_control',
  intercom: 'intercom',
  doorbell: 'doorbell',
  edgeBox: 'edge_box',
  other: 'other',
} as const;
export type LanDeviceClass = (typeof LanDeviceClass)[keyof typeof LanDeviceClass];

const literals = <T extends string>(values: readonly T[]) => values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>];

const Ipv4 = Type.String({ pattern: '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$' });

export const LanNetworkSchema = Type.Object(
  {
    dhcp: Type.Boolean(),
    ipv4: Ipv4,
    mask: Ipv4,
    gateway: Type.Union([Ipv4, Type.Literal('')]),
    dns: Type.Union([Ipv4, Type.Literal('')]),
  },
  { additionalProperties: false },
);
export type LanNetwork = Static<typeof LanNetworkSchema>;

export const DiscoveredDeviceSchema = Type.Object(
  {
    /** The serial as the device reports it (often the long form). */
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    deviceClass: Type.Union(literals(Object.values(LanDeviceClass))),
    model: Type.String({ maxLength: 128 }),
    firmware: Type.String({ maxLength: 128 }),
    mac: Type.String({ pattern: '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' }),
    network: LanNetworkSchema,
    httpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    activated: Type.Boolean(),
    /** Video channels this device brings to a site: a camera 1, an NVR or DVR its analog + digital channels, others 0. */
    channels: Type.Integer({ minimum: 0 }),
    /** Round trip of the last probe answer, and its level; null until measured. */
    pingMs: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    /** How the edge found it. */
    via: Type.Union([Type.Literal('sadp'), Type.Literal('onvif')]),
    lastSeenAt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type DiscoveredDevice = Static<typeof DiscoveredDeviceSchema>;

/** The video channels a device brings to a site, from the channel counts its discovery answer carries. */
export function lanChannels(deviceClass: LanDeviceClass, analog: number, digital: number): number {
  if (deviceClass === LanDeviceClass.camera) return Math.max(1, analog + digital);
  if (deviceClass === LanDeviceClass.nvr || deviceClass === LanDeviceClass.dvr) return analog + digital;
  return 0;
}

/** The whole picture of the LAN, sent when it changes (and on connect): small enough for one message. */
export const LanSnapshotSchema = Type.Object(
  {
    devices: Type.Array(DiscoveredDeviceSchema, { maxItems: 1024 }),
    /** When the edge finished the discovery round this picture comes from. */
    at: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type LanSnapshot = Static<typeof LanSnapshotSchema>;
