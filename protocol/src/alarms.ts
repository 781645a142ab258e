/**
 * The edge's alarm relay (data flow 5, manual §4.12.5): the box is a local SIA DC-09 receiver for the panels on
 * its LAN and relays their events to each panel's ARC receiver, directly or through the cloud (`alarm.forward`
 * events, acknowledged back with the `alarms.delivered` RPC).
 *
 * The cloud configures it with the `alarms.configure` RPC: the panels the box relays for, each with its ARC
 * route, retries, supervision and the event types the ARC receives. The cloud lists only panels whose ARC
 * service the ARC has accepted. `alarms.status` tells how the relay is doing. When a route stops or starts
 * answering again, the edge reports it as an `alarm.path` event (`v1/edge/{serial}/event/alarm.path`).
 */
import Type, { type Static, type TLiteral } from 'typebox';
import { ARC_ACCOUNT_NUMBER_PATTERN, ARC_EVENT_TYPES, ARC_TRANSMISSION_LIMITS, ArcConnectionMode, ArcEventType, ArcTransport, DC09_KEY_PATTERN } from './api/arc.js';
// From the codec tables alone: the portal's bundle takes this module too, and must not take the framing code (Buffer).
import { CONTACT_ID_CODES, contactIdCategory, ContactIdQualifier } from './dc09/contact-id.js';
import type { Dc09Event } from './dc09/messages.js';
import { SIA_CODES } from './dc09/sia.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>]);

export const ALARM_RELAY_PANELS_MAX = 64;
/** The event kind of a path report. */
export const ALARM_PATH_EVENT = 'alarm.path';

const Account = Type.String({ pattern: ARC_ACCOUNT_NUMBER_PATTERN });
const Key = Type.String({ pattern: DC09_KEY_PATTERN });
const Hex6 = Type.String({ pattern: '^[0-9A-Fa-f]{1,6}$' });
const Ms = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });

/** Where a panel's events go: the ARC's receiver and how to address it. */
export const AlarmRouteSchema = Type.Object(
  {
    /** An IP address or a domain name. */
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    transport: literals(Object.values(ArcTransport)),
    /** The account number the ARC knows the panel by: it replaces the panel's own account in what is sent. */
    account: Account,
    /** DC-09 encryption towards the receiver; kept on the box's disk only, never given back. */
    key: Type.Optional(Key),
    /** The receiver number and line prefix the ARC assigned, if any (`R...`, `L...`). */
    receiver: Type.Optional(Hex6),
    line: Type.Optional(Hex6),
  },
  { additionalProperties: false },
);
export type AlarmRoute = Static<typeof AlarmRouteSchema>;

/** The panel's "Impulse Counting Time" and "Attempts", and how long to wait between rounds of attempts. */
export const AlarmRetrySchema = Type.Object(
  {
    /** How long to wait for the receiver's answer before sending the same frame again. */
    ackTimeoutMs: Ms(ARC_TRANSMISSION_LIMITS.impulseCountingTimeSec.min * 1000, ARC_TRANSMISSION_LIMITS.impulseCountingTimeSec.max * 1000),
    /** Sends of a frame per round. */
    attempts: Type.Integer({ minimum: ARC_TRANSMISSION_LIMITS.attempts.min, maximum: ARC_TRANSMISSION_LIMITS.attempts.max }),
    /** The wait after a failed round; it doubles after each further failed round, up to backoffMaxMs. */
    backoffMs: Ms(50, 3_600_000),
    backoffMaxMs: Ms(50, 3_600_000),
  },
  { additionalProperties: false },
);
export type AlarmRetry = Static<typeof AlarmRetrySchema>;

export const AlarmPanelConfigSchema = Type.Object(
  {
    /** The account the panel reports with to the box. */
    account: Account,
    /** The panel's DC-09 key towards the box: when set, the box takes only encrypted messages from it. */
    key: Type.Optional(Key),
    /** The cloud's id of the panel, quoted back in status and path reports. */
    deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    arc: AlarmRouteSchema,
    /** `server_only` sends through the cloud only; `direct_or_server` sends directly, and through the cloud while the path is failed. */
    connectionMode: literals(Object.values(ArcConnectionMode)),
    retry: AlarmRetrySchema,
    /** The panel's "Polling Rate": a NULL message after this long without traffic to the receiver; 0 for none. */
    pollingMs: Ms(0, 86_400_000),
    /** What the ARC receives; other events are acknowledged to the panel and kept, not forwarded. */
    eventTypes: Type.Array(literals(ARC_EVENT_TYPES), { maxItems: ARC_EVENT_TYPES.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type AlarmPanelConfig = Static<typeof AlarmPanelConfigSchema>;

/** A transmission time class in the manner of EN 50136-1: met when both the mean and the 95th percentile are within. */
export const AlarmTimingClassSchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 32 }), meanMs: Ms(1, 86_400_000), p95Ms: Ms(1, 86_400_000) },
  { additionalProperties: false },
);
export type AlarmTimingClass = Static<typeof AlarmTimingClassSchema>;

export const AlarmTimingConfigSchema = Type.Object(
  {
    /** Deliveries acknowledged within this window count in the statistics. */
    windowMs: Ms(1_000, 30 * 86_400_000),
    /** Strictest first: the first class met is reported. */
    classes: Type.Array(AlarmTimingClassSchema, { maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type AlarmTimingConfig = Static<typeof AlarmTimingConfigSchema>;

/**
 * Used when the configuration gives none. The contract with the ARC states the class that applies: configure
 * the thresholds it names.
 */
export const DEFAULT_ALARM_TIMING: AlarmTimingConfig = {
  windowMs: 24 * 3_600_000,
  classes: [
    { name: 'D4', meanMs: 20_000, p95Ms: 30_000 },
    { name: 'D3', meanMs: 60_000, p95Ms: 120_000 },
    { name: 'D2', meanMs: 120_000, p95Ms: 240_000 },
    { name: 'D1', meanMs: 240_000, p95Ms: 480_000 },
  ],
};

/** Replaces the whole relay configuration; panels left out are no longer received for. */
export const AlarmsConfigureParamsSchema = Type.Object(
  {
    panels: Type.Array(AlarmPanelConfigSchema, { maxItems: ALARM_RELAY_PANELS_MAX }),
    timing: Type.Optional(AlarmTimingConfigSchema),
  },
  { additionalProperties: false },
);
export type AlarmsConfigureParams = Static<typeof AlarmsConfigureParamsSchema>;

export const AlarmsConfigureResultSchema = Type.Object({
  /** Increases with every configuration the box stores. */
  revision: Type.Integer({ minimum: 1 }),
  panels: Type.Integer({ minimum: 0 }),
  /** The relay runs this revision already; otherwise it takes it as soon as it is up. */
  applied: Type.Boolean(),
});
export type AlarmsConfigureResult = Static<typeof AlarmsConfigureResultSchema>;

/** How a panel's route is doing: `server` while its events wait for the server path. */
export const AlarmPathState = { unknown: 'unknown', ok: 'ok', failed: 'failed', server: 'server' } as const;
export type AlarmPathState = (typeof AlarmPathState)[keyof typeof AlarmPathState];

const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const RouteSummary = Type.Object({
  host: Type.String(),
  port: Type.Integer(),
  transport: literals(Object.values(ArcTransport)),
  account: Type.String(),
  encrypted: Type.Boolean(),
});

export const AlarmPanelStatusSchema = Type.Object({
  account: Type.String(),
  deviceId: Type.Optional(Type.String()),
  arc: RouteSummary,
  connectionMode: literals(Object.values(ArcConnectionMode)),
  path: literals(Object.values(AlarmPathState)),
  /** Since when the path is in that state (epoch ms). */
  pathSince: NullableInt,
  /** Events waiting for the receiver's acknowledgement. */
  queued: Type.Integer({ minimum: 0 }),
  oldestQueuedAt: NullableInt,
  lastAckAt: NullableInt,
  /** The panel's last message to the box, events and NULLs alike. */
  lastPanelMessageAt: NullableInt,
});
export type AlarmPanelStatus = Static<typeof AlarmPanelStatusSchema>;

export const AlarmTimingStatusSchema = Type.Object({
  windowMs: Type.Integer(),
  /** Deliveries in the window. */
  count: Type.Integer({ minimum: 0 }),
  /** From the panel's message reaching the box to the receiver's acknowledgement. */
  meanMs: Type.Union([Type.Number(), Type.Null()]),
  p95Ms: Type.Union([Type.Number(), Type.Null()]),
  maxMs: Type.Union([Type.Number(), Type.Null()]),
  /** The strictest configured class met, or null. */
  class: Type.Union([Type.String(), Type.Null()]),
});
export type AlarmTimingStatus = Static<typeof AlarmTimingStatusSchema>;

export const AlarmsStatusResultSchema = Type.Object({
  /** The stored configuration's revision (0: never configured) and whether the relay runs it. */
  revision: Type.Integer({ minimum: 0 }),
  applied: Type.Boolean(),
  /** When the relay last reported (epoch ms); null when it has not since the agent started. */
  reportedAt: NullableInt,
  /** Where the box listens for its panels; null when it does not. */
  listening: Type.Union([Type.Object({ host: Type.String(), tcp: Type.Integer(), udp: Type.Integer() }), Type.Null()]),
  panels: Type.Array(AlarmPanelStatusSchema),
  /** Events still queued for panels no longer configured: kept until a route for them returns. */
  unrouted: Type.Integer({ minimum: 0 }),
  timing: AlarmTimingStatusSchema,
});
export type AlarmsStatusResult = Static<typeof AlarmsStatusResultSchema>;

/** The details of an `alarm.path` event. */
export const AlarmPathReportSchema = Type.Object({
  /** Unique per report, so that a repeated delivery can be recognized. */
  reportId: Type.String(),
  panel: Type.String(),
  deviceId: Type.Optional(Type.String()),
  arc: RouteSummary,
  state: literals([AlarmPathState.ok, AlarmPathState.failed]),
  /** Epoch ms of the change. */
  at: Type.Integer(),
  reason: Type.String({ maxLength: 512 }),
  /** Events waiting for the receiver at that moment. */
  queued: Type.Integer({ minimum: 0 }),
});
export type AlarmPathReport = Static<typeof AlarmPathReportSchema>;

/** The event kind of an event handed to the cloud for the server path. */
export const ALARM_FORWARD_EVENT = 'alarm.forward';

/**
 * The details of an `alarm.forward` event: a queued event the box could not deliver directly (its path failed,
 * or the panel is `server_only`), as the relay would frame it. The sequence number is the one the direct path
 * uses too, so that the receiver drops whichever copy comes second. The cloud sends it with the route and key it
 * holds for the panel, never with an address or key from the box.
 */
export const AlarmForwardSchema = Type.Object({
  /** The box's id of the event, quoted back in `alarms.delivered`. */
  eventId: Type.Integer({ minimum: 1 }),
  panel: Account,
  deviceId: Type.String({ minLength: 1, maxLength: 128 }),
  token: literals(['SIA-DCS', 'ADM-CID']),
  sequence: Type.Integer({ minimum: 1, maximum: 9999 }),
  /** The data block with the ARC's account already in it. */
  data: Type.String({ maxLength: 1024 }),
  xdata: Type.Array(Type.Object({ id: Type.String({ pattern: '^[A-Z]$' }), value: Type.String({ maxLength: 256 }) }), { maxItems: 16 }),
  /** Epoch ms the panel's message reached the box. */
  receivedAt: Type.Integer(),
});
export type AlarmForward = Static<typeof AlarmForwardSchema>;

/** The receiver acknowledged these events through the server path: the box takes them out of its queue. */
export const AlarmsDeliveredParamsSchema = Type.Object(
  { eventIds: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 256 }) },
  { additionalProperties: false },
);
export type AlarmsDeliveredParams = Static<typeof AlarmsDeliveredParamsSchema>;
export const AlarmsDeliveredResultSchema = Type.Object({ accepted: Type.Literal(true) });

// ------------------------------------------------------------------------------------------------ alarm log

/**
 * The alarm log, for the portals: every panel event the box stored (not NULL messages, not retransmissions) is
 * reported as an `alarm.event` event, and its acknowledgement by the ARC receiver, through either path, as an
 * `alarm.sent` event. Two kinds rather than one with a state, because an event is reported once on arrival and
 * once more only if it is forwarded and delivered. Both go through the outbox after the event is on disk: they
 * never hold up the relay, and the cloud keys them by (box, eventId), so a report sent again changes nothing.
 */
export const ALARM_EVENT_EVENT = 'alarm.event';
export const ALARM_SENT_EVENT = 'alarm.sent';

/** Which way an event reached the ARC receiver. */
export const AlarmDeliveryPath = { direct: 'direct', server: 'server' } as const;
export type AlarmDeliveryPath = (typeof AlarmDeliveryPath)[keyof typeof AlarmDeliveryPath];

const Label = (maxLength: number) => Type.String({ maxLength });
const NullableLabel = (maxLength: number) => Type.Union([Label(maxLength), Type.Null()]);

/** A panel's event in words (the first event of an SIA block that carries several). */
export const AlarmEventSummarySchema = Type.Object({
  /** The Contact ID code (`130`) or the SIA code (`BA`). */
  code: Label(16),
  /** A restore (Contact ID qualifier 3, SIA restore codes) rather than a new event. */
  restore: Type.Boolean(),
  zone: NullableLabel(16),
  /** The area (partition). */
  area: NullableLabel(16),
  description: Label(256),
});
export type AlarmEventSummary = Static<typeof AlarmEventSummarySchema>;

/** The details of an `alarm.event` event. */
export const AlarmEventReportSchema = Type.Object({
  /** The box's id of the event, as in `alarm.forward` and `alarms.delivered`. */
  eventId: Type.Integer({ minimum: 1 }),
  panel: Account,
  deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  token: literals(['SIA-DCS', 'ADM-CID']),
  event: AlarmEventSummarySchema,
  types: Type.Array(literals(ARC_EVENT_TYPES), { minItems: 1, maxItems: ARC_EVENT_TYPES.length, uniqueItems: true }),
  /** Of a type the ARC receives, so queued for it; otherwise only kept. */
  forwarded: Type.Boolean(),
  /** Epoch ms the panel's message reached the box. */
  receivedAt: Type.Integer(),
});
export type AlarmEventReport = Static<typeof AlarmEventReportSchema>;

/** The details of an `alarm.sent` event. */
export const AlarmSentReportSchema = Type.Object({
  eventId: Type.Integer({ minimum: 1 }),
  panel: Account,
  deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  path: literals(Object.values(AlarmDeliveryPath)),
  /** Epoch ms the box learnt of the receiver's acknowledgement (by the box's clock, like `receivedAt`). */
  ackedAt: Type.Integer(),
});
export type AlarmSentReport = Static<typeof AlarmSentReportSchema>;

const SIA_RESTORE = /restor/i;

/** A decoded panel event in words, for the alarm log. */
export function summarizeAlarmEvent(event: Dc09Event): AlarmEventSummary {
  if (event.kind === 'contact-id') {
    const openClose = contactIdCategory(event.code) === 'open-close';
    return {
      code: String(event.code),
      restore: !openClose && event.qualifier === ContactIdQualifier.restore,
      // Open/close codes carry a user number in the zone field.
      zone: openClose || CONTACT_ID_CODES[event.code]?.user ? null : String(event.zone).padStart(3, '0'),
      area: String(event.partition).padStart(2, '0'),
      description: event.description,
    };
  }
  const first = event.events[0];
  if (!first) return { code: '', restore: false, zone: null, area: null, description: 'Empty SIA block' };
  const info = SIA_CODES[first.code];
  const address = first.address === '' ? null : first.address;
  const name = info?.name ?? `Event ${first.code}`;
  return {
    code: first.code,
    restore: SIA_RESTORE.test(name),
    zone: info === undefined || info.address === 'zone' ? address : null,
    area: first.area ?? (info?.address === 'area' ? address : null),
    description: (first.text ? `${name}: ${first.text}` : name).slice(0, 256),
  };
}

// ------------------------------------------------------------------------------------------------ events

/** Contact ID event families (by code) as ARC event types; codes checked before their family. */
function contactIdType(code: number): ArcEventType {
  if ([137, 144, 145, 383].includes(code)) return ArcEventType.tamper;
  if ([143, 147].includes(code)) return ArcEventType.fault;
  if (code >= 100 && code < 110) return ArcEventType.panic;
  if (code >= 110 && code < 120) return ArcEventType.fire;
  if (code >= 120 && code < 130) return ArcEventType.panic;
  if (code >= 200 && code < 400) return ArcEventType.fault;
  if (code >= 400 && code < 500) return ArcEventType.armDisarm;
  if (code >= 500 && code < 600) return ArcEventType.bypass;
  if (code >= 600 && code < 700) return ArcEventType.periodicTest;
  return ArcEventType.alarm;
}

const SIA_TYPES: Readonly<Record<string, ArcEventType>> = {
  BB: ArcEventType.bypass,
  BU: ArcEventType.bypass,
  BT: ArcEventType.fault,
  BJ: ArcEventType.fault,
  FT: ArcEventType.fault,
  FJ: ArcEventType.fault,
  RP: ArcEventType.periodicTest,
  RX: ArcEventType.periodicTest,
  BX: ArcEventType.periodicTest,
  RR: ArcEventType.fault,
  JA: ArcEventType.tamper,
};
/** SIA event families by the code's first letter. */
const SIA_FAMILIES: Readonly<Record<string, ArcEventType>> = {
  F: ArcEventType.fire,
  K: ArcEventType.fire,
  P: ArcEventType.panic,
  H: ArcEventType.panic,
  M: ArcEventType.panic,
  Q: ArcEventType.panic,
  T: ArcEventType.tamper,
  C: ArcEventType.armDisarm,
  O: ArcEventType.armDisarm,
  N: ArcEventType.armDisarm,
  A: ArcEventType.fault,
  L: ArcEventType.fault,
  X: ArcEventType.fault,
  Y: ArcEventType.fault,
};

/** The ARC event types of a panel's event (an SIA block may carry several events). */
export function alarmEventTypes(event: Dc09Event): ArcEventType[] {
  if (event.kind === 'contact-id') return [contactIdType(event.code)];
  const types = event.events.map((e) => SIA_TYPES[e.code] ?? SIA_FAMILIES[e.code.charAt(0)] ?? ArcEventType.alarm);
  return [...new Set(types)];
}

/**
 * The data block with the account of its `#acct|` (or `acct|`) part replaced, as the ARC must see the account
 * it knows; data without an account part is left as it is (the header carries the account).
 */
export function rewriteDc09Account(data: string, account: string): string {
  const m = /^#?[0-9A-Za-z]{0,16}\|/.exec(data);
  return m ? `#${account}|${data.slice(m[0].length)}` : data;
}
