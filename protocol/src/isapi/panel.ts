/**
 * A security control panel's ISAPI-style resources (manual §3.2.2): its model capabilities, the status of its
 * areas (sub-systems), zones and host, the operations on an area, and its ARC settings (Table 3-8). A refused
 * operation answers a ResponseStatus whose subStatusCode is one of PanelSubStatus.
 */
import { ARC_EVENT_TYPES, type ArcEventType } from '../api/arc.js';
import {
  PANEL_ARC_PROTOCOLS,
  PANEL_MODELS,
  PanelAreaState,
  PanelArming,
  PanelOperation,
  PanelRefusalReason,
  ZONE_TYPES,
  panelArcSettingsProblem,
  type PanelArcProtocol,
  type PanelArcSettings,
  type PanelArcTransport,
  type PanelModel,
  type PanelModelCapabilities,
  type ZoneType,
} from '../panels.js';
import { children, childNode, isNode, type XmlNode } from '../onvif/xml.js';
import { fail, ok, type Result } from '../result.js';
import { isapiDoc as doc, IsapiReader as Reader, isapiRoot as root, isapiTag as tag } from './messages.js';

export const PanelIsapiPath = {
  capabilities: '/ISAPI/SecurityCP/capabilities',
  areaStatus: '/ISAPI/SecurityCP/status/subSystems',
  zoneStatus: '/ISAPI/SecurityCP/status/zones',
  hostStatus: '/ISAPI/SecurityCP/status/host',
  /** GET and PUT. */
  arc: '/ISAPI/SecurityCP/ARC',
} as const;

export const PanelSubStatus = {
  ...PanelRefusalReason,
  /** Arming an area whose alarm has not been cleared. */
  areaInAlarm: 'areaInAlarm',
  /** `ways` is not away or stay. */
  invalidArmingWay: 'invalidArmingWay',
} as const;
export type PanelSubStatus = (typeof PanelSubStatus)[keyof typeof PanelSubStatus];

const CONTROL_PREFIX = '/ISAPI/SecurityCP/control';
const CONTROL_VERB: Record<PanelOperation, string> = {
  away_arm: 'arm',
  stay_arm: 'arm',
  disarm: 'disarm',
  silence: 'silence',
  clear_alarm: 'clearAlarm',
};

/** Where to PUT an operation on an area, e.g. `/ISAPI/SecurityCP/control/arm/1?ways=stay`. */
export function panelControlPath(op: PanelOperation, area: number): string {
  const ways = op === PanelOperation.awayArm ? '?ways=away' : op === PanelOperation.stayArm ? '?ways=stay' : '';
  return `${CONTROL_PREFIX}/${CONTROL_VERB[op]}/${area}${ways}`;
}

const CONTROL_PATH = /^\/ISAPI\/SecurityCP\/control\/(arm|disarm|silence|clearAlarm)\/(\d{1,4})$/;

/** The operation a control URL asks for; null when the path is not a control path. */
export function parsePanelControlPath(url: URL): Result<{ op: PanelOperation; area: number }> | null {
  const m = CONTROL_PATH.exec(url.pathname);
  if (!m) return null;
  const area = Number(m[2]);
  switch (m[1]) {
    case 'arm': {
      const ways = url.searchParams.get('ways');
      if (ways === 'away') return ok({ op: PanelOperation.awayArm, area });
      if (ways === 'stay') return ok({ op: PanelOperation.stayArm, area });
      return fail(`ways must be away or stay, not ${JSON.stringify(ways ?? '')}`);
    }
    case 'disarm':
      return ok({ op: PanelOperation.disarm, area });
    case 'silence':
      return ok({ op: PanelOperation.silence, area });
    default:
      return ok({ op: PanelOperation.clearAlarm, area });
  }
}

// -------------------------------------------------------------------------------------------- capabilities

export interface PanelCapabilitiesInfo extends PanelModelCapabilities {
  model: PanelModel;
  areas: number;
  zones: number;
}

const CAPABILITY_FIELDS = ['control', 'stayArm', 'silence', 'verificationCode', 'configure', 'upgradePin', 'templates'] as const satisfies readonly (keyof PanelModelCapabilities)[];

export function buildPanelCapabilities(c: PanelCapabilitiesInfo): string {
  return doc('SecurityCPCapabilities', [tag('model', c.model), ...CAPABILITY_FIELDS.map((f) => tag(f, c[f])), tag('areas', c.areas), tag('zones', c.zones)]);
}

export function parsePanelCapabilities(input: string | Uint8Array): Result<PanelCapabilitiesInfo> {
  const r = root(input, 'SecurityCPCapabilities');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'SecurityCPCapabilities');
  const caps = Object.fromEntries(CAPABILITY_FIELDS.map((f) => [f, x.bool(f)])) as unknown as PanelModelCapabilities;
  return x.done({ model: x.oneOf('model', PANEL_MODELS), ...caps, areas: x.int('areas', undefined, 0, 9999), zones: x.int('zones', undefined, 0, 9999) });
}

// ------------------------------------------------------------------------------------------------- status

export interface PanelAreaStatus {
  id: number;
  name: string;
  arming: PanelArming;
  state: PanelAreaState;
  /** An alarm is in memory: silencing keeps it, clearing or disarming ends it. */
  alarm: boolean;
  /** The sirens sound. */
  siren: boolean;
  /** A delay zone was triggered and the entry delay runs. */
  entryDelay: boolean;
}

export interface PanelZoneStatus {
  id: number;
  name: string;
  area: number;
  type: ZoneType;
  /** The detector is triggered (door open, motion, smoke...). */
  active: boolean;
  /** The zone raised the alarm in memory. */
  alarm: boolean;
  tamper: boolean;
  /** Left out when the area is stay armed (an interior zone). */
  stayBypass: boolean;
}

export interface PanelHostStatus {
  acPowerLoss: boolean;
  batteryLow: boolean;
  /** The panel's own enclosure is open. */
  tamper: boolean;
  arcEnabled: boolean;
  /** Events waiting for the ARC's receiver. */
  arcQueued: number;
  /** Transmission to the ARC failed and no message has been acknowledged since. */
  arcCommFailure: boolean;
}

const ARMINGS = Object.values(PanelArming);
const AREA_STATES = Object.values(PanelAreaState);

export function buildPanelAreaStatusList(areas: readonly PanelAreaStatus[]): string {
  return doc(
    'SubSystemStatusList',
    areas.map(
      (a) =>
        `<SubSystemStatus>${[tag('id', a.id), tag('name', a.name), tag('arming', a.arming), tag('state', a.state), tag('alarm', a.alarm), tag('siren', a.siren), tag('entryDelay', a.entryDelay)].join('')}</SubSystemStatus>`,
    ),
  );
}

export function parsePanelAreaStatusList(input: string | Uint8Array): Result<PanelAreaStatus[]> {
  const r = root(input, 'SubSystemStatusList');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'SubSystemStatus');
  const areas = nodes(r.value, 'SubSystemStatus').map((n) => ({
    id: x.int('id', n, 1, 9999),
    name: x.optText('name', n) ?? '',
    arming: x.oneOf('arming', ARMINGS, n),
    state: x.oneOf('state', AREA_STATES, n),
    alarm: x.bool('alarm', n),
    siren: x.bool('siren', n),
    entryDelay: x.optBool('entryDelay', n) ?? false,
  }));
  return x.done(areas);
}

export function buildPanelZoneStatusList(zones: readonly PanelZoneStatus[]): string {
  return doc(
    'ZoneStatusList',
    zones.map(
      (z) =>
        `<ZoneStatus>${[
          tag('id', z.id),
          tag('name', z.name),
          tag('subSystemNo', z.area),
          tag('zoneType', z.type),
          tag('active', z.active),
          tag('alarm', z.alarm),
          tag('tamper', z.tamper),
          tag('stayBypass', z.stayBypass),
        ].join('')}</ZoneStatus>`,
    ),
  );
}

export function parsePanelZoneStatusList(input: string | Uint8Array): Result<PanelZoneStatus[]> {
  const r = root(input, 'ZoneStatusList');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'ZoneStatus');
  const zones = nodes(r.value, 'ZoneStatus').map((n) => ({
    id: x.int('id', n, 1, 9999),
    name: x.optText('name', n) ?? '',
    area: x.int('subSystemNo', n, 1, 9999),
    type: x.oneOf('zoneType', ZONE_TYPES, n),
    active: x.bool('active', n),
    alarm: x.bool('alarm', n),
    tamper: x.bool('tamper', n),
    stayBypass: x.optBool('stayBypass', n) ?? false,
  }));
  return x.done(zones);
}

export function buildPanelHostStatus(h: PanelHostStatus): string {
  return doc('HostStatus', [
    tag('acPowerLoss', h.acPowerLoss),
    tag('batteryLow', h.batteryLow),
    tag('tamper', h.tamper),
    tag('arcEnabled', h.arcEnabled),
    tag('arcQueued', h.arcQueued),
    tag('arcCommFailure', h.arcCommFailure),
  ]);
}

export function parsePanelHostStatus(input: string | Uint8Array): Result<PanelHostStatus> {
  const r = root(input, 'HostStatus');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'HostStatus');
  return x.done({
    acPowerLoss: x.bool('acPowerLoss'),
    batteryLow: x.bool('batteryLow'),
    tamper: x.bool('tamper'),
    arcEnabled: x.bool('arcEnabled'),
    arcQueued: x.int('arcQueued'),
    arcCommFailure: x.bool('arcCommFailure'),
  });
}

// ------------------------------------------------------------------------------------------------- ARC

/**
 * The ARC settings document. The panel never gives its key back: `encrypted` says whether it has one. In a
 * PUT, `encrypted` with a `key` sets it, `encrypted` without one keeps the current key, and not `encrypted`
 * removes it.
 */
export type PanelArcSettingsDoc = Omit<PanelArcSettings, 'key'> & { encrypted: boolean; key?: string };

/** The document a panel answers a GET with. */
export function panelArcSettingsDoc(s: PanelArcSettings): PanelArcSettingsDoc {
  const { key, ...rest } = s;
  return { ...rest, receiver: { ...rest.receiver }, reportTypes: [...rest.reportTypes], encrypted: key !== null };
}

/** Seconds to the millisecond. */
const SECONDS = /^\d{1,9}(\.\d{1,3})?$/;
const TRANSPORTS: readonly PanelArcTransport[] = ['tcp', 'udp'];

export function buildPanelArcSettings(s: PanelArcSettingsDoc): string {
  return doc('ARCSettings', [
    tag('enabled', s.enabled),
    tag('accountCode', s.accountCode),
    tag('protocol', s.protocol),
    `<Receiver>${tag('address', s.receiver.host)}${tag('port', s.receiver.port)}${tag('transport', s.receiver.transport)}</Receiver>`,
    `<Encryption>${tag('enabled', s.encrypted)}${s.key === undefined ? '' : tag('key', s.key)}</Encryption>`,
    tag('impulseCountingTime', s.impulseCountingTimeSec),
    tag('attempts', s.attempts),
    tag('pollingRate', s.pollingRateSec),
    `<PeriodicTest>${tag('enabled', s.periodicTest)}${tag('interval', s.periodicTestIntervalSec)}</PeriodicTest>`,
    `<EventTypeList>${s.reportTypes.map((t) => tag('eventType', t)).join('')}</EventTypeList>`,
  ]);
}

export function parsePanelArcSettings(input: string | Uint8Array): Result<PanelArcSettingsDoc> {
  const r = root(input, 'ARCSettings');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'ARCSettings');
  let problem: string | undefined;
  const seconds = (field: string, node: XmlNode = r.value): number => {
    const t = x.text(field, node);
    if (SECONDS.test(t)) return Number(t);
    problem ??= `ARCSettings.${field}: not a number of seconds`;
    return 0;
  };
  const receiver = childNode(r.value, 'Receiver') ?? {};
  const encryption = childNode(r.value, 'Encryption') ?? {};
  const periodic = childNode(r.value, 'PeriodicTest') ?? {};
  const reportTypes: ArcEventType[] = [];
  for (const t of children(childNode(r.value, 'EventTypeList'), 'eventType')) {
    if (typeof t === 'string' && (ARC_EVENT_TYPES as readonly string[]).includes(t)) reportTypes.push(t as ArcEventType);
    else problem ??= `ARCSettings.eventType: not one of ${ARC_EVENT_TYPES.join(', ')}`;
  }
  const key = x.optText('key', encryption);
  const out: PanelArcSettingsDoc = {
    enabled: x.bool('enabled'),
    accountCode: (x.optText('accountCode') ?? '').toUpperCase(),
    protocol: x.oneOf<PanelArcProtocol>('protocol', PANEL_ARC_PROTOCOLS),
    receiver: { host: x.optText('address', receiver) ?? '', port: x.int('port', receiver, 0, 65535), transport: x.oneOf('transport', TRANSPORTS, receiver) },
    encrypted: x.bool('enabled', encryption),
    ...(key ? { key } : {}),
    impulseCountingTimeSec: seconds('impulseCountingTime'),
    attempts: x.int('attempts', undefined, 0, 1000),
    pollingRateSec: seconds('pollingRate'),
    periodicTest: x.bool('enabled', periodic),
    periodicTestIntervalSec: seconds('interval', periodic),
    reportTypes,
  };
  return problem === undefined ? x.done(out) : fail(problem);
}

/** The settings a PUT leads to from `current`, checked whole. Never throws. */
export function applyPanelArcSettings(current: PanelArcSettings, put: PanelArcSettingsDoc): Result<PanelArcSettings> {
  const { encrypted, key, ...rest } = put;
  if (encrypted && key === undefined && current.key === null) return fail('a key is needed to encrypt');
  const next: PanelArcSettings = { ...rest, receiver: { ...rest.receiver }, reportTypes: [...rest.reportTypes], key: encrypted ? (key ?? current.key) : null };
  const problem = panelArcSettingsProblem(next);
  return problem ? fail(problem) : ok(next);
}

const nodes = (parent: XmlNode, name: string): XmlNode[] => children(parent, name).map((n) => (isNode(n) ? n : {}));
