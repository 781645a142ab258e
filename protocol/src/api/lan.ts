import Type, { type Static } from 'typebox';
import { DiscoveredDeviceSchema } from '../lan.js';
import { IsoDateSchema } from './common.js';

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
