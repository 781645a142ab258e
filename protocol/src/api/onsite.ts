import Type, { type Static } from 'typebox';
import { LanDeviceClass } from '../lan.js';
import { INIT_STEPS, StepState, VlanBatchSchema } from '../onsite.js';
import { IsoDateSchema, literals, UuidSchema } from './common.js';


/**
 * The installer's default device password and verification code ("Manage Default Device Password"),
 * kept encrypted. The password never comes back from the server, only whether one is saved.
 */
export const DeviceDefaultsSchema = Type.Object({
  hasPassword: Type.Boolean(),
  verificationCode: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type DeviceDefaults = Static<typeof DeviceDefaultsSchema>;

export const UpdateDeviceDefaultsBodySchema = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 64 }), verificationCode: Type.String({ maxLength: 32 }) },
  { additionalProperties: false },
);
export type UpdateDeviceDefaultsBody = Static<typeof UpdateDeviceDefaultsBodySchema>;

/**
 * Activate and initialize devices the site's edge boxes see on the LAN. Give a password and verification
 * code, or `useDefaults` to take the saved ones; `saveAsDefaults` keeps the given ones as the new defaults
 * (the manual's "Set as Default Password and Verification Code").
 */
export const StartActivationBodySchema = Type.Object(
  {
    serials: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    verificationCode: Type.Optional(Type.String({ maxLength: 32 })),
    useDefaults: Type.Optional(Type.Boolean()),
    saveAsDefaults: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type StartActivationBody = Static<typeof StartActivationBodySchema>;

const StepProgressSchema = Type.Object({
  state: literals(Object.values(StepState)),
  message: Type.String(),
  at: IsoDateSchema,
});

export const ActivationJobSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  edgeSerial: Type.String(),
  state: Type.Union([Type.Literal('running'), Type.Literal('done')]),
  createdAt: IsoDateSchema,
  finishedAt: Type.Union([IsoDateSchema, Type.Null()]),
  items: Type.Array(
    Type.Object({
      serial: Type.String(),
      model: Type.String(),
      deviceClass: literals(Object.values(LanDeviceClass)),
      ip: Type.String(),
      /** Step name (InitStep) → its latest report; steps not reached yet are absent. */
      steps: Type.Partial(Type.Record(literals(INIT_STEPS), StepProgressSchema)),
      /** running until every step reported; failed if any step failed. */
      result: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
    }),
  ),
});
export type ActivationJob = Static<typeof ActivationJobSchema>;
export const ActivationJobListSchema = Type.Object({ items: Type.Array(ActivationJobSchema) });

/**
 * Reboot, restore or edit the IP settings of LAN devices, or configure switch VLANs (activated devices: the
 * edge logs in to them).
 */
export const LanOperationBodySchema = Type.Object(
  {
    operation: Type.Union([Type.Literal('reboot'), Type.Literal('restore'), Type.Literal('editNetwork'), Type.Literal('vlan')]),
    serials: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
    /** The devices' admin password, or useDefaults for the saved default password. */
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    useDefaults: Type.Optional(Type.Boolean()),
    /** editNetwork: the new settings per serial (every serial of the batch). */
    networks: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            dhcp: Type.Boolean(),
            ipv4: Type.Optional(Type.String({ maxLength: 15 })),
            mask: Type.Optional(Type.String({ maxLength: 15 })),
            gateway: Type.Optional(Type.String({ maxLength: 15 })),
            dns: Type.Optional(Type.String({ maxLength: 15 })),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** vlan (switches only): VLANs to add (2–4094) and port assignments, applied by every switch of the batch. */
    vlan: Type.Optional(VlanBatchSchema),
  },
  { additionalProperties: false },
);
export type LanOperationBody = Static<typeof LanOperationBodySchema>;

export const LanOperationReplySchema = Type.Object({
  results: Type.Array(Type.Object({ serial: Type.String(), ok: Type.Boolean(), message: Type.String() })),
});
export type LanOperationReply = Static<typeof LanOperationReplySchema>;
