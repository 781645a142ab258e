import Type, { type Static } from 'typebox';
import { DiscoveredDeviceSchema } from '../lan.js';
import { IsoDateSchema, UuidSchema } from './common.js';
import { DeviceSchema } from './devices.js';
import { CreateSiteBodySchema } from './sites.js';

/** A device the site's edge boxes see on the LAN, as the On-site page lists it. */
export const LanDeviceSchema = Type.Object({
  ...DiscoveredDeviceSchema.properties,
  edgeSerial: Type.String(),
  /** The 9-character serial the manual asks for when adding by serial (null: the serial has none). */
  shortSerial: Type.Union([Type.String(), Type.Null()]),
  pingLevel: Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red'), Type.Null()]),
  /** The id of the site device with this serial, when it has been added to this site already. */
  siteDeviceId: Type.Union([Type.String(), Type.Null()]),
  seenAt: IsoDateSchema,
});
export type LanDevice = Static<typeof LanDeviceSchema>;

export const LanDeviceListSchema = Type.Object({ items: Type.Array(LanDeviceSchema) });
export type LanDeviceList = Static<typeof LanDeviceListSchema>;

/** A personal site takes at most this many video channels (the sum over its devices). */
export const PERSONAL_SITE_MAX_CHANNELS = 128;

/**
 * Add devices the site's edge boxes see on the LAN to a site (the manual's "Add to Hik-Partner Pro" after SADP):
 * to this site (no target), to an existing site, or to a new site created with them. All or nothing.
 */
export const AddLanDevicesBodySchema = Type.Object(
  {
    serials: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
    target: Type.Optional(
      Type.Union([
        Type.Object({ siteId: UuidSchema }, { additionalProperties: false }),
        Type.Object({ newSite: CreateSiteBodySchema }, { additionalProperties: false }),
      ]),
    ),
  },
  { additionalProperties: false },
);
export type AddLanDevicesBody = Static<typeof AddLanDevicesBodySchema>;

export const AddLanDevicesResultSchema = Type.Object({
  /** The site the devices went to. */
  siteId: UuidSchema,
  devices: Type.Array(DeviceSchema),
});
export type AddLanDevicesResult = Static<typeof AddLanDevicesResultSchema>;
