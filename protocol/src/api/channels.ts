import Type, { type Static } from 'typebox';
import { ChannelAddOutcomeSchema, ChannelRefusal, RecorderChannelSchema } from '../channels.js';
import { UuidSchema } from './common.js';

/**
 * The channels of a site's NVR or DVR (manual §3.1.2 "Channel management" and "Sort channels", Table 3-4), managed
 * through the site's edge box, which logs in to the recorder with the installer's default device password.
 */

/** The refusals of the channel routes, besides the API's common ones. */
export const ChannelErrorCode = {
  ...ChannelRefusal,
  /** The device is not reached through an edge box (it connects by itself or by IP/domain). */
  noEdgeBox: 'DEVICE_WITHOUT_EDGE_BOX',
  /** Only network cameras become channels. */
  notCamera: 'NOT_A_CAMERA',
} as const;
export type ChannelErrorCode = (typeof ChannelErrorCode)[keyof typeof ChannelErrorCode];

export const ChannelSchema = RecorderChannelSchema;
export type Channel = Static<typeof ChannelSchema>;

export const DeviceChannelsSchema = Type.Object({
  deviceId: UuidSchema,
  /** IP channels the recorder takes at most. */
  maxChannels: Type.Integer({ minimum: 0 }),
  /** Whether the channels were ever sorted: with more than one and never sorted, the portal prompts to sort. */
  sortedOnce: Type.Boolean(),
  /** In channel order. */
  channels: Type.Array(ChannelSchema),
});
export type DeviceChannels = Static<typeof DeviceChannelsSchema>;

/**
 * "Add Channel → Manually Select": cameras the device's edge box sees on the LAN, by serial (their admin password
 * given, or the installer's default device password), or one camera by its address and account.
 */
export const AddChannelsBodySchema = Type.Object(
  {
    serials: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 64, uniqueItems: true })),
    /** With serials: the cameras' admin password; the default device password when left out. */
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    address: Type.Optional(
      Type.Object(
        {
          ipAddress: Type.String({ minLength: 1, maxLength: 15 }),
          port: Type.Integer({ minimum: 1, maximum: 65535 }),
          username: Type.String({ minLength: 1, maxLength: 32 }),
          password: Type.String({ minLength: 1, maxLength: 64 }),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AddChannelsBody = Static<typeof AddChannelsBodySchema>;

export const AddChannelsReplySchema = Type.Object({
  /** One per camera, in the order asked: the serial (picked from the LAN) or the address it was asked by. */
  results: Type.Array(Type.Object({ camera: Type.String(), ...ChannelAddOutcomeSchema.properties })),
  channels: DeviceChannelsSchema,
});
export type AddChannelsReply = Static<typeof AddChannelsReplySchema>;

export const ChannelOrderBodySchema = Type.Object(
  { order: Type.Array(Type.Integer({ minimum: 1, maximum: 9999 }), { minItems: 1, maxItems: 9999, uniqueItems: true }) },
  { additionalProperties: false },
);
export type ChannelOrderBody = Static<typeof ChannelOrderBodySchema>;
