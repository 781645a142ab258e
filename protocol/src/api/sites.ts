import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, PageQuerySchema, UuidSchema } from './common.js';

export const SiteType = { personal: 'personal', team: 'team' } as const;
export type SiteType = (typeof SiteType)[keyof typeof SiteType];

/** The seven site statuses of the manual (§3.3). Only NotHandedOver is reachable until handover exists. */
export const SiteStatus = {
  notHandedOver: 'NotHandedOver',
  notRegistered: 'NotRegistered',
  toBeAccepted: 'ToBeAccepted',
  handedOverNotAuthorized: 'HandedOverNotAuthorized',
  authorizedAndMonitoring: 'AuthorizedAndMonitoring',
  shared: 'Shared',
  disbanded: 'Disbanded',
} as const;
export type SiteStatus = (typeof SiteStatus)[keyof typeof SiteStatus];
export const SITE_STATUS_LABELS: Record<SiteStatus, string> = {
  NotHandedOver: 'Not handed over',
  NotRegistered: 'Not registered',
  ToBeAccepted: 'To be accepted',
  HandedOverNotAuthorized: 'Handed over, not authorized',
  AuthorizedAndMonitoring: 'Authorized and monitoring',
  Shared: 'Shared',
  Disbanded: 'Disbanded',
};

/** The manual's offline delay: 5 minutes to 24 hours (a start-up setting may lower the minimum for tests). */
export const OFFLINE_DELAY_MIN_SEC = 300;
export const OFFLINE_DELAY_MAX_SEC = 86_400;
export const OFFLINE_DELAY_DEFAULT_SEC = 300;

const SiteTypeSchema = Type.Union([Type.Literal('personal'), Type.Literal('team')]);
const SiteStatusSchema = literals(Object.values(SiteStatus));
const Name = Type.String({ minLength: 1, maxLength: 64 });
const Text = (max: number) => Type.String({ maxLength: max });
/** Bounds here are the widest any configuration allows; the service checks the configured minimum. */
const OfflineDelay = Type.Integer({ minimum: 1, maximum: OFFLINE_DELAY_MAX_SEC });

const editable = {
  name: Name,
  timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  syncTimeToDevices: Type.Boolean(),
  address: Text(256),
  city: Text(128),
  stateProvince: Text(128),
  customerRemark: Text(1024),
  offlineDelaySec: OfflineDelay,
};

export const CreateSiteBodySchema = Type.Object(
  {
    name: editable.name,
    type: SiteTypeSchema,
    timeZone: editable.timeZone,
    syncTimeToDevices: Type.Optional(editable.syncTimeToDevices),
    address: Type.Optional(editable.address),
    city: Type.Optional(editable.city),
    stateProvince: Type.Optional(editable.stateProvince),
    customerRemark: Type.Optional(editable.customerRemark),
    offlineDelaySec: Type.Optional(editable.offlineDelaySec),
    /** "Move to Group" while adding a personal site (site-admin.ts). */
    groupId: Type.Optional(UuidSchema),
  },
  { additionalProperties: false },
);
export type CreateSiteBody = Static<typeof CreateSiteBodySchema>;

export const UpdateSiteBodySchema = Type.Object(
  {
    name: Type.Optional(editable.name),
    timeZone: Type.Optional(editable.timeZone),
    syncTimeToDevices: Type.Optional(editable.syncTimeToDevices),
    address: Type.Optional(editable.address),
    city: Type.Optional(editable.city),
    stateProvince: Type.Optional(editable.stateProvince),
    customerRemark: Type.Optional(editable.customerRemark),
    offlineDelaySec: Type.Optional(editable.offlineDelaySec),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateSiteBody = Static<typeof UpdateSiteBodySchema>;

export const SiteSchema = Type.Object({
  id: UuidSchema,
  companyId: UuidSchema,
  name: Type.String(),
  type: SiteTypeSchema,
  status: SiteStatusSchema,
  timeZone: Type.String(),
  syncTimeToDevices: Type.Boolean(),
  address: Type.String(),
  city: Type.String(),
  stateProvince: Type.String(),
  customerRemark: Type.String(),
  offlineDelaySec: Type.Integer(),
  /** The site's group (personal sites only), or null. */
  groupId: Type.Union([UuidSchema, Type.Null()]),
  edgeCount: Type.Integer(),
  deviceCount: Type.Integer(),
  devicesOnline: Type.Integer(),
  createdAt: IsoDateSchema,
  updatedAt: IsoDateSchema,
});
export type Site = Static<typeof SiteSchema>;

export const SiteListQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  /** Matches name, address, city or customer remark, case-insensitively. */
  search: Type.Optional(Type.String({ maxLength: 64 })),
  type: Type.Optional(SiteTypeSchema),
  status: Type.Optional(SiteStatusSchema),
  groupId: Type.Optional(UuidSchema),
});
export type SiteListQuery = Static<typeof SiteListQuerySchema>;

export const SiteListSchema = Type.Object({ items: Type.Array(SiteSchema), total: Type.Integer() });
export type SiteList = Static<typeof SiteListSchema>;
