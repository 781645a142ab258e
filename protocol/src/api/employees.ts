import Type, { type Static } from 'typebox';
import { IsoDateSchema, UuidSchema } from './common.js';
import type { Permission } from './permissions.js';

/**
 * Employees, roles and the Employee Account Add-On (manual §1.4.1, §3.4.2). Everything here needs
 * `accounts.manage` (the Installer Admin holds it) except where said.
 *
 *   GET    /api/v1/employees                                  → EmployeesReply (the Installer Admin first)
 *   PATCH  /api/v1/employees/:accountId                       EmployeeUpdateBody → Employee
 *            enabled=false revokes every session of the account at once; limited=false takes an add-on slot
 *            (422 ADDON_SLOTS_EXHAUSTED when none is free); the Installer Admin cannot be changed here
 *   DELETE /api/v1/employees/:accountId                       → 204 (its sessions end)
 *   POST   /api/v1/employees/invitations                      InvitationBody → Invitation (an email with a link)
 *   GET    /api/v1/employees/invitations                      → InvitationsReply (pending ones)
 *   DELETE /api/v1/employees/invitations/:id                  → 204 (the link stops working)
 *   GET    /api/v1/invitations/:token                         public → InvitationPreview
 *   POST   /api/v1/invitations/:token/accept                  public, AcceptInvitationBody → MeReply (signed in)
 *   GET    /api/v1/companies/similar?name=                    public → SimilarCompaniesReply (self-registration)
 *   POST   /api/v1/join-requests                              public, JoinRequestBody → 202 (the company's admins are told)
 *   GET    /api/v1/employees/join-requests                    → JoinRequestsReply (pending)
 *   POST   /api/v1/employees/join-requests/:id/approve        → Employee (mail to the applicant)
 *   POST   /api/v1/employees/join-requests/:id/reject         → 204
 *   GET    /api/v1/roles                                      → RolesReply (anyone of the company may read)
 *   POST   /api/v1/roles                                      RoleBody → Role
 *   PATCH  /api/v1/roles/:roleId                              RoleBody (partial) → Role (holders' sessions see it at once)
 *   DELETE /api/v1/roles/:roleId                              → 204; 409 ROLE_IN_USE while an employee or the SSO default holds it
 *   GET    /api/v1/company/employee-addon                     → AddOnReply
 *   POST   /api/v1/company/employee-addon/orders              AddOnOrderBody → AddOnReply (region feature
 *                                                            `employee_addon`, authenticated company)
 *
 * A limited account ("account limit" not removed) may sign in but holds none of the site, device or video
 * permissions of its role: the server strips them when it resolves the session.
 */

export const EmployeeSource = { register: 'register', invite: 'invite', joinRequest: 'join_request', scim: 'scim', merger: 'merger' } as const;
export type EmployeeSource = (typeof EmployeeSource)[keyof typeof EmployeeSource];

/** New companies get this many employee accounts without the add-on's limit. */
export const FREE_EMPLOYEE_SLOTS = 2;
/** An invitation link is valid this long. */
export const INVITATION_DAYS = 7;

export const EmployeeErrorCode = {
  employeeNotFound: 'EMPLOYEE_NOT_FOUND',
  /** Removing an account limit needs a free add-on slot (free + purchased − used). */
  addOnSlotsExhausted: 'ADDON_SLOTS_EXHAUSTED',
  /** The Installer Admin's own account is not an employee to change. */
  installerAdminImmutable: 'INSTALLER_ADMIN_IMMUTABLE',
  roleNotFound: 'ROLE_NOT_FOUND',
  roleNameTaken: 'ROLE_NAME_TAKEN',
  roleInUse: 'ROLE_IN_USE',
  /** A permission name the platform does not know. */
  unknownPermission: 'UNKNOWN_PERMISSION',
  invitationNotFound: 'INVITATION_NOT_FOUND',
  /** Expired, revoked, already used, or made invalid by a merger. */
  invitationInvalid: 'INVITATION_INVALID',
  joinRequestNotFound: 'JOIN_REQUEST_NOT_FOUND',
  /** Synced accounts are changed by the identity provider (SCIM), not by hand: their email and removal. */
  syncedAccount: 'SYNCED_ACCOUNT',
} as const;
export type EmployeeErrorCode = (typeof EmployeeErrorCode)[keyof typeof EmployeeErrorCode];

/** How the portal names each permission when a role is edited. */
export const PERMISSION_LABELS: Record<Permission, string> = {
  'site.manage_all': 'Manage All Sites',
  'site.manage_assigned': 'Manage Assigned Sites',
  'device.manage': 'Manage devices',
  'device.configure': 'Configure devices remotely',
  'video.live_view': 'Live view',
  'video.playback': 'Playback',
  'accounts.manage': 'Manage accounts and roles',
};

export const RoleSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  permissions: Type.Array(Type.String()),
  /** Employees holding it. */
  holders: Type.Integer(),
  createdAt: IsoDateSchema,
});
export type Role = Static<typeof RoleSchema>;
export const RolesReplySchema = Type.Object({ items: Type.Array(RoleSchema) });
export const RoleBodySchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 64 }), permissions: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64, uniqueItems: true }) },
  { additionalProperties: false },
);
export type RoleBody = Static<typeof RoleBodySchema>;
export const RolePatchBodySchema = Type.Partial(RoleBodySchema, { additionalProperties: false, minProperties: 1 });

export const EmployeeSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  email: Type.String(),
  role: Type.Union([Type.Literal('installer_admin'), Type.Literal('installer')]),
  roleId: Type.Union([UuidSchema, Type.Null()]),
  roleName: Type.Union([Type.String(), Type.Null()]),
  /** "Enable Employee Account": may sign in. */
  enabled: Type.Boolean(),
  /** True until "Remove Account Limit": may not manage sites or devices. */
  limited: Type.Boolean(),
  source: Type.String(),
  /** Provisioned by the identity provider (SCIM); shown with an icon. */
  synced: Type.Boolean(),
  lastLoginAt: Type.Union([IsoDateSchema, Type.Null()]),
  createdAt: IsoDateSchema,
});
export type Employee = Static<typeof EmployeeSchema>;
export const EmployeesReplySchema = Type.Object({ items: Type.Array(EmployeeSchema) });
export const EmployeeUpdateBodySchema = Type.Object(
  {
    roleId: Type.Optional(Type.Union([UuidSchema, Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
    limited: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type EmployeeUpdateBody = Static<typeof EmployeeUpdateBodySchema>;

export const InvitationBodySchema = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254 }), roleId: Type.Optional(Type.Union([UuidSchema, Type.Null()])) },
  { additionalProperties: false },
);
export type InvitationBody = Static<typeof InvitationBodySchema>;
export const InvitationSchema = Type.Object({
  id: UuidSchema,
  email: Type.String(),
  roleId: Type.Union([UuidSchema, Type.Null()]),
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('revoked')]),
  expiresAt: IsoDateSchema,
  createdAt: IsoDateSchema,
});
export type Invitation = Static<typeof InvitationSchema>;
export const InvitationsReplySchema = Type.Object({ items: Type.Array(InvitationSchema) });
export const InvitationPreviewSchema = Type.Object({ companyName: Type.String(), email: Type.String(), expiresAt: IsoDateSchema });
export type InvitationPreview = Static<typeof InvitationPreviewSchema>;
export const AcceptInvitationBodySchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type AcceptInvitationBody = Static<typeof AcceptInvitationBodySchema>;

/** Self-registration's company search: at least 3 characters, so the list cannot be walked letter by letter. */
export const SIMILAR_NAME_MIN = 3;
export const SimilarCompaniesQuerySchema = Type.Object({ name: Type.String({ minLength: SIMILAR_NAME_MIN, maxLength: 128 }) }, { additionalProperties: false });
export const SimilarCompanySchema = Type.Object({ id: UuidSchema, name: Type.String(), countryCode: Type.String() });
export type SimilarCompany = Static<typeof SimilarCompanySchema>;
export const SimilarCompaniesReplySchema = Type.Object({ items: Type.Array(SimilarCompanySchema) });
export const JoinRequestBodySchema = Type.Object(
  {
    companyId: UuidSchema,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type JoinRequestBody = Static<typeof JoinRequestBodySchema>;
export const JoinRequestSchema = Type.Object({ id: UuidSchema, name: Type.String(), email: Type.String(), createdAt: IsoDateSchema });
export type JoinRequest = Static<typeof JoinRequestSchema>;
export const JoinRequestsReplySchema = Type.Object({ items: Type.Array(JoinRequestSchema) });

export const AddOnReplySchema = Type.Object({
  free: Type.Integer(),
  purchased: Type.Integer(),
  /** Employees whose account limit is removed. */
  used: Type.Integer(),
  orders: Type.Array(Type.Object({ id: UuidSchema, quantity: Type.Integer(), createdAt: IsoDateSchema })),
});
export type AddOnReply = Static<typeof AddOnReplySchema>;
export const AddOnOrderBodySchema = Type.Object({ quantity: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false });
export type AddOnOrderBody = Static<typeof AddOnOrderBodySchema>;
