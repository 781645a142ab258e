import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/**
 * The ARC (alarm receiving center) service of manual §4.12: an ARC company joins the ARC list with an ARC ID and
 * ARC key; an installer authorizes a personal site to one ARC and entrusts the site's security control panels to it;
 * the ARC accepts (or rejects), and may suspend and resume the service. Events are forwarded only while accepted.
 */

/** The refusals of the ARC routes, besides the API's common ones. */
export const ArcErrorCode = {
  /** The route is for ARC companies. */
  arcCompanyOnly: 'ARC_COMPANY_ONLY',
  /** The route is for installers (and the other company types), not ARC companies. */
  notForArcCompany: 'NOT_FOR_ARC_COMPANY',
  /** The ARC service is only for personal sites. */
  personalSitesOnly: 'ARC_PERSONAL_SITES_ONLY',
  /** Not an ARC on the caller's ARC list. */
  arcNotFound: 'ARC_NOT_FOUND',
  notAuthorized: 'SITE_NOT_AUTHORIZED_TO_ARC',
  authorizedToAnother: 'SITE_AUTHORIZED_TO_ANOTHER_ARC',
  /** Only security control panels added by Hik-Connect (P2P) take the service here. */
  deviceNotEligible: 'ARC_DEVICE_NOT_ELIGIBLE',
  /** The panel's service is in a state the action does not start from. */
  stateForbids: 'ARC_SERVICE_STATE_FORBIDS',
  /** The connection mode changes only while the panel is disarmed. */
  panelArmed: 'PANEL_ARMED',
  /** Another panel entrusted to the same ARC has this account number. */
  accountNumberTaken: 'ARC_ACCOUNT_NUMBER_TAKEN',
  alreadyApplied: 'ARC_ALREADY_APPLIED',
  notApplied: 'ARC_NOT_APPLIED',
  invalidReceiver: 'INVALID_ARC_RECEIVER',
  receiverNotFound: 'ARC_RECEIVER_NOT_FOUND',
} as const;
export type ArcErrorCode = (typeof ArcErrorCode)[keyof typeof ArcErrorCode];

/** What an ARC may receive from a panel ("Event Types Notification - ARC", Table 3-8), in display order. */
export const ArcEventType = {
  alarm: 'alarm',
  panic: 'panic',
  fire: 'fire',
  tamper: 'tamper',
  fault: 'fault',
  armDisarm: 'arm_disarm',
  bypass: 'bypass',
  periodicTest: 'periodic_test',
  /** The platform's own reports about the device, e.g. offline (the manual: "and device exceptions"). */
  deviceException: 'device_exception',
} as const;
export type ArcEventType = (typeof ArcEventType)[keyof typeof ArcEventType];
export const ARC_EVENT_TYPES: readonly ArcEventType[] = Object.values(ArcEventType);
export const ARC_EVENT_TYPE_LABELS: Record<ArcEventType, string> = {
  alarm: 'Alarm',
  panic: 'Panic / duress',
  fire: 'Fire',
  tamper: 'Tamper',
  fault: 'Fault / trouble',
  arm_disarm: 'Arm / disarm',
  bypass: 'Zone bypass',
  periodic_test: 'Periodic test',
  device_exception: 'Device exception (e.g. offline)',
};

/** §4.12.5: how a panel reaches the ARC's receiver. There is no "direct only". */
export const ArcConnectionMode = { directOrServer: 'direct_or_server', serverOnly: 'server_only' } as const;
export type ArcConnectionMode = (typeof ArcConnectionMode)[keyof typeof ArcConnectionMode];
/** The manual's names, with this platform's server in place of Hik-Partner Pro's. */
export const ARC_CONNECTION_MODE_LABELS: Record<ArcConnectionMode, string> = {
  direct_or_server: 'Connect Directly or by Vigil Server',
  server_only: 'Connect by Vigil Server',
};

/**
 * A panel's ARC service. `off`: never enabled, or disabled by the installer (also when the site's authorization is
 * withdrawn). Nothing is forwarded unless `accepted`.
 */
export const ArcServiceState = { off: 'off', pending: 'pending', accepted: 'accepted', rejected: 'rejected', suspended: 'suspended' } as const;
export type ArcServiceState = (typeof ArcServiceState)[keyof typeof ArcServiceState];
export const ARC_SERVICE_STATE_LABELS: Record<ArcServiceState, string> = {
  off: 'Off',
  pending: 'Pending acceptance',
  accepted: 'Accepted',
  rejected: 'Rejected',
  suspended: 'Suspended',
};

/** What an ARC does with a panel entrusted to it (§4.12.3, §4.12.4). */
export const ArcDecision = { accept: 'accept', reject: 'reject', suspend: 'suspend', resume: 'resume' } as const;
export type ArcDecision = (typeof ArcDecision)[keyof typeof ArcDecision];

/**
 * The account number that identifies the panel at the ARC: the account field of SIA DC-09 (`#acct`), which is
 * 3 to 16 hexadecimal digits in common practice. Stored upper-case.
 */
export const ARC_ACCOUNT_NUMBER_PATTERN = '^[0-9A-Fa-f]{3,16}$';
/** A DC-09 encryption key: AES-128, -192 or -256, written as 32, 48 or 64 hex digits. */
export const DC09_KEY_PATTERN = '^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{48}|[0-9A-Fa-f]{64})$';

/** A union of a named list's values (TypeBox types a union from a tuple). */

const AccountNumber = Type.String({ pattern: ARC_ACCOUNT_NUMBER_PATTERN });
const EventType = literals(ARC_EVENT_TYPES);
const EventTypes = Type.Array(EventType, { minItems: 1, maxItems: ARC_EVENT_TYPES.length, uniqueItems: true });
const ConnectionMode = literals(Object.values(ArcConnectionMode));
const State = literals(Object.values(ArcServiceState));

/**
 * Table 3-8's transmission settings of a panel towards the ARC, which the box relaying it applies too: how long to
 * wait for the receiver's answer ("Impulse Counting Time"), how many sends of a message ("Attempts"), and the
 * interval of live polls ("Polling Rate", 0 for none).
 */
export const ARC_TRANSMISSION_LIMITS = {
  impulseCountingTimeSec: { min: 0.05, max: 600 },
  attempts: { min: 1, max: 99 },
  /** Besides 0 (off). */
  pollingRateSec: { min: 0.05, max: 86_400 },
} as const;
export const ArcTransmissionSchema = Type.Object(
  {
    impulseCountingTimeSec: Type.Number({ minimum: ARC_TRANSMISSION_LIMITS.impulseCountingTimeSec.min, maximum: ARC_TRANSMISSION_LIMITS.impulseCountingTimeSec.max }),
    attempts: Type.Integer({ minimum: ARC_TRANSMISSION_LIMITS.attempts.min, maximum: ARC_TRANSMISSION_LIMITS.attempts.max }),
    pollingRateSec: Type.Union([Type.Literal(0), Type.Number({ minimum: ARC_TRANSMISSION_LIMITS.pollingRateSec.min, maximum: ARC_TRANSMISSION_LIMITS.pollingRateSec.max })]),
  },
  { additionalProperties: false },
);
export type ArcTransmission = Static<typeof ArcTransmissionSchema>;
/** The usual panel defaults: wait 10 s for the answer, 3 sends, no live polls. */
export const DEFAULT_ARC_TRANSMISSION: ArcTransmission = { impulseCountingTimeSec: 10, attempts: 3, pollingRateSec: 0 };
const CountryCode = Type.String({ pattern: '^[A-Z]{2}$' });

// ---- An ARC joins the ARC list (§4.12.1) ----

/** No vendor review here: applying issues the credentials at once; "ARC ID & Key Config Completed" lists the ARC. */
export const ArcProfileStatus = { notApplied: 'not_applied', credentialsIssued: 'credentials_issued', configCompleted: 'config_completed' } as const;
export type ArcProfileStatus = (typeof ArcProfileStatus)[keyof typeof ArcProfileStatus];

export const ArcProfileSchema = Type.Object({
  status: literals(Object.values(ArcProfileStatus)),
  /** The ARC ID (API key): public, it names the ARC to its alarm software. Null before applying. */
  arcId: Type.Union([Type.String(), Type.Null()]),
  contactEmail: Type.String(),
  description: Type.String(),
  /** Countries/regions whose installers see the ARC on their list. */
  regions: Type.Array(Type.String()),
  keyIssuedAt: Type.Union([IsoDateSchema, Type.Null()]),
  configCompletedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type ArcProfile = Static<typeof ArcProfileSchema>;

export const ApplyArcBodySchema = Type.Object(
  {
    contactEmail: Type.String({ format: 'email', minLength: 3, maxLength: 254 }),
    /** Shown to installers on the ARC list. */
    description: Type.Optional(Type.String({ maxLength: 500 })),
    /** Defaults to the company's own country/region. */
    regions: Type.Optional(Type.Array(CountryCode, { minItems: 1, maxItems: 50, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type ApplyArcBody = Static<typeof ApplyArcBodySchema>;

/** The ARC key (API secret) is in this answer only: it is stored hashed. */
export const ArcCredentialsReplySchema = Type.Object({ profile: ArcProfileSchema, arcKey: Type.String() });
export type ArcCredentialsReply = Static<typeof ArcCredentialsReplySchema>;

/** An entry of the ARC list installers choose from. */
export const ArcListItemSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  countryCode: Type.String(),
  regions: Type.Array(Type.String()),
  contactEmail: Type.String(),
  description: Type.String(),
});
export type ArcListItem = Static<typeof ArcListItemSchema>;
export const ArcListSchema = Type.Object({ items: Type.Array(ArcListItemSchema) });

// ---- The ARC's receivers, which the relay sends to ----

export const ArcTransport = { tcp: 'tcp', udp: 'udp' } as const;
export type ArcTransport = (typeof ArcTransport)[keyof typeof ArcTransport];
const Transport = literals(Object.values(ArcTransport));
export const ARC_RECEIVERS_MAX = 8;
export const ARC_RECEIVER_ACCOUNTS_MAX = 1000;

export const ArcReceiverBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    /** An IP address or a domain name. */
    host: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    transport: Transport,
    /** Per account: whether DC-09 encryption is used and with which key. Accounts not listed are sent in plain text. */
    accounts: Type.Array(
      Type.Object(
        {
          accountNumber: AccountNumber,
          encrypted: Type.Boolean(),
          /** Required when encrypting, except to keep the key this account already has. */
          key: Type.Optional(Type.String({ pattern: DC09_KEY_PATTERN })),
        },
        { additionalProperties: false },
      ),
      { maxItems: ARC_RECEIVER_ACCOUNTS_MAX },
    ),
  },
  { additionalProperties: false },
);
export type ArcReceiverBody = Static<typeof ArcReceiverBodySchema>;

/** Keys are never given back. */
export const ArcReceiverSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  transport: Transport,
  accounts: Type.Array(Type.Object({ accountNumber: Type.String(), encrypted: Type.Boolean() })),
  createdAt: IsoDateSchema,
});
export type ArcReceiver = Static<typeof ArcReceiverSchema>;
/** In the order the relay tries them: the first is the primary. */
export const ArcReceiverListSchema = Type.Object({ items: Type.Array(ArcReceiverSchema) });

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Why a receiver's host is neither an IP address nor a domain name, or null when it is one. */
export function receiverHostProblem(host: string): string | null {
  const ok = host.includes(':') ? isIpv6(host) : /^[\d.]+$/.test(host) ? IPV4.test(host) : HOSTNAME.test(host);
  return ok ? null : `"${host}" is neither an IP address nor a domain name.`;
}

function isIpv6(host: string): boolean {
  try {
    return new URL(`http://[${host}]/`).hostname !== '';
  } catch {
    return false;
  }
}

// ---- An installer enables the service (§4.12.2) ----

export const AuthorizeSiteBodySchema = Type.Object({ arcCompanyId: UuidSchema }, { additionalProperties: false });
export type AuthorizeSiteBody = Static<typeof AuthorizeSiteBodySchema>;

export const EnableArcServiceBodySchema = Type.Object(
  {
    accountNumber: AccountNumber,
    eventTypes: EventTypes,
    connectionMode: ConnectionMode,
    /** Left out: the panel's current settings (the defaults the first time). */
    transmission: Type.Optional(ArcTransmissionSchema),
  },
  { additionalProperties: false },
);
export type EnableArcServiceBody = Static<typeof EnableArcServiceBodySchema>;

/** A panel's service settings, as both sides see them. */
const serviceFields = {
  state: State,
  accountNumber: Type.Union([Type.String(), Type.Null()]),
  /** What the ARC receives now. */
  eventTypes: Type.Array(EventType),
  /** An installer's change waiting for the ARC's approval; `eventTypes` stay in force meanwhile. */
  pendingEventTypes: Type.Union([Type.Array(EventType), Type.Null()]),
  connectionMode: ConnectionMode,
  transmission: ArcTransmissionSchema,
  updatedAt: Type.Union([IsoDateSchema, Type.Null()]),
};

export const ArcPanelSchema = Type.Object({
  deviceId: UuidSchema,
  name: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  /** As the panel last reported; the connection mode changes only while disarmed. */
  armed: Type.Boolean(),
  ...serviceFields,
});
export type ArcPanel = Static<typeof ArcPanelSchema>;

/** A site's ARC service page: its authorization and its eligible panels. */
export const SiteArcServiceSchema = Type.Object({
  siteId: UuidSchema,
  siteType: Type.Union([Type.Literal('personal'), Type.Literal('team')]),
  authorization: Type.Union([Type.Object({ arc: ArcListItemSchema, authorizedAt: IsoDateSchema }), Type.Null()]),
  panels: Type.Array(ArcPanelSchema),
});
export type SiteArcService = Static<typeof SiteArcServiceSchema>;

// ---- The ARC manages entrusted devices (§4.12.3, §4.12.4) ----

export const EntrustedPanelSchema = Type.Object({
  deviceId: UuidSchema,
  name: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  installer: Type.String(),
  site: Type.Object({ name: Type.String(), address: Type.String(), timeZone: Type.String() }),
  ...serviceFields,
});
export type EntrustedPanel = Static<typeof EntrustedPanelSchema>;
/** Pending ones first, then by installer and site. */
export const EntrustedPanelListSchema = Type.Object({ items: Type.Array(EntrustedPanelSchema) });
