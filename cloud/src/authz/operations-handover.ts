import { randomBytes } from 'node:crypto';
import {
  CoBrandingErrorCode,
  CollaborationRefusal,
  ErrorCode,
  GrantErrorCode,
  HandoverErrorCode,
  CompanyErrorCode,
  SharingErrorCode,
  SiteAdminErrorCode,
  SiteStatusErrorCode,
} from '@vigil/protocol/api';
import { ANY_SIGNED_IN, INSTALLER_ADMIN, NOBODY, Outcome, OWN_SITES, SITE_OF_A, VENDOR, type Operation, type Row } from './matrix.js';

/**
 * Issue 8's operations (handover, sharing, grants, site managers and groups, device moves, co-branding, service
 * keys, and the customer's side) on the sites of the scene (actors.ts `buildScene`). Each allowed call is refused
 * by the domain for the fixture (a status, a state, a malformed address) or changes nothing the next actor needs.
 */

const { allow, deny, hidden } = Outcome;
const uid = () => randomBytes(4).toString('hex');

/** siteIsp (NotHandedOver): A's Manage All Sites holders and its active ISP partner; nobody else of A is assigned to it. */
const SITE_ISP = { ...SITE_OF_A, siteManager: hidden, ispPartner: allow } as const satisfies Row;
/**
 * Handover's own scope: a site of the caller's company that is not assigned to it is refused (403), not hidden
 * (spec §12 scenario 2: "without the site assigned … → 403").
 */
const HANDOVER_ISP = { ...SITE_ISP, installerAssigned: deny, siteManager: deny } as const satisfies Row;
/** siteHandedOver (AuthorizedAndMonitoring): A's Manage All Sites holders and the MSP; the ISP lost it at the handover. */
const SITE_HANDED_OVER = { ...SITE_OF_A, siteManager: hidden, mspPartner: allow } as const satisfies Row;
/** siteShared: A's Manage All Sites holders; no partner (sharing ends collaborations). */
const SITE_SHARED = { ...SITE_OF_A, siteManager: hidden } as const satisfies Row;
/** Only what the site's own company may do: a partner who sees the site is refused. */
const ISP_REFUSED = { ...SITE_ISP, ispPartner: deny } as const satisfies Row;
const MSP_REFUSED = { ...SITE_HANDED_OVER, mspPartner: deny } as const satisfies Row;
/**
 * Manage All Sites only (assigning managers); the other companies find no such site of theirs. The partner is no
 * exception (spec §10: ISP/MSP ✗).
 */
const MANAGE_ALL = {
  ...OWN_SITES,
  installerAssigned: deny,
  siteManager: deny,
  otherAdmin: hidden,
  ispPartner: hidden,
  mspPartner: hidden,
  arcAdmin: hidden,
} as const satisfies Row;
/** The customer side: customer accounts only. */
const CUSTOMERS = { ...NOBODY, customer: allow, otherCustomer: allow } as const satisfies Row;
/** The customer who owns siteHandedOver (or holds siteShared); another customer is not told it exists. */
const OWNER = { ...NOBODY, customer: allow, otherCustomer: hidden } as const satisfies Row;
/** The customer's offer: another customer is refused as not its recipient. */
const RECIPIENT = { ...NOBODY, customer: allow } as const satisfies Row;
/** An installer answering a device invitation: its invitee (A's Installer Admin) alone; limited accounts hold no site permission. */
const INVITEE = { ...NOBODY, installerAdmin: allow } as const satisfies Row;
const NOT_INVITEE = {
  installerAll: GrantErrorCode.notInvitee,
  installerAssigned: GrantErrorCode.notInvitee,
  otherAdmin: GrantErrorCode.notInvitee,
  siteManager: GrantErrorCode.notInvitee,
  ispPartner: GrantErrorCode.notInvitee,
  mspPartner: GrantErrorCode.notInvitee,
  arcAdmin: GrantErrorCode.notInvitee,
} as const;

const site = { denied: ErrorCode.permissionDenied, hidden: ErrorCode.siteNotFound } as const;
const customerOnly = { denied: SiteStatusErrorCode.customerOnly } as const;
const adminOnly = { denied: CompanyErrorCode.installerAdminOnly, expect: INSTALLER_ADMIN } as const;

export const HANDOVER_OPERATIONS: readonly Operation[] = [
  // ---- handover by transfer (installer side) ----
  {
    name: "handover: transfer the ISP's site",
    method: 'POST',
    path: (f) => `/sites/${f.siteIsp}/handover`,
    // Not an address: an allowed caller is told so and the site stays NotHandedOver.
    body: () => ({ channel: 'email', recipient: 'not an address', permissions: [] }),
    ...site,
    refusals: [HandoverErrorCode.invalidRecipient],
    expect: HANDOVER_ISP,
  },
  {
    name: "handover: resend the ISP's site's",
    method: 'POST',
    path: (f) => `/sites/${f.siteIsp}/handover/resend`,
    body: () => ({}),
    ...site,
    refusals: [SiteStatusErrorCode.statusForbids],
    expect: HANDOVER_ISP,
  },
  {
    name: "handover: cancel the ISP's site's",
    method: 'DELETE',
    path: (f) => `/sites/${f.siteIsp}/handover`,
    ...site,
    refusals: [HandoverErrorCode.notPending],
    expect: HANDOVER_ISP,
  },
  {
    name: "handover: transfer A's site (the site manager's)",
    method: 'POST',
    path: (f) => `/sites/${f.siteA}/handover`,
    body: () => ({ channel: 'email', recipient: 'not an address', permissions: [] }),
    ...site,
    refusals: [HandoverErrorCode.invalidRecipient],
    expect: { ...SITE_OF_A, installerAssigned: deny },
  },
  { name: "handover: get the ISP's site's", method: 'GET', path: (f) => `/sites/${f.siteIsp}/handover`, ...site, expect: HANDOVER_ISP },
  {
    name: "handover: get the handed-over site's",
    method: 'GET',
    path: (f) => `/sites/${f.siteHandedOver}/handover`,
    ...site,
    // The ISP lost the site at the handover; the MSP works on it after.
    expect: { ...SITE_HANDED_OVER, installerAssigned: deny, siteManager: deny },
  },
  {
    name: 'handover: read an offer by its link (public)',
    method: 'GET',
    path: (f) => `/handovers/${f.handoverToken}`,
    // The link is the credential: a session, live or ended, changes nothing.
    expect: { ...ANY_SIGNED_IN, anonymous: allow, disabledEmployee: allow },
  },
  // ---- handover by sharing (installer side) ----
  {
    name: "sharing: share the ISP's site",
    method: 'POST',
    path: (f) => `/sites/${f.siteIsp}/sharing`,
    // A device of another site: refused, nothing shared.
    body: (f) => ({
      mode: 'B',
      recipients: [{ channel: 'email', recipient: `matrix.${uid()}@example.test` }],
      devices: [{ deviceId: f.deviceShared, permissions: ['LiveView'], validity: 'Permanent' }],
    }),
    ...site,
    refusals: [SharingErrorCode.deviceNotOnSite],
    expect: SITE_ISP,
  },
  { name: "sharing: get the shared site's", method: 'GET', path: (f) => `/sites/${f.siteShared}/sharing`, ...site, expect: SITE_SHARED },
  {
    name: 'sharing: add recipients',
    method: 'POST',
    path: (f) => `/sites/${f.siteShared}/sharing/recipients`,
    body: () => ({ recipients: [{ channel: 'email', recipient: 'not an address' }], devices: [] }),
    ...site,
    refusals: [SharingErrorCode.invalidRecipient],
    expect: SITE_SHARED,
  },
  {
    name: "sharing: share again to the customer (accepted: refused)",
    method: 'POST',
    path: (f) => `/sites/${f.siteShared}/sharing/recipients/${f.recipientCustomer}/reshare`,
    ...site,
    refusals: [SharingErrorCode.recipientState],
    expect: SITE_SHARED,
  },
  {
    name: 'sharing: cancel a cancelled recipient',
    method: 'POST',
    path: (f) => `/sites/${f.siteShared}/sharing/recipients/${f.recipientCancelled}/cancel`,
    ...site,
    refusals: [SharingErrorCode.recipientState],
    expect: SITE_SHARED,
  },
  {
    name: "sharing: the customer card's devices",
    method: 'PUT',
    path: (f) => `/sites/${f.siteShared}/sharing/recipients/${f.recipientCustomer}/devices`,
    // The devices it has already.
    body: (f) => ({ devices: [{ deviceId: f.deviceShared, permissions: ['LiveView'], validity: 'Permanent' }] }),
    ...site,
    expect: SITE_SHARED,
  },
  // ---- grants after handover (installer side) ----
  {
    name: 'grants: apply for site authorization',
    method: 'POST',
    path: (f) => `/sites/${f.siteHandedOver}/authorization`,
    body: () => ({}),
    ...site,
    // AuthorizedAndMonitoring already. The site's own company's authorization: not the MSP's to ask.
    refusals: [SiteStatusErrorCode.statusForbids],
    expect: MSP_REFUSED,
  },
  {
    name: 'grants: apply for device permissions',
    method: 'POST',
    path: (f) => `/sites/${f.siteHandedOver}/permission-applications`,
    // A validity the manual does not offer: refused, nothing pending. An MSP applies for its own company.
    body: (f) => ({ items: [{ deviceId: f.deviceHandedOver, permissions: ['Configuration'], validity: '3h' }] }),
    ...site,
    refusals: [GrantErrorCode.invalidValidity],
    expect: SITE_HANDED_OVER,
  },
  { name: 'grants: list permissions', method: 'GET', path: (f) => `/sites/${f.siteHandedOver}/permissions`, ...site, expect: SITE_HANDED_OVER },
  {
    name: 'grants: release a permission',
    method: 'POST',
    path: (f) => `/sites/${f.siteHandedOver}/permissions/${f.grantSiteInformation}/release`,
    ...site,
    // A's site-wide grant cannot be released; the MSP's company holds no such grant.
    refusals: [GrantErrorCode.grantState, GrantErrorCode.grantNotFound],
    expect: SITE_HANDED_OVER,
  },
  // ---- site managers ----
  {
    name: "site managers: assign oneself to the ISP's site",
    method: 'POST',
    path: () => '/site-managers',
    body: (f) => ({ siteIds: [f.siteIsp], managers: [{ accountId: f.caller, expiresAt: null }] }),
    ...site,
    expect: MANAGE_ALL,
  },
  {
    name: "site managers: remove one from the ISP's site",
    method: 'DELETE',
    path: (f) => `/sites/${f.siteIsp}/managers/${f.employeeA}`,
    ...site,
    // Removed by the first allowed caller.
    refusals: [SiteAdminErrorCode.siteManagerNotFound],
    expect: ISP_REFUSED,
  },
  {
    name: "site managers: remove another from A's site",
    method: 'DELETE',
    path: (f) => `/sites/${f.siteA}/managers/${f.employeeA}`,
    ...site,
    refusals: [SiteAdminErrorCode.siteManagerNotFound],
    // Without Manage All Sites a manager removes only itself (spec §10).
    expect: { ...SITE_OF_A, siteManager: deny },
  },
  { name: "site managers: list A's site's", method: 'GET', path: (f) => `/sites/${f.siteA}/managers`, ...site, expect: SITE_OF_A },
  // Reading who manages the site is seeing the site, which the partner does; changing it is not its to do.
  { name: "site managers: list the ISP's site's", method: 'GET', path: (f) => `/sites/${f.siteIsp}/managers`, ...site, expect: SITE_ISP },
  // ---- the site's own partners ----
  {
    name: "collaboration: invite a partner to the ISP's site",
    method: 'POST',
    path: (f) => `/sites/${f.siteIsp}/collaborations`,
    body: () => ({ type: 'isp', partnerEmail: `nobody.${uid()}@example.test` }),
    ...site,
    refusals: Object.values(CollaborationRefusal),
    expect: ISP_REFUSED,
  },
  {
    name: "collaboration: list the handed-over site's collaborations",
    method: 'GET',
    path: (f) => `/sites/${f.siteHandedOver}/collaborations`,
    ...site,
    expect: MSP_REFUSED,
  },
  // ---- site groups ----
  {
    name: 'site groups: create',
    method: 'POST',
    path: () => '/site-groups',
    body: () => ({ name: `Matrix group ${uid()}` }),
    denied: ErrorCode.permissionDenied,
    expect: OWN_SITES,
  },
  { name: 'site groups: list', method: 'GET', path: () => '/site-groups', denied: ErrorCode.permissionDenied, expect: OWN_SITES },
  {
    name: "site groups: move A's site to no group",
    method: 'PUT',
    path: (f) => `/sites/${f.siteA}/group`,
    body: () => ({ groupId: null }),
    ...site,
    expect: SITE_OF_A,
  },
  {
    name: "site groups: move the ISP's site to no group",
    method: 'PUT',
    path: (f) => `/sites/${f.siteIsp}/group`,
    body: () => ({ groupId: null }),
    ...site,
    expect: ISP_REFUSED,
  },
  {
    name: 'site groups: move the handed-over site to no group',
    method: 'PUT',
    path: (f) => `/sites/${f.siteHandedOver}/group`,
    body: () => ({ groupId: null }),
    ...site,
    expect: MSP_REFUSED,
  },
  // ---- device moves ----
  {
    name: 'device moves: move a handed-over device',
    method: 'POST',
    path: (f) => `/sites/${f.siteHandedOver}/device-moves`,
    // To the site it is on: refused, nothing pending.
    body: (f) => ({ deviceIds: [f.deviceHandedOver], target: { siteId: f.siteHandedOver } }),
    ...site,
    refusals: [SiteAdminErrorCode.sameSite],
    expect: MSP_REFUSED,
  },
  { name: "device moves: list the handed-over site's", method: 'GET', path: (f) => `/sites/${f.siteHandedOver}/device-moves`, ...site, expect: SITE_HANDED_OVER },
  // ---- co-branding (the caller's own company) ----
  { name: 'co-branding: get', method: 'GET', path: () => '/company/co-branding', ...adminOnly },
  { name: 'co-branding: switch off', method: 'PUT', path: () => '/company/co-branding', body: () => ({ enabled: false }), ...adminOnly },
  {
    name: 'co-branding: upload a logo',
    method: 'PUT',
    path: () => '/company/co-branding/logo',
    body: () => ({ contentType: 'image/png', data: 'AAAA' }),
    ...adminOnly,
    refusals: [CoBrandingErrorCode.logoNotImage],
  },
  {
    name: 'co-branding: order',
    method: 'POST',
    path: () => '/company/co-branding/orders',
    body: () => ({ months: 12, vatNumber: 'GB123456789', paymentMethod: 'card' }),
    ...adminOnly,
  },
  {
    name: 'co-branding: redeem service keys',
    method: 'POST',
    path: () => '/company/co-branding/service-keys',
    body: () => ({ keys: '0000-0000-0000-0000' }),
    ...adminOnly,
    refusals: [CoBrandingErrorCode.serviceKeyUnknown],
  },
  {
    name: 'co-branding: the free year',
    method: 'POST',
    path: () => '/company/co-branding/free-year',
    ...adminOnly,
    // Past the role check, the company's own terms decide.
    refusals: [CompanyErrorCode.companyNotAuthenticated, CoBrandingErrorCode.notEnoughP2pDevices, CoBrandingErrorCode.freeYearClaimed],
  },
  // ---- service keys (the platform operator) ----
  {
    name: 'vendor: mint service keys',
    method: 'POST',
    path: () => '/vendor/service-keys',
    body: () => ({ serviceType: 'co_branding', months: 12, count: 1 }),
    denied: CompanyErrorCode.vendorOnly,
    expect: VENDOR,
  },
  { name: 'vendor: list service keys', method: 'GET', path: () => '/vendor/service-keys', denied: CompanyErrorCode.vendorOnly, expect: VENDOR },
  // ---- the customer's side ----
  { name: 'customer: list sites', method: 'GET', path: () => '/customer/sites', ...customerOnly, expect: CUSTOMERS },
  { name: 'customer: get the owned site', method: 'GET', path: (f) => `/customer/sites/${f.siteHandedOver}`, ...customerOnly, hidden: ErrorCode.siteNotFound, expect: OWNER },
  {
    name: "customer: the owned site's devices",
    method: 'GET',
    path: (f) => `/customer/sites/${f.siteHandedOver}/devices`,
    ...customerOnly,
    hidden: ErrorCode.siteNotFound,
    expect: OWNER,
  },
  {
    name: "customer: the owned site's access list",
    method: 'GET',
    path: (f) => `/customer/sites/${f.siteHandedOver}/access`,
    ...customerOnly,
    hidden: ErrorCode.siteNotFound,
    expect: OWNER,
  },
  {
    name: "customer: the owned site's branding",
    method: 'GET',
    path: (f) => `/customer/sites/${f.siteHandedOver}/branding`,
    ...customerOnly,
    hidden: ErrorCode.siteNotFound,
    expect: OWNER,
  },
  {
    name: "customer: the shared site's devices",
    method: 'GET',
    path: (f) => `/customer/sites/${f.siteShared}/devices`,
    ...customerOnly,
    hidden: ErrorCode.siteNotFound,
    expect: OWNER,
  },
  {
    name: "customer: the shared site's access list (a tenant: refused)",
    method: 'GET',
    path: (f) => `/customer/sites/${f.siteShared}/access`,
    ...customerOnly,
    // Shared in Mode B: no Customer Administrator reviews anything; a tenant does not see the company's grants.
    deniedAs: { customer: GrantErrorCode.notReviewer },
    hidden: ErrorCode.siteNotFound,
    expect: { ...OWNER, customer: deny },
  },
  { name: 'customer: pending applications', method: 'GET', path: () => '/customer/permission-applications', ...customerOnly, expect: CUSTOMERS },
  {
    name: 'customer: approve an application',
    method: 'POST',
    path: (f) => `/customer/permission-applications/${f.applicationToApprove}/approve`,
    ...customerOnly,
    hidden: GrantErrorCode.grantNotFound,
    expect: OWNER,
  },
  {
    name: 'customer: deny an application',
    method: 'POST',
    path: (f) => `/customer/permission-applications/${f.applicationToDeny}/deny`,
    ...customerOnly,
    hidden: GrantErrorCode.grantNotFound,
    expect: OWNER,
  },
  { name: 'customer: handovers waiting', method: 'GET', path: () => '/customer/handovers', ...customerOnly, expect: CUSTOMERS },
  {
    name: 'customer: accept a handover (accepted: refused)',
    method: 'POST',
    path: (f) => `/customer/handovers/${f.handoverAccepted}/accept`,
    ...customerOnly,
    deniedAs: { otherCustomer: HandoverErrorCode.notRecipient },
    refusals: [HandoverErrorCode.notPending],
    expect: RECIPIENT,
  },
  {
    name: 'customer: reject a handover (accepted: refused)',
    method: 'POST',
    path: (f) => `/customer/handovers/${f.handoverAccepted}/reject`,
    ...customerOnly,
    deniedAs: { otherCustomer: HandoverErrorCode.notRecipient },
    refusals: [HandoverErrorCode.notPending],
    expect: RECIPIENT,
  },
  {
    name: 'customer: accept a sharing (accepted: refused)',
    method: 'POST',
    path: (f) => `/customer/sharings/${f.recipientCustomer}/accept`,
    ...customerOnly,
    deniedAs: { otherCustomer: SharingErrorCode.notRecipient },
    refusals: [SharingErrorCode.recipientState],
    expect: RECIPIENT,
  },
  {
    name: 'customer: reject a sharing (accepted: refused)',
    method: 'POST',
    path: (f) => `/customer/sharings/${f.recipientCustomer}/reject`,
    ...customerOnly,
    deniedAs: { otherCustomer: SharingErrorCode.notRecipient },
    refusals: [SharingErrorCode.recipientState],
    expect: RECIPIENT,
  },
  {
    name: 'customer: invite an installer to manage a device',
    method: 'POST',
    path: () => '/customer/device-invitations',
    body: (f) => ({ inviteeEmail: f.adminEmailA, deviceIds: [f.deviceHandedOver], siteName: 'Matrix invited', permissions: ['LiveView'] }),
    ...customerOnly,
    // Another customer's device is not found among its own.
    hidden: ErrorCode.deviceNotFound,
    expect: OWNER,
  },
  { name: 'customer: device invitations sent', method: 'GET', path: () => '/customer/device-invitations', ...customerOnly, expect: CUSTOMERS },
  {
    name: 'customer: approve a device move (rejected: refused)',
    method: 'POST',
    path: (f) => `/customer/device-moves/${f.moveRejected}/approve`,
    ...customerOnly,
    hidden: SiteAdminErrorCode.deviceMoveNotFound,
    refusals: [SiteAdminErrorCode.deviceMoveState],
    expect: OWNER,
  },
  // ---- device invitations (installer side) ----
  { name: 'device invitations: list', method: 'GET', path: () => '/device-invitations', denied: ErrorCode.permissionDenied, expect: OWN_SITES },
  {
    name: 'device invitations: accept (declined: refused)',
    method: 'POST',
    path: (f) => `/device-invitations/${f.invitationDeclined}/accept`,
    denied: ErrorCode.permissionDenied,
    deniedAs: NOT_INVITEE,
    refusals: [GrantErrorCode.invitationState],
    expect: INVITEE,
  },
  {
    name: 'device invitations: decline',
    method: 'POST',
    path: (f) => `/device-invitations/${f.invitationPending}/decline`,
    denied: ErrorCode.permissionDenied,
    deniedAs: NOT_INVITEE,
    refusals: [GrantErrorCode.invitationState],
    expect: INVITEE,
  },
];
