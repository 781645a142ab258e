import Type, { type Static, type TLiteral, type TSchema } from 'typebox';
import { DeviceReportSchema } from './devices.js';
import { DEVICE_ID_PATTERN, SERIAL_PATTERN } from './ids.js';
import { LanDeviceClass, LanSnapshotSchema, type LanSnapshot } from './lan.js';
import type { TopicKind } from './topics.js';

/** The `type` of each envelope, one per topic kind. */
export const MessageType = {
  status: 'edge.status',
  heartbeat: 'edge.heartbeat',
  inventory: 'edge.inventory',
  lan: 'edge.lan',
  deviceState: 'device.state',
  event: 'edge.event',
  command: 'rpc.request',
  reply: 'rpc.reply',
  claimCredentials: 'claim.credentials',
  p2pInfo: 'device.info',
  p2pIsapi: 'device.isapi.request',
  p2pIsapiReply: 'device.isapi.reply',
} as const satisfies Record<TopicKind, string>;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const Timestamp = Type.Integer({ minimum: 0, description: 'milliseconds since the Unix epoch' });

export const StatusSchema = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    /** Why the edge went offline: its last will fired, it shut down, or it restarts on command. */
    reason: Type.Optional(Type.Union([Type.Literal('will'), Type.Literal('shutdown'), Type.Literal('reboot')])),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    startedAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);

export const HeartbeatSchema = Type.Object(
  {
    uptimeSec: Type.Integer({ minimum: 0 }),
    rssBytes: Type.Integer({ minimum: 0 }),
    outboxDepth: Type.Integer({ minimum: 0 }),
    devicesOnline: Type.Integer({ minimum: 0 }),
    devicesTotal: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const InventorySchema = Type.Object(
  { devices: Type.Array(DeviceReportSchema, { maxItems: 4096 }) },
  { additionalProperties: false },
);

export const DeviceStateSchema = Type.Object(
  {
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN }),
    online: Type.Boolean(),
    /** When the edge saw the change, which may be long before the message reaches the cloud. */
    at: Timestamp,
    reason: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const EventSchema = Type.Object(
  {
    deviceId: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN })),
    at: Timestamp,
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

export const RpcRequestSchema = Type.Object(
  {
    /** The cloud gives up at this time; an edge that sees the request later does not run it. */
    deadline: Timestamp,
    params: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

export const RpcErrorSchema = Type.Object(
  { code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 2048 }) },
  { additionalProperties: false },
);

export const RpcReplySchema = Type.Union([
  Type.Object({ ok: Type.Literal(true), result: Type.Unknown() }, { additionalProperties: false }),
  Type.Object({ ok: Type.Literal(false), error: RpcErrorSchema }, { additionalProperties: false }),
]);

export const ClaimCredentialsSchema = Type.Object(
  {
    edgeId: Type.String({ pattern: SERIAL_PATTERN }),
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 16, maxLength: 256 }),
  },
  { additionalProperties: false },
);

/** What a P2P device says about itself when it connects (retained, so the cloud has it whenever it asks). */
export const P2pInfoSchema = Type.Object(
  {
    /** As the device reports it (often the long form); its short form is the topic's serial. */
    serial: Type.String({ minLength: 9, maxLength: 128 }),
    deviceClass: Type.Union(Object.values(LanDeviceClass).map((c) => Type.Literal(c)) as unknown as [TLiteral<LanDeviceClass>]),
    model: Type.String({ minLength: 1, maxLength: 128 }),
    firmware: Type.String({ maxLength: 128 }),
    name: Type.String({ maxLength: 128 }),
    /** Video channels it brings to a site. */
    channels: Type.Integer({ minimum: 0, maximum: 1024 }),
  },
  { additionalProperties: false },
);

/** The longest ISAPI body carried either way over a device's platform connection, in characters. */
export const P2P_ISAPI_MAX_BODY = 64 * 1024;

/**
 * An ISAPI request the platform sends a P2P device over the device's own connection (the role of Hik-Connect's P2P
 * tunnel). The connection is the device's trust in the platform: no digest challenge applies.
 */
export const P2pIsapiRequestSchema = Type.Object(
  {
    method: Type.Union([Type.Literal('GET'), Type.Literal('PUT'), Type.Literal('POST'), Type.Literal('DELETE')]),
    /** Path and query, e.g. `/ISAPI/SecurityCP/control/arm/1?ways=away`. */
    path: Type.String({ pattern: '^/ISAPI/[\\x21-\\x7e]*$', maxLength: 1024 }),
    body: Type.Optional(Type.String({ maxLength: P2P_ISAPI_MAX_BODY })),
    /** The platform gives up at this time; a device that sees the request later does not run it. */
    deadline: Timestamp,
  },
  { additionalProperties: false },
);

/** The device's answer, as its HTTP server would give it. */
export const P2pIsapiReplySchema = Type.Object(
  {
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    contentType: Type.Optional(Type.String({ maxLength: 128 })),
    body: Type.String({ maxLength: P2P_ISAPI_MAX_BODY }),
  },
  { additionalProperties: false },
);

/** The data schema of each topic kind. */
export const DataSchemas = {
  status: StatusSchema,
  heartbeat: HeartbeatSchema,
  inventory: InventorySchema,
  lan: LanSnapshotSchema,
  deviceState: DeviceStateSchema,
  event: EventSchema,
  command: RpcRequestSchema,
  reply: RpcReplySchema,
  claimCredentials: ClaimCredentialsSchema,
  p2pInfo: P2pInfoSchema,
  p2pIsapi: P2pIsapiRequestSchema,
  p2pIsapiReply: P2pIsapiReplySchema,
} as const satisfies Record<TopicKind, TSchema>;

export type StatusData = Static<typeof StatusSchema>;
export type HeartbeatData = Static<typeof HeartbeatSchema>;
export type InventoryData = Static<typeof InventorySchema>;
export type DeviceStateData = Static<typeof DeviceStateSchema>;
export type EventData = Static<typeof EventSchema>;
export type RpcRequestData = Static<typeof RpcRequestSchema>;
export type RpcReplyData = Static<typeof RpcReplySchema>;
export type RpcError = Static<typeof RpcErrorSchema>;
export type ClaimCredentialsData = Static<typeof ClaimCredentialsSchema>;
export type P2pInfoData = Static<typeof P2pInfoSchema>;
export type P2pIsapiRequestData = Static<typeof P2pIsapiRequestSchema>;
export type P2pIsapiReplyData = Static<typeof P2pIsapiReplySchema>;

export interface DataOf {
  status: StatusData;
  heartbeat: HeartbeatData;
  inventory: InventoryData;
  lan: LanSnapshot;
  deviceState: DeviceStateData;
  event: EventData;
  command: RpcRequestData;
  reply: RpcReplyData;
  claimCredentials: ClaimCredentialsData;
  p2pInfo: P2pInfoData;
  p2pIsapi: P2pIsapiRequestData;
  p2pIsapiReply: P2pIsapiReplyData;
}
