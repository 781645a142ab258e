import { ArcEventType } from '@vigil/protocol/api';
import {
  ContactIdQualifier,
  encodeContactId,
  encodeSiaData,
  PanelArcProtocol,
  ZoneType,
  type PanelArcSettings,
  type Result,
  type SiaEventInput,
} from '@vigil/protocol';

/** What a panel reports. */
export const PanelEventKind = {
  burglary: 'burglary',
  fire: 'fire',
  panic: 'panic',
  tamper: 'tamper',
  acLoss: 'ac_loss',
  lowBattery: 'low_battery',
  commFailure: 'comm_failure',
  /** Disarmed. */
  opening: 'opening',
  /** Away armed. */
  closing: 'closing',
  stayClosing: 'stay_closing',
  periodicTest: 'periodic_test',
} as const;
export type PanelEventKind = (typeof PanelEventKind)[keyof typeof PanelEventKind];

export interface PanelEventInput {
  kind: PanelEventKind;
  /** The condition ended (alarm, tamper, AC power, battery). */
  restore?: boolean;
  /** 0 for the panel as a whole. */
  area?: number;
  /** 0 for none (the panel itself). */
  zone?: number;
  /** Who armed or disarmed. */
  user?: number;
  /** The zone's type, which picks the burglary code. */
  zoneType?: ZoneType;
  /** A periodic test sent while a trouble (AC power, battery) is present. */
  trouble?: boolean;
}

interface Codes {
  name: string;
  report: ArcEventType;
  /** Contact ID event code. */
  cid: number;
  /** SIA codes: the event, its restore. */
  sia: readonly [string, string?];
}

const CODES: Record<PanelEventKind, Codes> = {
  burglary: { name: 'Burglary alarm', report: ArcEventType.alarm, cid: 130, sia: ['BA', 'BR'] },
  fire: { name: 'Fire alarm', report: ArcEventType.fire, cid: 110, sia: ['FA', 'FR'] },
  panic: { name: 'Panic alarm', report: ArcEventType.panic, cid: 120, sia: ['PA', 'PR'] },
  tamper: { name: 'Tamper', report: ArcEventType.tamper, cid: 137, sia: ['TA', 'TR'] },
  ac_loss: { name: 'AC power loss', report: ArcEventType.fault, cid: 301, sia: ['AT', 'AR'] },
  low_battery: { name: 'Low battery', report: ArcEventType.fault, cid: 302, sia: ['YT', 'YR'] },
  comm_failure: { name: 'Communication failure', report: ArcEventType.fault, cid: 354, sia: ['YC'] },
  opening: { name: 'Disarmed', report: ArcEventType.armDisarm, cid: 401, sia: ['OP'] },
  closing: { name: 'Away armed', report: ArcEventType.armDisarm, cid: 401, sia: ['CL'] },
  stay_closing: { name: 'Stay armed', report: ArcEventType.armDisarm, cid: 441, sia: ['NL'] },
  periodic_test: { name: 'Periodic test', report: ArcEventType.periodicTest, cid: 602, sia: ['RP'] },
};

/** Contact ID codes of burglary by zone type: entry/exit for delay zones, 24 hour for 24h zones. */
const BURGLARY_CID: Partial<Record<ZoneType, number>> = { [ZoneType.delay]: 134, [ZoneType.h24]: 133 };

export const panelEventReportType = (e: PanelEventInput): ArcEventType => CODES[e.kind].report;

/** In words, e.g. "Burglary alarm restored, area 1 zone 3". */
export function describePanelEvent(e: PanelEventInput): string {
  const where = [e.area ? `area ${e.area}` : '', e.zone ? `zone ${e.zone}` : '', e.user ? `user ${e.user}` : ''].filter(Boolean).join(' ');
  const what = `${CODES[e.kind].name}${e.restore ? ' restored' : ''}${e.trouble ? ' (trouble present)' : ''}`;
  return where ? `${what}, ${where}` : what;
}

const isArming = (k: PanelEventKind): boolean => k === PanelEventKind.opening || k === PanelEventKind.closing || k === PanelEventKind.stayClosing;

function contactIdData(e: PanelEventInput, account: string): Result<string> {
  const c = CODES[e.kind];
  let code = c.cid;
  if (e.kind === PanelEventKind.burglary) code = BURGLARY_CID[e.zoneType ?? ZoneType.instant] ?? code;
  if (e.kind === PanelEventKind.periodicTest && e.trouble) code = 608;
  // Open/close codes: 1 opens (disarm), 3 closes (arm); ZZZ is then the user.
  const qualifier = e.kind === PanelEventKind.opening ? ContactIdQualifier.newEvent : isArming(e.kind) || e.restore ? ContactIdQualifier.restore : ContactIdQualifier.newEvent;
  return encodeContactId({ account, qualifier, code, partition: e.area ?? 0, zone: isArming(e.kind) ? (e.user ?? 0) : (e.zone ?? 0) });
}

function siaData(e: PanelEventInput, account: string): Result<string> {
  const [event, restore] = CODES[e.kind].sia;
  const code = e.restore && restore ? restore : event;
  // OP and CL are addressed to the user, NL (perimeter armed) to the area, with the user as a modifier.
  const stay = e.kind === PanelEventKind.stayClosing;
  const address = isArming(e.kind) ? (stay ? e.area : e.user) : e.zone;
  const sia: SiaEventInput = {
    code,
    ...(address ? { address: String(address) } : {}),
    ...(e.area ? { area: String(e.area) } : {}),
    ...(stay && e.user ? { user: String(e.user) } : {}),
  };
  return encodeSiaData({ account, events: [sia] });
}

/** The DC-09 data block of an event in the panel's protocol, e.g. `#1234|1130 01 002` or `#1234|Nri1/BA2`. */
export function panelEventData(e: PanelEventInput, settings: Pick<PanelArcSettings, 'protocol' | 'accountCode'>): Result<string> {
  return settings.protocol === PanelArcProtocol.sia ? siaData(e, settings.accountCode) : contactIdData(e, settings.accountCode);
}
