import Type, { type Static, type TLiteral, type TSchema } from 'typebox';

/**
 * The channels of an NVR or DVR, managed through the edge box (manual §3.1.2 "Channel management", Table 3-4):
 * list them, add cameras as channels ("Manually Select"), delete one, and set their order. The cloud names the
 * recorder (serial, LAN address, admin password); the edge logs in to it over ISAPI and answers with the
 * channels as the recorder has them afterwards, or with why the recorder or a camera refused.
 */

/** Why the edge could not do what was asked: the codes of a refusal (also the HTTP API's error codes). */
export const ChannelRefusal = {
  /** Nothing answers at the recorder's address, or another device does. */
  notOnLan: 'DEVICE_NOT_ON_LAN',
  notRecorder: 'NOT_A_RECORDER',
  /** The recorder refused the admin login (wrong password, or not activated). */
  loginFailed: 'DEVICE_LOGIN_FAILED',
  /** An initialization job is working on the recorder. */
  busy: 'DEVICE_BUSY',
  /** Every channel of the recorder is in use. */
  channelLimit: 'NVR_CHANNEL_LIMIT',
  channelExists: 'CHANNEL_EXISTS',
  cameraUnreachable: 'CAMERA_UNREACHABLE',
  cameraLoginRefused: 'CAMERA_LOGIN_REFUSED',
  channelNotFound: 'CHANNEL_NOT_FOUND',
  /** A PoE channel belongs to a port of the recorder and cannot be deleted. */
  poeChannel: 'POE_CHANNEL_FIXED',
  invalidOrder: 'INVALID_CHANNEL_ORDER',
  /** The recorder refused for another reason (its answer is in the message). */
  deviceRefused: 'DEVICE_REFUSED',
} as const;
export type ChannelRefusal = (typeof ChannelRefusal)[keyof typeof ChannelRefusal];

const literals = <T extends string>(values: readonly T[]) => values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>];
const RefusalCode = Type.Union(literals(Object.values(ChannelRefusal)));
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const ChannelId = Type.Integer({ minimum: 1, maximum: 9999 });

/** One channel as the recorder lists it, in channel order. */
export const RecorderChannelSchema = Type.Object(
  {
    id: ChannelId,
    name: Type.String({ maxLength: 128 }),
    /** The source camera's address and the port the recorder reaches it on ('' and 0 when not set). */
    ipAddress: Type.String({ maxLength: 15 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** The protocol the recorder speaks to the camera (e.g. HIKVISION, ONVIF). */
    protocol: Type.String({ maxLength: 32 }),
    online: Type.Boolean(),
    /** A channel of one of the recorder's own PoE ports. */
    poe: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type RecorderChannel = Static<typeof RecorderChannelSchema>;

export const RecorderChannelsSchema = Type.Object(
  {
    /** IP channels the recorder takes at most. */
    maxChannels: Type.Integer({ minimum: 0, maximum: 9999 }),
    /** Whether the channels were ever sorted (the manual prompts to sort when there are several). */
    sortedOnce: Type.Boolean(),
    channels: Type.Array(RecorderChannelSchema, { maxItems: 9999 }),
  },
  { additionalProperties: false },
);
export type RecorderChannels = Static<typeof RecorderChannelsSchema>;

/** The recorder to work on: where the edge box reaches it and its admin password. */
export const RecorderTargetSchema = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    ip: Type.String({ minLength: 7, maxLength: 15 }),
    httpPort: Port,
    /** The account the box logs in with; `admin` when not given (the account the recorder was activated with). */
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    password: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type RecorderTarget = Static<typeof RecorderTargetSchema>;

/** A camera to add as a channel: its address, HTTP port and account (the recorder logs in to it with these). */
export const ChannelSourceSchema = Type.Object(
  {
    ipAddress: Type.String({ minLength: 7, maxLength: 15 }),
    port: Port,
    username: Type.String({ minLength: 1, maxLength: 32 }),
    password: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    /** When the camera was picked from the LAN: the device answering there must have this serial. */
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type ChannelSource = Static<typeof ChannelSourceSchema>;

const RefusedSchema = Type.Object({ ok: Type.Literal(false), code: RefusalCode, message: Type.String({ maxLength: 512 }) }, { additionalProperties: false });
export type ChannelsRefused = Static<typeof RefusedSchema>;

const done = <P extends Record<string, TSchema>>(extra: P) =>
  Type.Object({ ok: Type.Literal(true), recorder: RecorderChannelsSchema, ...extra }, { additionalProperties: false });

export const NvrChannelsListParamsSchema = Type.Object({ recorder: RecorderTargetSchema }, { additionalProperties: false });
export const NvrChannelsResultSchema = Type.Union([done({}), RefusedSchema]);
export type NvrChannelsResult = Static<typeof NvrChannelsResultSchema>;

export const NvrChannelsAddParamsSchema = Type.Object(
  { recorder: RecorderTargetSchema, cameras: Type.Array(ChannelSourceSchema, { minItems: 1, maxItems: 64 }) },
  { additionalProperties: false },
);
export type NvrChannelsAddParams = Static<typeof NvrChannelsAddParamsSchema>;

/** What became of one camera of an add, in the order given. */
export const ChannelAddOutcomeSchema = Type.Object(
  {
    ipAddress: Type.String(),
    port: Type.Integer(),
    ok: Type.Boolean(),
    /** The new channel's id (null when not added). */
    channelId: Type.Union([ChannelId, Type.Null()]),
    code: Type.Union([RefusalCode, Type.Null()]),
    message: Type.String({ maxLength: 512 }),
  },
  { additionalProperties: false },
);
export type ChannelAddOutcome = Static<typeof ChannelAddOutcomeSchema>;

export const NvrChannelsAddResultSchema = Type.Union([done({ added: Type.Array(ChannelAddOutcomeSchema, { maxItems: 64 }) }), RefusedSchema]);
export type NvrChannelsAddResult = Static<typeof NvrChannelsAddResultSchema>;

export const NvrChannelsRemoveParamsSchema = Type.Object({ recorder: RecorderTargetSchema, channelId: ChannelId }, { additionalProperties: false });
export type NvrChannelsRemoveParams = Static<typeof NvrChannelsRemoveParamsSchema>;

/** The new order: every channel id of the recorder once, first to last. */
export const NvrChannelsOrderParamsSchema = Type.Object(
  { recorder: RecorderTargetSchema, order: Type.Array(ChannelId, { minItems: 1, maxItems: 9999 }) },
  { additionalProperties: false },
);
export type NvrChannelsOrderParams = Static<typeof NvrChannelsOrderParamsSchema>;
