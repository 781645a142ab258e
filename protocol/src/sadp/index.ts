/**
 * SADP-style LAN discovery: an XML Probe sent over UDP to a multicast group, answered by every device on the
 * LAN with a ProbeMatch sent unicast back to the probe's source address and port. The answer carries what the
 * manual's SADP tool shows per device (serial, model, network settings, firmware, activation state) and the
 * flags that change the initialization rules (Table 3-2): PoE NVR, EI-series switch, solar camera.
 */
import { randomUUID } from 'node:crypto';
import { LanDeviceClass, lanChannels, type DiscoveredDevice } from '../lan.js';
import { fail, ok, type Result } from '../result.js';
import { childNode, childText, elementNames, escapeXml, parseXml, type XmlNode } from '../onvif/xml.js';

export const SADP_MULTICAST_GROUP = '239.255.255.250';
export const SADP_PORT = 37020;
/** The Types value of a discovery probe and of its answers. */
export const SADP_INQUIRY = 'inquiry';
/** SADP datagrams are small; longer ones are refused before parsing. */
export const SADP_MAX_DATAGRAM_BYTES = 16 * 1024;
/** Hik defaults, used when an answer leaves a port out. */
export const SADP_DEFAULT_HTTP_PORT = 80;
export const SADP_DEFAULT_COMMAND_PORT = 8000;

/** Capabilities a device advertises in its answer (comma list). */
export const SadpCapability = { smartH265: 'smartH265', md2: 'md2', hikConnect: 'hikConnect' } as const;
export type SadpCapability = (typeof SadpCapability)[keyof typeof SadpCapability];
const KNOWN_CAPABILITIES = new Set<string>(Object.values(SadpCapability));

export interface SadpProbe {
  uuid: string;
  /** 'inquiry' for discovery. */
  types: string;
}

export interface SadpProbeMatch {
  /** The Uuid of the probe answered. */
  uuid: string;
  deviceClass: LanDeviceClass;
  /** DeviceDescription: the model, e.g. DS-2CD2143G2-I. */
  model: string;
  /** DeviceSN: the serial as the device reports it (often the long form). */
  serial: string;
  /** Lower case, colon separated. */
  mac: string;
  ipv4: string;
  mask: string;
  /** '' when the device has none. */
  gateway: string;
  dns: string;
  dhcp: boolean;
  httpPort: number;
  commandPort: number;
  /** SoftwareVersion. */
  firmware: string;
  activated: boolean;
  /** NVR with PoE channels (enabled by default). */
  poe: boolean;
  /** EI-series switch (keeps its DHCP state at initialization). */
  eiSeries: boolean;
  /** Solar-powered camera. */
  solar: boolean;
  /** Known capabilities only; unknown entries are dropped by the parser. */
  capabilities: SadpCapability[];
  /** AnalogChannelNum: analog video inputs (a DVR's); 0 when the answer leaves it out. */
  analogChannels: number;
  /** DigitalChannelNum: IP channels (an NVR's or a hybrid DVR's); 0 when the answer leaves it out. */
  digitalChannels: number;
}

const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>';
const tag = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;

/** A fresh probe Uuid (upper case, as SADP tools send it). */
export const newSadpUuid = (): string => randomUUID().toUpperCase();

/** Builds a discovery Probe, one UDP datagram. */
export function buildSadpProbe(opts: { uuid?: string } = {}): string {
  return `${XML_DECL}<Probe>${tag('Uuid', opts.uuid ?? newSadpUuid())}${tag('Types', SADP_INQUIRY)}</Probe>`;
}

function parseRoot(input: string | Uint8Array, root: string): Result<XmlNode> {
  if (input.length > SADP_MAX_DATAGRAM_BYTES) return fail('datagram too large');
  const doc = parseXml(input);
  if (!doc.ok) return doc;
  const names = elementNames(doc.value).filter((n) => n !== '?xml');
  if (names.length !== 1 || names[0] !== root) return fail(`not a ${root}: root is ${names.join(', ') || 'nothing'}`);
  const node = childNode(doc.value, root);
  if (!node) return fail(`${root} is empty`);
  return ok(node);
}

/** Parses a Probe datagram. Never throws. */
export function parseSadpProbe(input: string | Uint8Array): Result<SadpProbe> {
  const root = parseRoot(input, 'Probe');
  if (!root.ok) return root;
  const node = root.value;
  const uuid = childText(node, 'Uuid')?.trim();
  if (!uuid) return fail('Probe without Uuid');
  const types = childText(node, 'Types')?.trim() ?? '';
  if (types.toLowerCase() !== SADP_INQUIRY) return fail(`not a discovery Probe: Types ${types || '(none)'}`);
  return ok({ uuid, types: SADP_INQUIRY });
}

/** Builds the ProbeMatch a device answers with. Flags are written only when set. */
export function buildSadpProbeMatch(m: SadpProbeMatch): string {
  const parts = [
    tag('Uuid', m.uuid),
    tag('Types', SADP_INQUIRY),
    tag('DeviceClass', m.deviceClass),
    tag('DeviceDescription', m.model),
    tag('DeviceSN', m.serial),
    tag('MAC', m.mac.toLowerCase()),
    tag('IPv4Address', m.ipv4),
    tag('IPv4SubnetMask', m.mask),
    tag('IPv4Gateway', m.gateway),
    tag('IPv4DNS', m.dns),
    tag('DHCP', m.dhcp),
    tag('HttpPort', m.httpPort),
    tag('CommandPort', m.commandPort),
    tag('SoftwareVersion', m.firmware),
    tag('Activated', m.activated),
    tag('AnalogChannelNum', m.analogChannels),
    tag('DigitalChannelNum', m.digitalChannels),
    m.poe ? tag('PoE', true) : '',
    m.eiSeries ? tag('EISeries', true) : '',
    m.solar ? tag('Solar', true) : '',
    tag('Capabilities', m.capabilities.join(',')),
  ];
  return `${XML_DECL}<ProbeMatch>${parts.join('')}</ProbeMatch>`;
}

const IPV4 = /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$/;
export const isIpv4 = (s: string): boolean => IPV4.test(s);

/** Normalizes a MAC written with ':' or '-' in any case to `aa:bb:cc:dd:ee:ff`; null when it is not one. */
export function normalizeMac(s: string): string | null {
  const t = s.trim().toLowerCase();
  if (!/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/.test(t)) return null;
  return t.replace(/-/g, ':');
}

function parseBool(text: string | undefined): boolean | null {
  const t = text?.trim().toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return null;
}

/** A channel count: absent or empty → 0; anything but a small non-negative integer → null. */
function parseCount(text: string | undefined): number | null {
  const t = text?.trim();
  if (t === undefined || t === '') return 0;
  if (!/^\d{1,4}$/.test(t)) return null;
  return Number(t);
}

function parsePort(text: string | undefined, fallback: number): number | null {
  const t = text?.trim();
  if (t === undefined || t === '') return fallback;
  if (!/^\d{1,5}$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= 65535 ? n : null;
}

const CLASSES = new Set<string>(Object.values(LanDeviceClass));

/**
 * Parses a ProbeMatch datagram. Never throws. Lenient where real devices differ (MAC with dashes or upper case,
 * missing ports, unknown class → 'other', unknown capabilities dropped); strict where the edge could not use
 * the answer (no Uuid, serial, valid MAC, IPv4 address or mask, or activation state).
 */
export function parseSadpProbeMatch(input: string | Uint8Array): Result<SadpProbeMatch> {
  const root = parseRoot(input, 'ProbeMatch');
  if (!root.ok) return root;
  const node = root.value;
  const text = (name: string): string => childText(node, name)?.trim() ?? '';
  const uuid = text('Uuid');
  if (!uuid) return fail('ProbeMatch without Uuid');
  const serial = text('DeviceSN');
  if (!serial) return fail('ProbeMatch without DeviceSN');
  if (serial.length > 128) return fail('DeviceSN longer than 128 characters');
  const mac = normalizeMac(text('MAC'));
  if (!mac) return fail(`ProbeMatch with an invalid MAC: ${text('MAC') || '(none)'}`);
  const ipv4 = text('IPv4Address');
  if (!isIpv4(ipv4)) return fail(`ProbeMatch with an invalid IPv4Address: ${ipv4 || '(none)'}`);
  const mask = text('IPv4SubnetMask');
  if (!isIpv4(mask)) return fail(`ProbeMatch with an invalid IPv4SubnetMask: ${mask || '(none)'}`);
  const gateway = isIpv4(text('IPv4Gateway')) ? text('IPv4Gateway') : '';
  const dns = isIpv4(text('IPv4DNS')) ? text('IPv4DNS') : '';
  const activated = parseBool(text('Activated'));
  if (activated === null) return fail(`ProbeMatch with an invalid Activated: ${text('Activated') || '(none)'}`);
  const httpPort = parsePort(text('HttpPort'), SADP_DEFAULT_HTTP_PORT);
  if (httpPort === null) return fail(`ProbeMatch with an invalid HttpPort: ${text('HttpPort')}`);
  const commandPort = parsePort(text('CommandPort'), SADP_DEFAULT_COMMAND_PORT);
  if (commandPort === null) return fail(`ProbeMatch with an invalid CommandPort: ${text('CommandPort')}`);
  const analogChannels = parseCount(text('AnalogChannelNum'));
  if (analogChannels === null) return fail(`ProbeMatch with an invalid AnalogChannelNum: ${text('AnalogChannelNum')}`);
  const digitalChannels = parseCount(text('DigitalChannelNum'));
  if (digitalChannels === null) return fail(`ProbeMatch with an invalid DigitalChannelNum: ${text('DigitalChannelNum')}`);
  const cls = text('DeviceClass');
  const capabilities = [
    ...new Set(
      text('Capabilities')
        .split(',')
        .map((c) => c.trim())
        .filter((c) => KNOWN_CAPABILITIES.has(c)),
    ),
  ] as SadpCapability[];
  return ok({
    uuid,
    deviceClass: CLASSES.has(cls) ? (cls as LanDeviceClass) : LanDeviceClass.other,
    model: text('DeviceDescription').slice(0, 128),
    serial,
    mac,
    ipv4,
    mask,
    gateway,
    dns,
    dhcp: parseBool(text('DHCP')) ?? false,
    httpPort,
    commandPort,
    firmware: text('SoftwareVersion').slice(0, 128),
    activated,
    poe: parseBool(text('PoE')) ?? false,
    eiSeries: parseBool(text('EISeries')) ?? false,
    solar: parseBool(text('Solar')) ?? false,
    capabilities,
    analogChannels,
    digitalChannels,
  });
}

/** The DiscoveredDevice an answer describes (`pingMs` = round trip of the probe, when measured). */
export function sadpMatchToDiscovered(m: SadpProbeMatch, seen: { pingMs: number | null; lastSeenAt: number }): DiscoveredDevice {
  return {
    serial: m.serial,
    deviceClass: m.deviceClass,
    model: m.model,
    firmware: m.firmware,
    mac: m.mac,
    network: { dhcp: m.dhcp, ipv4: m.ipv4, mask: m.mask, gateway: m.gateway, dns: m.dns },
    httpPort: m.httpPort,
    activated: m.activated,
    channels: lanChannels(m.deviceClass, m.analogChannels, m.digitalChannels),
    pingMs: seen.pingMs,
    via: 'sadp',
    lastSeenAt: seen.lastSeenAt,
  };
}
