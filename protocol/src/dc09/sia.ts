/**
 * SIA DC-03 event blocks as carried by DC-09 `SIA-DCS` messages: `#acct|Nri1/BA01`. After the account comes
 * the function letter (`N` new event, `O` old event), then fields separated by `/`. A field holds modifiers
 * (two lower-case letters and a value: `ri` area, `id` user, `ti` time) and/or an event (two upper-case
 * letters, then an address: a zone, a user or an area depending on the code), optionally followed by text
 * between carets (`^Front door^`). Modifiers apply to the events after them in the block.
 */
import { fail, ok, type Result } from '../result.js';

/** What an event's address designates. */
export type SiaAddress = 'zone' | 'user' | 'area' | 'none';

export interface SiaCodeInfo {
  name: string;
  address: SiaAddress;
}

const z = (name: string): SiaCodeInfo => ({ name, address: 'zone' });
const u = (name: string): SiaCodeInfo => ({ name, address: 'user' });
const a = (name: string): SiaCodeInfo => ({ name, address: 'area' });
const n = (name: string): SiaCodeInfo => ({ name, address: 'none' });

/** The common SIA event codes (DC-03) and their names. */
export const SIA_CODES: Readonly<Record<string, SiaCodeInfo>> = {
  AR: n('AC restoral'),
  AT: n('AC trouble'),
  BA: z('Burglary alarm'),
  BB: z('Burglary bypass'),
  BC: u('Burglary cancel'),
  BH: z('Burglary alarm restore'),
  BJ: z('Burglary trouble restore'),
  BR: z('Burglary restoral'),
  BT: z('Burglary trouble'),
  BU: z('Burglary unbypass'),
  BV: z('Burglary verified'),
  BX: z('Burglary test'),
  CA: a('Automatic closing'),
  CG: a('Close area'),
  CI: a('Fail to close'),
  CL: u('Closing report'),
  CR: u('Recent closing'),
  FA: z('Fire alarm'),
  FH: z('Fire alarm restore'),
  FJ: z('Fire trouble restore'),
  FR: z('Fire restoral'),
  FT: z('Fire trouble'),
  GA: z('Gas alarm'),
  GR: z('Gas restoral'),
  HA: z('Holdup alarm'),
  HR: z('Holdup restoral'),
  JA: u('User code tamper'),
  KA: z('Heat alarm'),
  KR: z('Heat restoral'),
  LR: n('Phone line restoral'),
  LT: n('Phone line trouble'),
  MA: z('Medical alarm'),
  MR: z('Medical restoral'),
  NL: a('Perimeter armed'),
  OA: a('Automatic opening'),
  OG: a('Open area'),
  OP: u('Opening report'),
  OR: u('Disarm from alarm'),
  PA: z('Panic alarm'),
  PR: z('Panic restoral'),
  QA: z('Emergency alarm'),
  QR: z('Emergency restoral'),
  RP: n('Automatic test'),
  RR: n('Power up'),
  RX: u('Manual test'),
  TA: z('Tamper alarm'),
  TR: z('Tamper restoral'),
  UA: z('Untyped zone alarm'),
  UR: z('Untyped zone restoral'),
  WA: z('Water alarm'),
  WR: z('Water restoral'),
  XR: z('Transmitter battery restoral'),
  XT: z('Transmitter battery trouble'),
  YC: n('Communications fail'),
  YK: n('Communications restoral'),
  YR: n('System battery restoral'),
  YT: n('System battery trouble'),
};

export interface SiaEventInput {
  /** Two upper-case letters, e.g. BA. */
  code: string;
  /** Digits after the code: a zone, user or area (see SIA_CODES); absent for none. */
  address?: string;
  /** `ri`: the area (partition). */
  area?: string;
  /** `id`: the user number. */
  user?: string;
  /** Text shown with the event (between carets). */
  text?: string;
}

export interface SiaEvent extends SiaEventInput {
  /** '' when the code carries none. */
  address: string;
  /** `ti`: the time of the event as sent (HH:MM). */
  time?: string;
  /** Anything after the address and text that is not understood, kept as sent. */
  extra?: string;
  /** From SIA_CODES; absent for codes not in the table. */
  name?: string;
}

export interface SiaBlock {
  account?: string;
  /** `O` (an old, previously reported event) rather than `N`. */
  old: boolean;
  events: SiaEvent[];
}

export interface SiaBlockInput {
  /** 3 to 16 upper-case hex digits; written as `#acct|` when given. */
  account?: string;
  old?: boolean;
  events: readonly SiaEventInput[];
}

const TEXT = /^[\x20-\x2e\x30-\x5a\x5c\x5f-\x7b\x7d\x7e]*$/; // printable, without / [ ] ^ |

/** Builds the data block content, e.g. `#1234|Nri1/BA01`, strictly. Never throws. */
export function encodeSiaData(input: SiaBlockInput): Result<string> {
  if (input.account !== undefined && !/^[0-9A-F]{3,16}$/.test(input.account)) return fail(`account ${JSON.stringify(input.account)} is not 3 to 16 upper-case hex digits`);
  if (input.events.length === 0) return fail('an SIA block needs at least one event');
  const fields: string[] = [];
  let area: string | undefined;
  let user: string | undefined;
  for (const e of input.events) {
    if (!/^[A-Z]{2}$/.test(e.code)) return fail(`event code ${JSON.stringify(e.code)} is not two upper-case letters`);
    if (e.address !== undefined && !/^\d{1,6}$/.test(e.address)) return fail(`address ${JSON.stringify(e.address)} is not 1 to 6 digits`);
    if (e.area !== undefined && !/^\d{1,4}$/.test(e.area)) return fail(`area ${JSON.stringify(e.area)} is not 1 to 4 digits`);
    if (e.user !== undefined && !/^\d{1,6}$/.test(e.user)) return fail(`user ${JSON.stringify(e.user)} is not 1 to 6 digits`);
    if (e.text !== undefined && !TEXT.test(e.text)) return fail('event text must be printable ASCII without / [ ] ^ |');
    if (e.area !== undefined && e.area !== area) fields.push(`ri${(area = e.area)}`);
    if (e.user !== undefined && e.user !== user) fields.push(`id${(user = e.user)}`);
    fields.push(`${e.code}${e.address ?? ''}${e.text === undefined ? '' : `^${e.text}^`}`);
  }
  const account = input.account === undefined ? '' : `#${input.account}|`;
  return ok(`${account}${input.old ? 'O' : 'N'}${fields.join('/')}`);
}

/** Splits on `/` outside `^text^` and `"name"`. */
function splitFields(s: string): string[] {
  const out: string[] = [];
  let field = '';
  let quote: string | undefined;
  for (const c of s) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '^' || c === '"') quote = c;
    else if (c === '/') {
      out.push(field);
      field = '';
      continue;
    }
    field += c;
  }
  out.push(field);
  return out;
}

const MODIFIER = /^([a-z]{2})([0-9:]*)/;
const EVENT = /^([A-Z]{2})(\d*)(?:\^([^^]*)\^)?/;

/**
 * Reads a data block content: `#acct|Nri1/BA01^text^/BR01`, also with the account without `#`, without an
 * account, or with modifiers written without a separating `/` (`Nri1CL0`). Never throws.
 */
export function decodeSiaData(data: string): Result<SiaBlock> {
  if (data.length > 1024) return fail('SIA data too long');
  let rest = data;
  let account: string | undefined;
  const acct = /^#?([0-9A-Za-z]{0,16})\|/.exec(rest);
  if (acct) {
    if (acct[1]) account = acct[1];
    rest = rest.slice(acct[0].length);
  }
  const fn = rest.charAt(0);
  if (fn !== 'N' && fn !== 'O') return fail(`SIA block starts with ${JSON.stringify(fn)}, not N or O`);
  const events: SiaEvent[] = [];
  const context: { area?: string; user?: string; time?: string } = {};
  for (const field of splitFields(rest.slice(1))) {
    let f = field;
    for (let m = MODIFIER.exec(f); m; m = MODIFIER.exec(f)) {
      if (m[1] === 'ri') context.area = m[2]!;
      else if (m[1] === 'id') context.user = m[2]!;
      else if (m[1] === 'ti') context.time = m[2]!;
      f = f.slice(m[0].length);
    }
    if (f === '') continue;
    const e = EVENT.exec(f);
    if (!e) return fail(`unreadable SIA field ${JSON.stringify(field.slice(0, 40))}`);
    const code = e[1]!;
    const extra = f.slice(e[0].length);
    const name = SIA_CODES[code]?.name;
    events.push({
      code,
      address: e[2]!,
      ...context,
      ...(e[3] === undefined ? {} : { text: e[3] }),
      ...(extra === '' ? {} : { extra }),
      ...(name === undefined ? {} : { name }),
    });
  }
  if (events.length === 0) return fail('SIA block without an event');
  return ok({ ...(account === undefined ? {} : { account }), old: fn === 'O', events });
}
