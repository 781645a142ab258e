import Type, { type Static, type TLiteral } from 'typebox';
import { LanDeviceClass } from './lan.js';

/**
 * Activation and initialization of LAN devices through the edge box (the manual's SADP tool, Table 3-2).
 * The cloud starts a job with the `lan.initialize` RPC (answered at once); the edge then works through the
 * devices and reports each step on the event topic `v1/edge/{id}/event/onsite.progress` (through its
 * outbox, so no step's outcome is lost), ending with one `job.done` report per job.
 */

/** The steps of Table 3-2, in the order they run for one device. */
export const InitStep = {
  activate: 'activate',
  /** DHCP per class: NVR on; camera off; switches except EI-series and all DVRs on; others unchanged; then a ping test. */
  network: 'network',
  firmware: 'firmware',
  time: 'time',
  /** HDD/SD: format only disks that are new and not initialized; never a disk holding data. */
  storage: 'storage',
  /** Cameras: Motion Detection 2.0 on the whole image with Notify Surveillance Center; Smart H.264+ → H.265+ when supported. */
  camera: 'camera',
  /** Hik-Connect service on where supported (with the verification code; the AC router needs none). */
  hikConnect: 'hikConnect',
  /** Cameras: added as IP channels of the NVR initialized in the same job. */
  nvrChannel: 'nvrChannel',
  /** NVR: channel adding then sorting (a PoE NVR with PoE channels enabled skips to device adding). */
  channels: 'channels',
} as const;
export type InitStep = (typeof InitStep)[keyof typeof InitStep];
export const INIT_STEPS: readonly InitStep[] = Object.values(InitStep);

export const StepState = { running: 'running', done: 'done', skipped: 'skipped', failed: 'failed' } as const;
export type StepState = (typeof StepState)[keyof typeof StepState];

const literals = <T extends string>(values: readonly T[]) => values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>];

export const InitTargetSchema = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    deviceClass: Type.Union(literals(Object.values(LanDeviceClass))),
    ip: Type.String({ minLength: 7, maxLength: 15 }),
    httpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Whether the device reported itself activated when the job was made (activation is then refused). */
    activated: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type InitTarget = Static<typeof InitTargetSchema>;

export const LanInitializeParamsSchema = Type.Object(
  {
    jobId: Type.String({ format: 'uuid' }),
    devices: Type.Array(InitTargetSchema, { minItems: 1, maxItems: 256 }),
    /** Admin password to set (activation) and to log in with afterwards. */
    password: Type.String({ minLength: 8, maxLength: 16 }),
    verificationCode: Type.String({ maxLength: 32 }),
    /** The site's time zone (IANA), for the time step. */
    timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type LanInitializeParams = Static<typeof LanInitializeParamsSchema>;

export const LanInitializeResultSchema = Type.Object({ accepted: Type.Literal(true) }, { additionalProperties: false });

/** One progress report, carried as the `details` of an `onsite.progress` event. */
export const InitProgressSchema = Type.Union([
  Type.Object(
    {
      jobId: Type.String(),
      serial: Type.String(),
      step: Type.Union(literals(INIT_STEPS)),
      state: Type.Union(literals(Object.values(StepState))),
      /** What was done or why not, in words for the installer (e.g. "DHCP turned on", "disk 2 holds data: not formatted"). */
      message: Type.String({ maxLength: 512 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ jobId: Type.String(), step: Type.Literal('job.done') }, { additionalProperties: false }),
]);
export type InitProgress = Static<typeof InitProgressSchema>;

export const ONSITE_PROGRESS_EVENT = 'onsite.progress';

/**
 * Other SADP operations on LAN devices (manual §3.1.2 "Other SADP ops"): reboot, factory restore (the device
 * returns to unactivated), and editing the IP settings (DHCP on, or a fixed address with a subnet mask from
 * the recommended list); and on switches, VLANs (§3.2.3). Run at once by the edge with the `lan.operate` RPC;
 * one result per device.
 */
export const LanOperation = { reboot: 'reboot', restore: 'restore', editNetwork: 'editNetwork', vlan: 'vlan' } as const;
export type LanOperation = (typeof LanOperation)[keyof typeof LanOperation];

/** The subnet masks the portal offers (an invalid mask cannot be entered). */
export const RECOMMENDED_SUBNET_MASKS: readonly string[] = [
  '255.255.255.0',
  '255.255.255.128',
  '255.255.255.192',
  '255.255.255.224',
  '255.255.255.240',
  '255.255.254.0',
  '255.255.252.0',
  '255.255.248.0',
  '255.255.240.0',
  '255.255.0.0',
  '255.0.0.0',
];

const NetworkEditSchema = Type.Object(
  {
    dhcp: Type.Boolean(),
    ipv4: Type.Optional(Type.String({ maxLength: 15 })),
    mask: Type.Optional(Type.String({ maxLength: 15 })),
    gateway: Type.Optional(Type.String({ maxLength: 15 })),
    dns: Type.Optional(Type.String({ maxLength: 15 })),
  },
  { additionalProperties: false },
);
export type NetworkEdit = Static<typeof NetworkEditSchema>;

/**
 * A switch VLAN batch (the VlanUpdate of isapi/vlan.ts): VLANs to add and port assignments. Ids are not
 * range-checked here so that a refusal can say why (VLAN 1 is the default, 4095 is reserved).
 */
const VlanId = Type.Integer({ minimum: 0, maximum: 65535 });
export const VlanBatchSchema = Type.Object(
  {
    addVlans: Type.Array(VlanId, { maxItems: 4094 }),
    ports: Type.Array(
      Type.Object(
        {
          port: Type.Integer({ minimum: 1, maximum: 1024 }),
          mode: Type.Union([Type.Literal('ACCESS'), Type.Literal('TRUNK')]),
          pvid: VlanId,
          /** TRUNK only: the VLANs the port carries, its PVID among them. */
          allowedVlans: Type.Optional(Type.Array(VlanId, { maxItems: 4094 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1024 },
    ),
  },
  { additionalProperties: false },
);
export type VlanBatch = Static<typeof VlanBatchSchema>;

export const LanOperateParamsSchema = Type.Object(
  {
    operation: Type.Union(literals(Object.values(LanOperation))),
    devices: Type.Array(
      Type.Object(
        {
          serial: Type.String({ minLength: 1, maxLength: 128 }),
          ip: Type.String({ minLength: 7, maxLength: 15 }),
          httpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
          /** For editNetwork: the new settings of this device. */
          network: Type.Optional(NetworkEditSchema),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 256 },
    ),
    /** The devices' admin password. */
    password: Type.String({ minLength: 1, maxLength: 64 }),
    /** For vlan: the batch every device of the request applies. */
    vlan: Type.Optional(VlanBatchSchema),
  },
  { additionalProperties: false },
);
export type LanOperateParams = Static<typeof LanOperateParamsSchema>;

export const LanOperateResultSchema = Type.Object(
  {
    results: Type.Array(
      Type.Object({ serial: Type.String(), ok: Type.Boolean(), message: Type.String({ maxLength: 512 }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type LanOperateResult = Static<typeof LanOperateResultSchema>;
