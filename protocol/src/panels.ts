/**
 * Security control panels of the AX family (manual §3.2.2): what each model takes through the platform, the
 * areas and zones they report, and their alarm receiving centre (ARC) settings (Table 3-8). The panel
 * simulator enforces these rules, and the cloud checks them before sending anything to a panel.
 */
import { Dc09Token } from './dc09/frame.js';
import { parseDc09Key } from './dc09/crypto.js';
import { ARC_EVENT_TYPES, ARC_TRANSMISSION_LIMITS, receiverHostProblem, type ArcEventType } from './api/arc.js';

export const PanelModel = {
  axHome: 'AX HOME',
  axPro: 'AX PRO',
  axHub: 'AX HUB',
  axHybrid: 'AX HYBRID',
  axHybridPro: 'AX HYBRID PRO',
} as const;
export type PanelModel = (typeof PanelModel)[keyof typeof PanelModel];
export const PANEL_MODELS: readonly PanelModel[] = Object.values(PanelModel);

export interface PanelModelCapabilities {
  /** Arm, disarm, silence and clear alarms through the platform. AX HUB and AX HYBRID take generic management only. */
  control: boolean;
  stayArm: boolean;
  silence: boolean;
  /** Has a Hik-Connect verification code; one without is added by serial alone, from the mobile app only. */
  verificationCode: boolean;
  /** Configurable through the platform (remote configuration, language, ARC settings from the app). */
  configure: boolean;
  /** A PIN can be applied for, to upgrade its firmware. */
  upgradePin: boolean;
  /** Batch configuration by template and batch upgrade from the portal. */
  templates: boolean;
}

/** The manual's differences between the models (§3.2.2, §3.1.4). */
export const PANEL_CAPABILITIES: Readonly<Record<PanelModel, PanelModelCapabilities>> = {
  'AX HOME': { control: true, stayArm: false, silence: true, verificationCode: false, configure: true, upgradePin: false, templates: false },
  'AX PRO': { control: true, stayArm: true, silence: true, verificationCode: true, configure: true, upgradePin: true, templates: true },
  'AX HUB': { control: false, stayArm: true, silence: true, verificationCode: true, configure: false, upgradePin: false, templates: false },
  'AX HYBRID': { control: false, stayArm: true, silence: true, verificationCode: true, configure: false, upgradePin: false, templates: false },
  'AX HYBRID PRO': { control: true, stayArm: true, silence: false, verificationCode: true, configure: true, upgradePin: true, templates: false },
};

/** The model a name designates: case and spacing are free, and the manual's spelling "AX HYBIRD" is accepted. */
export function panelModelOf(name: string): PanelModel | null {
  const n = name.toUpperCase().replace(/HYBIRD/g, 'HYBRID').replace(/[\s_-]+/g, ' ').trim();
  return PANEL_MODELS.find((m) => m === n || m.replace(/ /g, '') === n.replace(/ /g, '')) ?? null;
}

// ------------------------------------------------------------------------------------------ areas and zones

export const ZoneType = { instant: 'instant', delay: 'delay', h24: '24h', fire: 'fire', panic: 'panic', tamper: 'tamper' } as const;
export type ZoneType = (typeof ZoneType)[keyof typeof ZoneType];
export const ZONE_TYPES: readonly ZoneType[] = Object.values(ZoneType);

/** How an area is armed, whatever its alarm. */
export const PanelArming = { disarmed: 'disarmed', away: 'away', stay: 'stay' } as const;
export type PanelArming = (typeof PanelArming)[keyof typeof PanelArming];

/** An area's state as shown: `alarm` while an alarm is in memory (silencing keeps it, disarming or clearing ends it). */
export const PanelAreaState = { disarmed: 'disarmed', awayArmed: 'away_armed', stayArmed: 'stay_armed', alarm: 'alarm' } as const;
export type PanelAreaState = (typeof PanelAreaState)[keyof typeof PanelAreaState];

export const panelAreaState = (arming: PanelArming, alarm: boolean): PanelAreaState =>
  alarm ? PanelAreaState.alarm : arming === PanelArming.away ? PanelAreaState.awayArmed : arming === PanelArming.stay ? PanelAreaState.stayArmed : PanelAreaState.disarmed;

export const PanelOperation = { awayArm: 'away_arm', stayArm: 'stay_arm', disarm: 'disarm', silence: 'silence', clearAlarm: 'clear_alarm' } as const;
export type PanelOperation = (typeof PanelOperation)[keyof typeof PanelOperation];
export const PANEL_OPERATIONS: readonly PanelOperation[] = Object.values(PanelOperation);

/** Why a model refuses an operation; the values are the subStatusCode of the panel's refusal. */
export const PanelRefusalReason = {
  controlNotSupported: 'controlNotSupported',
  stayArmNotSupported: 'stayArmNotSupported',
  silenceNotSupported: 'silenceNotSupported',
} as const;
export type PanelRefusalReason = (typeof PanelRefusalReason)[keyof typeof PanelRefusalReason];

export interface PanelRefusal {
  reason: PanelRefusalReason;
  message: string;
}

/**
 * Why `model` refuses `op`, or null when it takes it. `fromPlatform` false (the panel's own keypad) leaves out
 * the platform-only rule of AX HUB and AX HYBRID.
 */
export function panelOperationRefusal(model: PanelModel, op: PanelOperation, fromPlatform = true): PanelRefusal | null {
  const caps = PANEL_CAPABILITIES[model];
  if (fromPlatform && !caps.control) {
    return {
      reason: PanelRefusalReason.controlNotSupported,
      message: `${model} cannot be controlled through the platform: it takes generic management only (ARC service, health monitoring, linkage and exception rules, remote configuration).`,
    };
  }
  if (op === PanelOperation.stayArm && !caps.stayArm) return { reason: PanelRefusalReason.stayArmNotSupported, message: `${model} does not support stay arming.` };
  if (op === PanelOperation.silence && !caps.silence) return { reason: PanelRefusalReason.silenceNotSupported, message: `${model} does not support silencing alarms.` };
  return null;
}

// ------------------------------------------------------------------------------------------------- ARC

/** The DC-09 message format the panel sends: Contact ID or SIA. */
export const PanelArcProtocol = { contactId: Dc09Token.contactId, sia: Dc09Token.sia } as const;
export type PanelArcProtocol = (typeof PanelArcProtocol)[keyof typeof PanelArcProtocol];
export const PANEL_ARC_PROTOCOLS: readonly PanelArcProtocol[] = Object.values(PanelArcProtocol);

export const PanelArcTransport = { tcp: 'tcp', udp: 'udp' } as const;
export type PanelArcTransport = (typeof PanelArcTransport)[keyof typeof PanelArcTransport];

export interface PanelArcReceiver {
  /** An IP address or a host name: the edge box's local DC-09 receiver or the ARC's receiver. */
  host: string;
  port: number;
  transport: PanelArcTransport;
}

/** Table 3-8 plus where and how to send. Times are in seconds, to the millisecond. */
export interface PanelArcSettings {
  enabled: boolean;
  /** Assigned by the ARC: the DC-09 account, 3 to 16 hex digits. */
  accountCode: string;
  protocol: PanelArcProtocol;
  receiver: PanelArcReceiver;
  /** DC-09 AES key (32, 48 or 64 hex digits); null sends in plain text. */
  key: string | null;
  /** How long to wait for the receiver's ACK before sending again. */
  impulseCountingTimeSec: number;
  /** Transmissions of one message, the first included, before it counts as failed. */
  attempts: number;
  /** Interval between two NULL (live) polls; 0 sends none. */
  pollingRateSec: number;
  periodicTest: boolean;
  periodicTestIntervalSec: number;
  /**
   * What the ARC is sent ("Event Types Notification - ARC"): a panel raises alarm, panic, fire, tamper, fault
   * (AC power, battery, communication), arm/disarm and periodic test events.
   */
  reportTypes: ArcEventType[];
}

export const PANEL_ARC_LIMITS = {
  ...ARC_TRANSMISSION_LIMITS,
  periodicTestIntervalSec: { min: 0.05, max: 30 * 86_400 },
} as const;

/** Settings of a panel whose ARC service was never set up: off, with the usual timings. */
export function defaultPanelArcSettings(): PanelArcSettings {
  return {
    enabled: false,
    accountCode: '',
    protocol: PanelArcProtocol.contactId,
    receiver: { host: '', port: 0, transport: PanelArcTransport.tcp },
    key: null,
    impulseCountingTimeSec: 10,
    attempts: 3,
    pollingRateSec: 0,
    periodicTest: false,
    periodicTestIntervalSec: 86_400,
    reportTypes: [...ARC_EVENT_TYPES],
  };
}

const ACCOUNT = /^[0-9A-F]{3,16}$/;
const inRange = (v: unknown, r: { min: number; max: number }): boolean => typeof v === 'number' && Number.isFinite(v) && v >= r.min && v <= r.max;

/**
 * What is wrong with ARC settings, or null. The account code and receiver may stay empty while the service is
 * off; enabling it needs them.
 */
export function panelArcSettingsProblem(s: PanelArcSettings): string | null {
  if (typeof s.enabled !== 'boolean') return 'enabled must be true or false';
  if (typeof s.accountCode !== 'string' || !(ACCOUNT.test(s.accountCode) || (!s.enabled && s.accountCode === ''))) return 'the account code must be 3 to 16 upper-case hex digits';
  if (!PANEL_ARC_PROTOCOLS.includes(s.protocol)) return `the protocol must be one of ${PANEL_ARC_PROTOCOLS.join(', ')}`;
  const r = s.receiver as Partial<PanelArcReceiver> | undefined;
  if (typeof r !== 'object' || r === null) return 'the receiver must be {host, port, transport}';
  if (typeof r.host !== 'string') return 'the receiver host must be an IP address or a domain name';
  if (s.enabled || r.host !== '') {
    const problem = receiverHostProblem(r.host);
    if (problem) return problem;
  }
  if (!Number.isInteger(r.port) || (r.port as number) < (s.enabled ? 1 : 0) || (r.port as number) > 65535) return 'the receiver port must be 1 to 65535';
  if (r.transport !== PanelArcTransport.tcp && r.transport !== PanelArcTransport.udp) return 'the receiver transport must be tcp or udp';
  if (s.key !== null) {
    if (typeof s.key !== 'string') return 'the key must be hex text or null';
    const k = parseDc09Key(s.key);
    if (!k.ok) return k.error;
  }
  const l = PANEL_ARC_LIMITS;
  if (!inRange(s.impulseCountingTimeSec, l.impulseCountingTimeSec)) return `the impulse counting time must be ${l.impulseCountingTimeSec.min} to ${l.impulseCountingTimeSec.max} seconds`;
  if (!Number.isInteger(s.attempts) || !inRange(s.attempts, l.attempts)) return `attempts must be an integer from ${l.attempts.min} to ${l.attempts.max}`;
  if (s.pollingRateSec !== 0 && !inRange(s.pollingRateSec, l.pollingRateSec)) return `the polling rate must be 0 (off) or ${l.pollingRateSec.min} to ${l.pollingRateSec.max} seconds`;
  if (typeof s.periodicTest !== 'boolean') return 'periodicTest must be true or false';
  if (!inRange(s.periodicTestIntervalSec, l.periodicTestIntervalSec)) return `the periodic test interval must be ${l.periodicTestIntervalSec.min} to ${l.periodicTestIntervalSec.max} seconds`;
  if (!Array.isArray(s.reportTypes) || s.reportTypes.some((t) => !ARC_EVENT_TYPES.includes(t))) return `report types must be among ${ARC_EVENT_TYPES.join(', ')}`;
  if (new Set(s.reportTypes).size !== s.reportTypes.length) return 'a report type is given twice';
  return null;
}
