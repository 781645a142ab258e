/**
 * Ademco Contact ID (SIA DC-05) as carried by DC-09 `ADM-CID` messages: the data block is `#acct|QEEE GG ZZZ`,
 * Q the qualifier, EEE the event code, GG the partition (group), ZZZ the zone or, for openings and closings,
 * the user number.
 */
import { fail, ok, type Result } from '../result.js';

export const ContactIdQualifier = {
  /** A new event, or an opening (disarm) for open/close codes. */
  newEvent: 1,
  /** A restore, or a closing (arm) for open/close codes. */
  restore: 3,
  /** A previously reported condition still present (status report). */
  previous: 6,
} as const;
export type ContactIdQualifier = (typeof ContactIdQualifier)[keyof typeof ContactIdQualifier];
const QUALIFIERS = new Set<number>(Object.values(ContactIdQualifier));

/** Event families by code range (DC-05). */
export type ContactIdCategory = 'medical' | 'fire' | 'panic' | 'burglary' | 'general' | 'non-burglary' | 'supervisory' | 'trouble' | 'open-close' | 'bypass' | 'test' | 'other';

export interface ContactIdCodeInfo {
  name: string;
  /** ZZZ is a user number rather than a zone. */
  user?: true;
}

/** The common Contact ID event codes and their DC-05 names. */
export const CONTACT_ID_CODES: Readonly<Record<number, ContactIdCodeInfo>> = {
  100: { name: 'Medical' },
  101: { name: 'Personal emergency' },
  102: { name: 'Fail to report in' },
  110: { name: 'Fire' },
  111: { name: 'Smoke' },
  112: { name: 'Combustion' },
  113: { name: 'Water flow' },
  114: { name: 'Heat' },
  115: { name: 'Pull station' },
  117: { name: 'Flame' },
  120: { name: 'Panic' },
  121: { name: 'Duress', user: true },
  122: { name: 'Silent panic' },
  123: { name: 'Audible panic' },
  130: { name: 'Burglary' },
  131: { name: 'Perimeter' },
  132: { name: 'Interior' },
  133: { name: '24 hour (safe)' },
  134: { name: 'Entry/exit' },
  135: { name: 'Day/night' },
  136: { name: 'Outdoor' },
  137: { name: 'Tamper' },
  139: { name: 'Intrusion verifier' },
  140: { name: 'General alarm' },
  143: { name: 'Expansion module failure' },
  144: { name: 'Sensor tamper' },
  145: { name: 'Expansion module tamper' },
  146: { name: 'Silent burglary' },
  147: { name: 'Sensor supervision failure' },
  150: { name: '24 hour non-burglary' },
  151: { name: 'Gas detected' },
  154: { name: 'Water leakage' },
  158: { name: 'High temperature' },
  159: { name: 'Low temperature' },
  162: { name: 'Carbon monoxide detected' },
  300: { name: 'System trouble' },
  301: { name: 'AC loss' },
  302: { name: 'Low system battery' },
  305: { name: 'System reset' },
  306: { name: 'Panel programming changed' },
  309: { name: 'Battery test failure' },
  311: { name: 'Battery missing/dead' },
  312: { name: 'Power supply overcurrent' },
  320: { name: 'Sounder/relay' },
  321: { name: 'Bell 1' },
  333: { name: 'Expansion module failure' },
  344: { name: 'RF receiver jam detect' },
  350: { name: 'Communication trouble' },
  351: { name: 'Telco 1 fault' },
  354: { name: 'Failure to communicate event' },
  355: { name: 'Loss of radio supervision' },
  373: { name: 'Fire trouble' },
  380: { name: 'Sensor trouble' },
  381: { name: 'Loss of supervision - RF' },
  383: { name: 'Sensor tamper' },
  384: { name: 'RF low battery' },
  400: { name: 'Open/close', user: true },
  401: { name: 'Open/close by user', user: true },
  402: { name: 'Group open/close', user: true },
  403: { name: 'Automatic open/close', user: true },
  406: { name: 'Cancel', user: true },
  407: { name: 'Remote arm/disarm', user: true },
  408: { name: 'Quick arm', user: true },
  409: { name: 'Keyswitch open/close', user: true },
  441: { name: 'Armed stay', user: true },
  442: { name: 'Keyswitch armed stay', user: true },
  570: { name: 'Zone/sensor bypass' },
  572: { name: '24 hour zone bypass' },
  573: { name: 'Burglary bypass' },
  574: { name: 'Group bypass', user: true },
  601: { name: 'Manual trigger test report' },
  602: { name: 'Periodic test report' },
  603: { name: 'Periodic RF transmission' },
  604: { name: 'Fire test', user: true },
  607: { name: 'Walk test mode', user: true },
  608: { name: 'Periodic test - system trouble present' },
  627: { name: 'Program mode entry' },
  628: { name: 'Program mode exit' },
};

/** The DC-05 family of an event code. */
export function contactIdCategory(code: number): ContactIdCategory {
  if (code >= 100 && code < 110) return 'medical';
  if (code >= 110 && code < 120) return 'fire';
  if (code >= 120 && code < 130) return 'panic';
  if (code >= 130 && code < 140) return 'burglary';
  if (code >= 140 && code < 150) return 'general';
  if (code >= 150 && code < 170) return 'non-burglary';
  if (code >= 200 && code < 300) return 'supervisory';
  if (code >= 300 && code < 400) return 'trouble';
  if (code >= 400 && code < 500) return 'open-close';
  if (code >= 500 && code < 600) return 'bypass';
  if (code >= 600 && code < 700) return 'test';
  return 'other';
}

export interface ContactIdInput {
  /** 3 to 16 upper-case hex digits; written as `#acct|` when given. */
  account?: string;
  qualifier: ContactIdQualifier;
  /** 100 to 999. */
  code: number;
  /** 0 to 99. */
  partition: number;
  /** 0 to 999: a zone, or a user number for open/close codes. */
  zone: number;
}

export interface ContactIdEvent extends ContactIdInput {
  category: ContactIdCategory;
  /** From CONTACT_ID_CODES; absent for codes not in the table. */
  name?: string;
  /** What happened in words, e.g. "Burglary restore", "Closing (Open/close by user)". */
  description: string;
}

/** Words for a qualifier and code: open/close codes read as opening/closing, others as event/restore. */
export function describeContactId(e: Pick<ContactIdInput, 'qualifier' | 'code'>): string {
  const name = CONTACT_ID_CODES[e.code]?.name ?? `Event ${e.code}`;
  if (contactIdCategory(e.code) === 'open-close' && e.qualifier !== ContactIdQualifier.previous)
    return `${e.qualifier === ContactIdQualifier.newEvent ? 'Opening' : 'Closing'} (${name})`;
  if (e.qualifier === ContactIdQualifier.restore) return `${name} restore`;
  if (e.qualifier === ContactIdQualifier.previous) return `${name} (previously reported)`;
  return name;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Builds the data block content `#acct|QEEE GG ZZZ`, strictly. Never throws. */
export function encodeContactId(e: ContactIdInput): Result<string> {
  if (!QUALIFIERS.has(e.qualifier)) return fail(`qualifier ${e.qualifier} is not 1, 3 or 6`);
  if (!Number.isInteger(e.code) || e.code < 100 || e.code > 999) return fail(`event code ${e.code} is not 100-999`);
  if (!Number.isInteger(e.partition) || e.partition < 0 || e.partition > 99) return fail(`partition ${e.partition} is not 0-99`);
  if (!Number.isInteger(e.zone) || e.zone < 0 || e.zone > 999) return fail(`zone ${e.zone} is not 0-999`);
  if (e.account !== undefined && !/^[0-9A-F]{3,16}$/.test(e.account)) return fail(`account ${JSON.stringify(e.account)} is not 3 to 16 upper-case hex digits`);
  const account = e.account === undefined ? '' : `#${e.account}|`;
  return ok(`${account}${e.qualifier}${pad(e.code, 3)} ${pad(e.partition, 2)} ${pad(e.zone, 3)}`);
}

const CANONICAL = /^([0-9])(\d{3})(\d{2})(\d{3})$/;
/** The DTMF form some panels put in the block: message type 18 or 98, the event, a checksum digit. */
const DTMF = /^[19]8([0-9])(\d{3})(\d{2})(\d{3})[0-9A-Fa-f]?$/;

/**
 * Reads a data block content: `#acct|QEEE GG ZZZ`, also without `#`, without account, without spaces, or in
 * the DTMF form `18QEEEGGZZZS`. Never throws.
 */
export function decodeContactId(data: string): Result<ContactIdEvent> {
  if (data.length > 128) return fail('Contact ID data too long');
  const bar = data.lastIndexOf('|');
  let account: string | undefined;
  if (bar >= 0) {
    const acct = /^#?([0-9A-Za-z]{0,16})$/.exec(data.slice(0, bar));
    if (!acct) return fail(`bad account part ${JSON.stringify(data.slice(0, bar))}`);
    if (acct[1]) account = acct[1];
  }
  const compact = data.slice(bar + 1).replace(/\s+/g, '');
  const m = CANONICAL.exec(compact) ?? DTMF.exec(compact);
  if (!m) return fail(`${JSON.stringify(data.slice(bar + 1))} is not QEEE GG ZZZ`);
  const [qualifier, code, partition, zone] = m.slice(1, 5).map(Number) as [number, number, number, number];
  if (!QUALIFIERS.has(qualifier)) return fail(`qualifier ${qualifier} is not 1, 3 or 6`);
  const q = qualifier as ContactIdQualifier;
  const name = CONTACT_ID_CODES[code]?.name;
  return ok({
    ...(account === undefined ? {} : { account }),
    qualifier: q,
    code,
    partition,
    zone,
    category: contactIdCategory(code),
    ...(name === undefined ? {} : { name }),
    description: describeContactId({ qualifier: q, code }),
  });
}
