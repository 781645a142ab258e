import { randomBytes } from 'node:crypto';
import {
  ALL_PERMISSIONS,
  CollaborationRefusal,
  CompanyErrorCode,
  EmployeeErrorCode,
  ErrorCode,
  GrantErrorCode,
  HandoverErrorCode,
  MergerFailure,
  PartnerErrorCode,
  Permission,
  SiteStatusErrorCode,
  SsoErrorCode,
} from '@vigil/protocol/api';

/**
 * Who may do what: every actor × every operation, as data. matrix.test.ts walks it against a running cloud.
 * A new actor is one entry in ACTORS (and its builder in actors.ts); a new operation is one entry in OPERATIONS,
 * or in HANDOVER_OPERATIONS (operations-handover.ts: handover, sharing, grants, site administration, co-branding and
 * the customer's side). The compiler then asks for the missing cells: every operation states the outcome of every
 * signed-in actor.
 *
 * What a cell asserts (authorization, not the operation's own rules):
 *   allow  — the caller gets past every authorization check: a 2xx, or one of the operation's `refusals`
 *            (the domain's answer to the fixture, e.g. EDGE_NEVER_CONNECTED for a serial no box announced).
 *            Nothing else counts: not 400 VALIDATION_FAILED (the matrix's body would be wrong), not 401, 403 or
 *            any other 404.
 *   deny   — refused for who the caller is: 401 UNAUTHENTICATED for an actor without a live session, otherwise
 *            403 with the operation's `denied` code (a missing permission, Installer Admin only, vendor only,
 *            customer only), or the actor's own in `deniedAs` (a customer who is not the recipient or reviewer, an
 *            installer who is not the invitee).
 *   hidden — tenancy or site scope: 404 with the operation's `hidden` code, exactly as for an id that does not
 *            exist, so another company's objects are not even confirmed to exist.
 */

export const Outcome = { allow: 'allow', deny: 'deny', hidden: 'hidden' } as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** The codes of a 403 that refuses the caller for who it is. */
export const DENIAL_CODES = [
  ErrorCode.permissionDenied,
  CompanyErrorCode.installerAdminOnly,
  CompanyErrorCode.vendorOnly,
  ErrorCode.accountDisabled,
  SiteStatusErrorCode.customerOnly,
  // Sharing answers with the same code.
  HandoverErrorCode.notRecipient,
  GrantErrorCode.notReviewer,
  GrantErrorCode.notInvitee,
] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

/**
 * The actors. `session: false` ones hold no live session: they are refused every operation with 401 unless an
 * operation names them (a public one would). `holds`: the permissions the server must resolve for the actor
 * (GET /me), so that no cell passes because an actor was made wrong.
 */
export const ACTORS = [
  { id: 'anonymous', session: false, about: 'no session at all' },
  { id: 'disabledEmployee', session: false, about: "A's employee, signed in, then disabled by the Installer Admin: its session ends at once" },
  { id: 'installerAdmin', session: true, about: "company A's Installer Admin", holds: ALL_PERMISSIONS },
  {
    id: 'installerAll',
    session: true,
    about: "A's employee: Manage All Sites, device management and configuration, live view, playback; account limit removed",
    holds: [Permission.siteManageAll, Permission.deviceManage, Permission.deviceConfigure, Permission.liveView, Permission.playback],
  },
  {
    id: 'installerAssigned',
    session: true,
    about: "A's employee: Manage Assigned Sites and device management; account limit removed",
    holds: [Permission.siteManageAssigned, Permission.deviceManage],
  },
  {
    id: 'limitedEmployee',
    session: true,
    about: "A's employee whose role has Manage All Sites, device and account management, account limit kept: account management only",
    holds: [Permission.accountsManage],
  },
  { id: 'otherAdmin', session: true, about: "company B's Installer Admin", holds: ALL_PERMISSIONS },
  { id: 'vendorAdmin', session: true, about: "the platform operator's vendor admin", holds: [] },
  {
    id: 'siteManager',
    session: true,
    about: "A's employee: Manage Assigned Sites, device management, live view, playback; made a Lifetime site manager of siteA by the Installer Admin",
    holds: [Permission.siteManageAssigned, Permission.deviceManage, Permission.liveView, Permission.playback],
  },
  { id: 'customer', session: true, about: 'a registered customer: owner of siteHandedOver (accepted transfer), recipient of siteShared (accepted sharing)', holds: [] },
  { id: 'otherCustomer', session: true, about: 'another registered customer, who owns and shares nothing of A', holds: [] },
  {
    id: 'ispPartner',
    session: true,
    about: "company C's employee (Manage All Sites, device management): ISP on siteIsp, and on siteHandedOver until its handover",
    holds: [Permission.siteManageAll, Permission.deviceManage],
  },
  { id: 'mspPartner', session: true, about: "company C2's Installer Admin: MSP on siteHandedOver after its transfer", holds: ALL_PERMISSIONS },
  { id: 'arcAdmin', session: true, about: 'the Installer Admin of an alarm receiving center on the ARC list, owning no site of A', holds: ALL_PERMISSIONS },
] as const satisfies readonly { id: string; session: boolean; about: string; holds?: readonly Permission[] }[];

export type ActorId = (typeof ACTORS)[number]['id'];
export type SignedInActorId = Extract<(typeof ACTORS)[number], { session: true }>['id'];
export type SignedOutActorId = Exclude<ActorId, SignedInActorId>;

/** The objects operations point at, made once per run (see matrix.test.ts). */
export interface Fixture {
  companyA: string;
  companyB: string;
  /** A's site, made by A's Installer Admin (so not one an employee with Manage Assigned Sites made). */
  siteA: string;
  siteB: string;
  /** A's site made by the employee with Manage Assigned Sites. */
  siteAssigned: string;
  /** An employee of A that no actor signs in as. */
  employeeA: string;
  roleA: string;
  /** A notification of A's Installer Admin (about a request to join A). */
  notificationA: string;
  /** A site of A made for this one cell, for operations with `fresh: 'siteOfA'` (empty otherwise). */
  fresh: string;
  /** The calling actor's own account (a random id for an actor without a session). */
  caller: string;
  /** A's Installer Admin's email (the invitee of the customer's device invitations). */
  adminEmailA: string;
  /** NotHandedOver; the ISP partner active on it; `employeeA` one of its site managers (and of siteA's). */
  siteIsp: string;
  /** Transferred to `customer` (AuthorizedAndMonitoring: ManageSiteInformation was asked); the MSP active, the ISP gone. */
  siteHandedOver: string;
  deviceHandedOver: string;
  /** The transfer `customer` accepted, and the token of its link. */
  handoverAccepted: string;
  handoverToken: string;
  /** A's ManageSiteInformation grant on siteHandedOver (site-wide: it cannot be released). */
  grantSiteInformation: string;
  /** A's pending applications (LiveView, Playback) on deviceHandedOver, for the owner to approve and deny. */
  applicationToApprove: string;
  applicationToDeny: string;
  /** Device invitations of `customer` to A's Installer Admin, one declined already and one pending. */
  invitationDeclined: string;
  invitationPending: string;
  /** A device move out of siteHandedOver the owner rejected. */
  moveRejected: string;
  /** Shared in Mode B with `customer` (accepted) and with an address whose sharing was cancelled. */
  siteShared: string;
  deviceShared: string;
  recipientCustomer: string;
  recipientCancelled: string;
}

export interface Operation {
  /** "domain: what", unique. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** Made anew for each cell: for operations that destroy what they act on. */
  fresh?: 'siteOfA';
  /** The 403 code of a `deny` cell of a signed-in actor. */
  denied?: DenialCode;
  /** Actors refused with another 403 code than `denied`. */
  deniedAs?: Partial<Record<SignedInActorId, DenialCode>>;
  /** The 404 code of a `hidden` cell. */
  hidden?: string;
  /** Answers of the operation itself that an allowed caller may get with this fixture. */
  refusals?: readonly string[];
  expect: Record<SignedInActorId, Outcome> & Partial<Record<SignedOutActorId, Outcome>>;
}

/** A cell's outcome: as the operation says, and for an actor without a session that it does not name, deny. */
export const expectedOf = (op: Operation, actor: ActorId): Outcome => op.expect[actor] ?? Outcome.deny;
/** The 403 code a signed-in actor's `deny` cell expects. */
export const deniedCodeOf = (op: Operation, actor: ActorId): DenialCode | undefined => op.deniedAs?.[actor as SignedInActorId] ?? op.denied;

const uid = () => randomBytes(4).toString('hex');
const { allow, deny, hidden } = Outcome;

export type Row = Operation['expect'];

/**
 * Issue 8's actors on a route of the installer side they have no business on: customers hold no installer
 * permission; the partners and the ARC are other companies, to which A's objects do not exist.
 */
const OUTSIDERS = { customer: deny, otherCustomer: deny, ispPartner: hidden, mspPartner: hidden, arcAdmin: hidden } as const;

/**
 * A's site made by its Installer Admin: Manage All Sites reaches it, Manage Assigned Sites does not (it is not
 * theirs), B is not told it exists; the vendor admin holds no site permission.
 */
export const SITE_OF_A = {
  installerAdmin: allow,
  installerAll: allow,
  installerAssigned: hidden,
  limitedEmployee: deny,
  otherAdmin: hidden,
  vendorAdmin: deny,
  siteManager: allow,
  ...OUTSIDERS,
} as const satisfies Row;
/** The caller's own company's sites: each installer with a site permission works on its own list. */
export const OWN_SITES = {
  installerAdmin: allow,
  installerAll: allow,
  installerAssigned: allow,
  limitedEmployee: deny,
  otherAdmin: allow,
  vendorAdmin: deny,
  siteManager: allow,
  customer: deny,
  otherCustomer: deny,
  ispPartner: allow,
  mspPartner: allow,
  arcAdmin: allow,
} as const satisfies Row;
/** Account management (`accounts.manage`) over the caller's own company. */
const ACCOUNTS_MANAGE = {
  installerAdmin: allow,
  installerAll: deny,
  installerAssigned: deny,
  limitedEmployee: allow,
  otherAdmin: allow,
  vendorAdmin: deny,
  siteManager: deny,
  customer: deny,
  otherCustomer: deny,
  ispPartner: deny,
  mspPartner: allow,
  arcAdmin: allow,
} as const satisfies Row;
/** Installer Admin only, of the caller's own company. */
export const INSTALLER_ADMIN = {
  installerAdmin: allow,
  installerAll: deny,
  installerAssigned: deny,
  limitedEmployee: deny,
  otherAdmin: allow,
  vendorAdmin: deny,
  siteManager: deny,
  customer: deny,
  otherCustomer: deny,
  ispPartner: deny,
  mspPartner: allow,
  arcAdmin: allow,
} as const satisfies Row;
/** Anyone signed in, about their own company or themselves (a customer too: these need only a session). */
export const ANY_SIGNED_IN = {
  installerAdmin: allow,
  installerAll: allow,
  installerAssigned: allow,
  limitedEmployee: allow,
  otherAdmin: allow,
  vendorAdmin: allow,
  siteManager: allow,
  customer: allow,
  otherCustomer: allow,
  ispPartner: allow,
  mspPartner: allow,
  arcAdmin: allow,
} as const satisfies Row;
/** Every signed-in actor gets the same outcome. */
const everyone = <O extends Outcome>(outcome: O) => Object.fromEntries(Object.keys(ANY_SIGNED_IN).map((k) => [k, outcome])) as Record<SignedInActorId, O>;
/** Everyone signed in is refused, with the operation's one code. */
export const NOBODY = everyone(deny);
/** The platform operator's routes. */
export const VENDOR = { ...NOBODY, vendorAdmin: allow } as const satisfies Row;

const siteBody = () => ({ name: `Matrix site ${uid()}`, type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 });

export const OPERATIONS: readonly Operation[] = [
  // ---- sites, devices, edge boxes ----
  { name: 'sites: list', method: 'GET', path: () => '/sites', denied: ErrorCode.permissionDenied, expect: OWN_SITES },
  { name: 'sites: create', method: 'POST', path: () => '/sites', body: siteBody, denied: ErrorCode.permissionDenied, expect: OWN_SITES },
  {
    name: "sites: get A's site",
    method: 'GET',
    path: (f) => `/sites/${f.siteA}`,
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: SITE_OF_A,
  },
  {
    name: "sites: get B's site",
    method: 'GET',
    path: (f) => `/sites/${f.siteB}`,
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: { ...SITE_OF_A, installerAdmin: hidden, installerAll: hidden, siteManager: hidden, otherAdmin: allow },
  },
  {
    name: 'sites: get the site the Manage-Assigned employee made',
    method: 'GET',
    path: (f) => `/sites/${f.siteAssigned}`,
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: { ...SITE_OF_A, installerAssigned: allow, siteManager: hidden },
  },
  {
    name: "sites: edit A's site",
    method: 'PATCH',
    path: (f) => `/sites/${f.siteA}`,
    body: () => ({ address: `${uid()} Matrix Street` }),
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: SITE_OF_A,
  },
  {
    name: 'sites: delete a site of A',
    method: 'DELETE',
    path: (f) => `/sites/${f.fresh}`,
    fresh: 'siteOfA',
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    // A site made now is not the site manager's.
    expect: { ...SITE_OF_A, siteManager: hidden },
  },
  {
    name: "devices: list A's site's devices",
    method: 'GET',
    path: (f) => `/sites/${f.siteA}/devices`,
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: SITE_OF_A,
  },
  {
    name: "edges: add a box to A's site",
    method: 'POST',
    path: (f) => `/sites/${f.siteA}/edges`,
    body: () => ({ serial: `MATRIX-${uid()}`, verificationCode: 'ABCDEF' }),
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    refusals: [ErrorCode.edgeNeverConnected],
    // Device management is needed besides seeing the site: every site-managing actor here holds it.
    expect: SITE_OF_A,
  },
  // ---- operation log (without account management: the caller's own lines only) ----
  { name: 'operation log: list', method: 'GET', path: () => '/operation-logs', expect: ANY_SIGNED_IN },
  // ---- cloud storage ----
  { name: 'cloud storage: list packages', method: 'GET', path: () => '/cloud-storage/packages', expect: ANY_SIGNED_IN },
  {
    name: 'cloud storage: order a package',
    method: 'POST',
    path: () => '/cloud-storage/packages',
    body: () => ({ retentionDays: 7, term: 'monthly', mode: 'event', channels: 1 }),
    denied: ErrorCode.permissionDenied,
    expect: ACCOUNTS_MANAGE,
  },
  // ---- the company ----
  { name: 'company: get profile', method: 'GET', path: () => '/company', expect: ANY_SIGNED_IN },
  {
    name: 'company: edit profile',
    method: 'PATCH',
    path: () => '/company',
    body: () => ({ address: `${uid()} Matrix Road` }),
    denied: CompanyErrorCode.installerAdminOnly,
    expect: INSTALLER_ADMIN,
  },
  {
    name: 'company: submit authentication',
    method: 'PUT',
    path: () => '/company/authentication',
    body: () => ({ fields: { legalName: 'Matrix Ltd' } }),
    denied: CompanyErrorCode.installerAdminOnly,
    // Both companies are authenticated already: an Installer Admin is told so, not refused.
    refusals: [CompanyErrorCode.authenticationState],
    expect: INSTALLER_ADMIN,
  },
  { name: 'notifications: list', method: 'GET', path: () => '/notifications', expect: ANY_SIGNED_IN },
  {
    name: "notifications: mark A's Installer Admin's read",
    method: 'POST',
    path: (f) => `/notifications/${f.notificationA}/read`,
    hidden: CompanyErrorCode.notificationNotFound,
    // Each account reads only its own, even within the company.
    expect: { ...everyone(hidden), installerAdmin: allow },
  },
  // ---- employees and roles ----
  {
    name: 'companies: find similar names (public)',
    method: 'GET',
    path: () => '/companies/similar?name=Matrix',
    // Self-registration's search: a session, live or ended, changes nothing.
    expect: { ...ANY_SIGNED_IN, anonymous: allow, disabledEmployee: allow },
  },
  { name: 'employees: list', method: 'GET', path: () => '/employees', denied: ErrorCode.permissionDenied, expect: ACCOUNTS_MANAGE },
  {
    name: 'employees: invite',
    method: 'POST',
    path: () => '/employees/invitations',
    body: () => ({ email: `matrix.${uid()}@example.test` }),
    denied: ErrorCode.permissionDenied,
    expect: ACCOUNTS_MANAGE,
  },
  {
    name: "employees: edit A's employee",
    method: 'PATCH',
    path: (f) => `/employees/${f.employeeA}`,
    body: () => ({ name: `Employee ${uid()}` }),
    denied: ErrorCode.permissionDenied,
    hidden: EmployeeErrorCode.employeeNotFound,
    expect: { ...ACCOUNTS_MANAGE, otherAdmin: hidden, mspPartner: hidden, arcAdmin: hidden },
  },
  // Anyone of the company reads its roles; the vendor's company has none, and reading them reveals nothing.
  { name: 'roles: list', method: 'GET', path: () => '/roles', expect: ANY_SIGNED_IN },
  {
    name: 'roles: create',
    method: 'POST',
    path: () => '/roles',
    body: () => ({ name: `Matrix role ${uid()}`, permissions: [] }),
    denied: ErrorCode.permissionDenied,
    expect: ACCOUNTS_MANAGE,
  },
  {
    name: "roles: edit A's role",
    method: 'PATCH',
    path: (f) => `/roles/${f.roleA}`,
    body: () => ({ name: `Matrix role ${uid()}` }),
    denied: ErrorCode.permissionDenied,
    hidden: EmployeeErrorCode.roleNotFound,
    expect: { ...ACCOUNTS_MANAGE, otherAdmin: hidden, mspPartner: hidden, arcAdmin: hidden },
  },
  { name: 'employees: add-on slots', method: 'GET', path: () => '/company/employee-addon', denied: ErrorCode.permissionDenied, expect: ACCOUNTS_MANAGE },
  // ---- sign-in with the company's identity provider ----
  {
    name: 'sso: get configuration',
    method: 'GET',
    path: () => '/company/sso',
    denied: CompanyErrorCode.installerAdminOnly,
    refusals: [SsoErrorCode.notConfigured],
    expect: INSTALLER_ADMIN,
  },
  {
    name: 'sso: upload metadata',
    method: 'PUT',
    path: () => '/company/sso/metadata',
    // Not metadata at all: an allowed caller is told so and nothing is bound.
    body: () => ({ metadataXml: '<matrix/>' }),
    denied: CompanyErrorCode.installerAdminOnly,
    refusals: [SsoErrorCode.metadataInvalid],
    expect: INSTALLER_ADMIN,
  },
  // ---- other companies ----
  {
    name: 'mergers: invite a company',
    method: 'POST',
    path: () => '/company/mergers',
    // Nobody's email: an allowed caller gets NOT_ELIGIBLE_ACCOUNT and no merger starts.
    body: () => ({ invitedAdminEmail: `nobody.${uid()}@example.test` }),
    denied: CompanyErrorCode.installerAdminOnly,
    refusals: [...Object.values(MergerFailure), PartnerErrorCode.mergerState],
    expect: INSTALLER_ADMIN,
  },
  {
    name: "collaboration: invite a partner to A's site",
    method: 'POST',
    path: (f) => `/sites/${f.siteA}/collaborations`,
    body: () => ({ type: 'isp', partnerEmail: `nobody.${uid()}@example.test` }),
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    refusals: Object.values(CollaborationRefusal),
    expect: SITE_OF_A,
  },
  {
    name: "collaboration: list A's site's collaborations",
    method: 'GET',
    path: (f) => `/sites/${f.siteA}/collaborations`,
    denied: ErrorCode.permissionDenied,
    hidden: ErrorCode.siteNotFound,
    expect: SITE_OF_A,
  },
  { name: 'mergers: list', method: 'GET', path: () => '/company/mergers', denied: CompanyErrorCode.installerAdminOnly, expect: INSTALLER_ADMIN },
  // ---- the platform operator ----
  { name: 'vendor: list authentications', method: 'GET', path: () => '/vendor/authentications', denied: CompanyErrorCode.vendorOnly, expect: VENDOR },
  {
    name: "vendor: approve A's authentication",
    method: 'POST',
    path: (f) => `/vendor/authentications/${f.companyA}/approve`,
    denied: CompanyErrorCode.vendorOnly,
    // A was authenticated without an application: there is nothing waiting for review.
    refusals: [CompanyErrorCode.companyNotFound, CompanyErrorCode.authenticationState],
    expect: VENDOR,
  },
  { name: 'vendor: list regions', method: 'GET', path: () => '/vendor/regions', denied: CompanyErrorCode.vendorOnly, expect: VENDOR },
  {
    name: "vendor: edit a region's features",
    method: 'PUT',
    // A country neither company is in, switched to what it has anyway.
    path: () => '/vendor/regions/FR',
    body: () => ({ features: { cloud_storage: true } }),
    denied: CompanyErrorCode.vendorOnly,
    expect: VENDOR,
  },
  {
    name: 'vendor: merge B into A',
    method: 'POST',
    path: () => '/vendor/mergers',
    body: (f) => ({ initiatorCompanyId: f.companyA, invitedCompanyId: f.companyB }),
    denied: CompanyErrorCode.vendorOnly,
    // B is authenticated (a channel partner): the merger is refused, or waits for answers nobody gives.
    refusals: [...Object.values(MergerFailure), PartnerErrorCode.mergerState],
    expect: VENDOR,
  },
];
