import Type, { type Static } from 'typebox';
import { SERIAL_PATTERN } from '../ids.js';
import { IsoDateSchema, UuidSchema } from './common.js';

export const PresenceState = { online: 'online', offline: 'offline' } as const;
export type PresenceState = (typeof PresenceState)[keyof typeof PresenceState];
const PresenceSchema = Type.Union([Type.Literal('online'), Type.Literal('offline')]);

/** What is printed on the box: serial number and verification code. */
export const VERIFICATION_CODE_PATTERN = '^[A-Za-z0-9]{6,32}$';

export const AddEdgeBodySchema = Type.Object(
  {
    serial: Type.String({ pattern: SERIAL_PATTERN }),
    verificationCode: Type.String({ pattern: VERIFICATION_CODE_PATTERN }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type AddEdgeBody = Static<typeof AddEdgeBodySchema>;

export const UpdateEdgeBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** null: follow the site's offline delay. */
    offlineDelaySec: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 86_400 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateEdgeBody = Static<typeof UpdateEdgeBodySchema>;

export const EdgeSchema = Type.Object({
  serial: Type.String(),
  siteId: UuidSchema,
  name: Type.String(),
  /** Presence as declared by the cloud: offline only once the offline delay has passed. */
  status: PresenceSchema,
  /** Whether the box holds a tunnel connection right now. */
  connected: Type.Boolean(),
  /** The box received its credentials and logged in with them. */
  provisioned: Type.Boolean(),
  statusChangedAt: Type.Union([IsoDateSchema, Type.Null()]),
  lastSeenAt: Type.Union([IsoDateSchema, Type.Null()]),
  agentVersion: Type.Union([Type.String(), Type.Null()]),
  offlineDelaySec: Type.Union([Type.Integer(), Type.Null()]),
  effectiveOfflineDelaySec: Type.Integer(),
  claimedAt: IsoDateSchema,
});
export type Edge = Static<typeof EdgeSchema>;

export const PresenceEventSchema = Type.Object({
  state: PresenceSchema,
  /** When the cloud declared the state. */
  at: IsoDateSchema,
  /** When the subject actually went away or came back (may be earlier than `at`). */
  since: IsoDateSchema,
  reason: Type.String(),
});
export type PresenceEvent = Static<typeof PresenceEventSchema>;
export const PresenceHistorySchema = Type.Object({ items: Type.Array(PresenceEventSchema) });
