import Type, { type Static, type TSchema } from 'typebox';
import { LanInitializeParamsSchema, LanInitializeResultSchema, LanOperateParamsSchema, LanOperateResultSchema } from './onsite.js';
import {
  NvrChannelsAddParamsSchema,
  NvrChannelsAddResultSchema,
  NvrChannelsListParamsSchema,
  NvrChannelsOrderParamsSchema,
  NvrChannelsRemoveParamsSchema,
  NvrChannelsResultSchema,
} from './channels.js';
import {
  AlarmsConfigureParamsSchema,
  AlarmsConfigureResultSchema,
  AlarmsDeliveredParamsSchema,
  AlarmsDeliveredResultSchema,
  AlarmsStatusResultSchema,
} from './alarms.js';
import {
  MediaCloseParamsSchema,
  MediaCloseResultSchema,
  MediaOpenParamsSchema,
  MediaOpenResultSchema,
  MediaPtzParamsSchema,
  MediaPtzResultSchema,
  MediaRecordingsParamsSchema,
  MediaRecordingsResultSchema,
  MediaSnapshotParamsSchema,
  MediaSnapshotResultSchema,
} from './media.js';
import {
  ClipsBandwidthTestParamsSchema,
  ClipsBandwidthTestResultSchema,
  ClipsConfigureParamsSchema,
  ClipsConfigureResultSchema,
  ClipsStatusResultSchema,
} from './clips.js';

/** The commands the cloud can send an edge, with their parameters and results. */
export const RpcMethod = {
  edgeInfo: 'edge.info',
  edgeReboot: 'edge.reboot',
  lanInitialize: 'lan.initialize',
  lanOperate: 'lan.operate',
  /** The channels of an NVR/DVR the edge box sees on its LAN (see channels.ts). */
  nvrChannelsList: 'nvr.channels.list',
  nvrChannelsAdd: 'nvr.channels.add',
  nvrChannelsRemove: 'nvr.channels.remove',
  nvrChannelsOrder: 'nvr.channels.order',
  /** The alarm relay's panels and ARC routes, and how it is doing (see alarms.ts). */
  alarmsConfigure: 'alarms.configure',
  alarmsStatus: 'alarms.status',
  /** Events the ARC acknowledged through the server path (see alarms.ts). */
  alarmsDelivered: 'alarms.delivered',
  /** Video sessions, snapshots, PTZ and recordings of cameras and recorder channels (see media.ts). */
  mediaOpen: 'media.open',
  mediaClose: 'media.close',
  mediaSnapshot: 'media.snapshot',
  mediaPtz: 'media.ptz',
  mediaRecordings: 'media.recordings',
  /** Event clips of the channels with cloud storage, and the uplink bandwidth test (see clips.ts). */
  clipsConfigure: 'clips.configure',
  clipsStatus: 'clips.status',
  clipsBandwidthTest: 'clips.bandwidthTest',
} as const;
export type RpcMethod = (typeof RpcMethod)[keyof typeof RpcMethod];

export const RpcErrorCode = {
  timeout: 'RPC_TIMEOUT',
  deadlinePassed: 'RPC_DEADLINE_PASSED',
  unknownMethod: 'RPC_UNKNOWN_METHOD',
  badParams: 'RPC_BAD_PARAMS',
  failed: 'RPC_FAILED',
} as const;

export const WorkerInfoSchema = Type.Object({
  name: Type.String(),
  pid: Type.Integer(),
  ready: Type.Boolean(),
  restarts: Type.Integer({ minimum: 0 }),
});

export const EdgeInfoSchema = Type.Object({
  serial: Type.String(),
  agentVersion: Type.String(),
  startedAt: Type.Integer(),
  uptimeSec: Type.Integer({ minimum: 0 }),
  rssBytes: Type.Integer({ minimum: 0 }),
  outboxDepth: Type.Integer({ minimum: 0 }),
  devices: Type.Integer({ minimum: 0 }),
  workers: Type.Array(WorkerInfoSchema),
  platform: Type.Object({ node: Type.String(), os: Type.String(), arch: Type.String() }),
});
export type EdgeInfo = Static<typeof EdgeInfoSchema>;

export const EdgeRebootResultSchema = Type.Object({
  /** The agent restarts after the reply is sent; it comes back online within seconds. */
  accepted: Type.Literal(true),
});

const NoParams = Type.Object({}, { additionalProperties: false });

export const RpcSchemas = {
  [RpcMethod.edgeInfo]: { params: NoParams, result: EdgeInfoSchema },
  [RpcMethod.edgeReboot]: { params: NoParams, result: EdgeRebootResultSchema },
  [RpcMethod.lanInitialize]: { params: LanInitializeParamsSchema, result: LanInitializeResultSchema },
  [RpcMethod.lanOperate]: { params: LanOperateParamsSchema, result: LanOperateResultSchema },
  [RpcMethod.nvrChannelsList]: { params: NvrChannelsListParamsSchema, result: NvrChannelsResultSchema },
  [RpcMethod.nvrChannelsAdd]: { params: NvrChannelsAddParamsSchema, result: NvrChannelsAddResultSchema },
  [RpcMethod.nvrChannelsRemove]: { params: NvrChannelsRemoveParamsSchema, result: NvrChannelsResultSchema },
  [RpcMethod.nvrChannelsOrder]: { params: NvrChannelsOrderParamsSchema, result: NvrChannelsResultSchema },
  [RpcMethod.alarmsConfigure]: { params: AlarmsConfigureParamsSchema, result: AlarmsConfigureResultSchema },
  [RpcMethod.alarmsStatus]: { params: NoParams, result: AlarmsStatusResultSchema },
  [RpcMethod.alarmsDelivered]: { params: AlarmsDeliveredParamsSchema, result: AlarmsDeliveredResultSchema },
  [RpcMethod.mediaOpen]: { params: MediaOpenParamsSchema, result: MediaOpenResultSchema },
  [RpcMethod.mediaClose]: { params: MediaCloseParamsSchema, result: MediaCloseResultSchema },
  [RpcMethod.mediaSnapshot]: { params: MediaSnapshotParamsSchema, result: MediaSnapshotResultSchema },
  [RpcMethod.mediaPtz]: { params: MediaPtzParamsSchema, result: MediaPtzResultSchema },
  [RpcMethod.mediaRecordings]: { params: MediaRecordingsParamsSchema, result: MediaRecordingsResultSchema },
  [RpcMethod.clipsConfigure]: { params: ClipsConfigureParamsSchema, result: ClipsConfigureResultSchema },
  [RpcMethod.clipsStatus]: { params: NoParams, result: ClipsStatusResultSchema },
  [RpcMethod.clipsBandwidthTest]: { params: ClipsBandwidthTestParamsSchema, result: ClipsBandwidthTestResultSchema },
} as const satisfies Record<RpcMethod, { params: TSchema; result: TSchema }>;

export type RpcParams<M extends RpcMethod> = Static<(typeof RpcSchemas)[M]['params']>;
export type RpcResult<M extends RpcMethod> = Static<(typeof RpcSchemas)[M]['result']>;
