import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const ts = (name: string) => timestamp(name, { withTimezone: true });

export const companies = pgTable('companies', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** An installer company's type, or `vendor` for the one company holding the platform operator's accounts. */
  type: text('type').notNull(),
  countryCode: text('country_code').notNull(),
  address: text('address').notNull().default(''),
  /** unauthenticated → pending → approved | rejected (→ pending again). */
  authStatus: text('auth_status').notNull().default('unauthenticated'),
  /** Employee accounts whose limit may be removed without the add-on, and those bought. */
  freeEmployeeSlots: integer('free_employee_slots').notNull().default(2),
  purchasedEmployeeSlots: integer('purchased_employee_slots').notNull().default(0),
  rewardPoints: integer('reward_points').notNull().default(0),
  createdAt: createdAt(),
});

/** A company's custom roles: a name and a set of named permissions. */
export const roles = pgTable(
  'roles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    permissions: text('permissions').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('roles_company_name_key').on(t.companyId, sql`lower(${t.name})`)],
);

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** Null for accounts that sign in only through the company's identity provider. */
    passwordHash: text('password_hash'),
    /** installer_admin, installer, or vendor_admin. */
    role: text('role').notNull(),
    /** An employee's role; the Installer Admin holds every permission regardless. */
    roleId: uuid('role_id').references(() => roles.id, { onDelete: 'set null' }),
    enabled: boolean('enabled').notNull().default(true),
    /** Until "Remove Account Limit" takes an add-on slot, an employee manages no sites or devices. */
    limited: boolean('limited').notNull().default(true),
    /** How the account came: register, invite, join_request, scim, merger. */
    source: text('source').notNull().default('register'),
    /** Provisioned by the company's identity provider over SCIM. */
    synced: boolean('synced').notNull().default(false),
    /** The identity provider's id of the user (SCIM externalId), unique within the company. */
    externalId: text('external_id'),
    /** A customer's mobile number in E.164 (handovers by phone find the customer by it). */
    phone: text('phone'),
    lastLoginAt: ts('last_login_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('accounts_email_key').on(sql`lower(${t.email})`),
    index('accounts_company_idx').on(t.companyId),
    uniqueIndex('accounts_external_id_key').on(t.companyId, t.externalId),
    uniqueIndex('accounts_phone_key').on(t.phone),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    /** SHA-256 of the token; the token itself is only ever in the client's hands. */
    tokenHash: text('token_hash').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    userAgent: text('user_agent').notNull().default(''),
    ip: text('ip').notNull().default(''),
  },
  (t) => [index('sessions_account_idx').on(t.accountId)],
);

/** Failed attempts per key (a login email, an edge serial being claimed), for lockouts. */
export const throttles = pgTable('throttles', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull().default(0),
  windowStartedAt: ts('window_started_at').notNull().defaultNow(),
  lockedUntil: ts('locked_until'),
});

export const sites = pgTable(
  'sites',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: text('type').notNull(),
    status: text('status').notNull().default('NotHandedOver'),
    timeZone: text('time_zone').notNull(),
    syncTimeToDevices: boolean('sync_time_to_devices').notNull().default(false),
    address: text('address').notNull().default(''),
    city: text('city').notNull().default(''),
    stateProvince: text('state_province').notNull().default(''),
    customerRemark: text('customer_remark').notNull().default(''),
    offlineDelaySec: integer('offline_delay_sec').notNull(),
    createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
    /** The customer who accepted a transfer handover: the Site Owner. */
    ownerAccountId: uuid('owner_account_id').references(() => accounts.id, { onDelete: 'set null' }),
    /** A personal site's group (at most one). */
    groupId: uuid('group_id').references(() => siteGroups.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sites_company_name_key').on(t.companyId, sql`lower(${t.name})`), index('sites_owner_idx').on(t.ownerAccountId)],
);

/** An edge box added to a site (before that, only its announcements are known). */
export const edges = pgTable(
  'edges',
  {
    serial: text('serial').primaryKey(),
    companyId: uuid('company_id').references(() => companies.id, { onDelete: 'set null' }),
    siteId: uuid('site_id').references(() => sites.id, { onDelete: 'set null' }),
    name: text('name').notNull().default(''),
    /** The claim connection (nonce) whose verification code matched when the box was added. */
    claimNonce: text('claim_nonce'),
    /** The box's verification code (scrypt), so a claimed box may fetch its credentials again. */
    claimCodeHash: text('claim_code_hash'),
    secretHash: text('secret_hash'),
    /** Set when the box first logs in with its credentials; from then on claim logins are refused. */
    provisionedAt: ts('provisioned_at'),
    claimedAt: ts('claimed_at'),
    claimedBy: uuid('claimed_by').references(() => accounts.id, { onDelete: 'set null' }),
    status: text('status').notNull().default('offline'),
    statusChangedAt: ts('status_changed_at'),
    connected: boolean('connected').notNull().default(false),
    disconnectedAt: ts('disconnected_at'),
    lastSeenAt: ts('last_seen_at'),
    agentVersion: text('agent_version'),
    offlineDelaySec: integer('offline_delay_sec'),
    /** The time of the newest LAN snapshot applied, so an older one arriving late changes nothing. */
    lanSnapshotAt: ts('lan_snapshot_at'),
    createdAt: createdAt(),
  },
  (t) => [index('edges_site_idx').on(t.siteId)],
);

/** What an unclaimed box presented when it connected: the hash of its verification code. */
export const edgeAnnouncements = pgTable(
  'edge_announcements',
  {
    serial: text('serial').notNull(),
    nonce: text('nonce').notNull(),
    codeHash: text('code_hash').notNull(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.serial, t.nonce] })],
);

export const devices = pgTable(
  'devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    /** The edge box that reaches it; null when the device connects by itself (P2P) or is called by IP/domain. */
    edgeSerial: text('edge_serial').references(() => edges.serial, { onDelete: 'cascade' }),
    /** The device's id as the edge reports it; the short serial for devices without an edge box. */
    deviceKey: text('device_key').notNull(),
    kind: text('kind').notNull(),
    protocol: text('protocol').notNull(),
    manufacturer: text('manufacturer').notNull(),
    model: text('model').notNull(),
    serial: text('serial').notNull(),
    /** The 9-character serial of §3.1.4 (the device's identity on the P2P service); null when it has none. */
    shortSerial: text('short_serial'),
    firmware: text('firmware').notNull(),
    name: text('name').notNull(),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    /** IP/domain devices: the user and password the cloud logs in with, sealed by the vault. */
    credentialsSealed: text('credentials_sealed'),
    /** Table 3-5: 'p2p' (Hik-Connect P2P, everything that comes through the edge) or 'ip_domain'. */
    accessMode: text('access_mode').notNull().default('p2p'),
    /** Video channels the device brings to its site (counts against a personal site's limit). */
    channels: integer('channels').notNull().default(0),
    /** The device asked for its verification code to open its video (image and video encryption on). */
    videoEncrypted: boolean('video_encrypted').notNull().default(false),
    /** The box found PTZ on the device when it last opened its video. */
    videoPtz: boolean('video_ptz').notNull().default(false),
    /** What the edge last reported, with the time it saw it. */
    reportedOnline: boolean('reported_online').notNull(),
    reportedAt: ts('reported_at').notNull(),
    /** Declared presence, which lags a reported loss by the offline delay. */
    status: text('status').notNull(),
    statusChangedAt: ts('status_changed_at'),
    lastSeenAt: ts('last_seen_at'),
    offlineDelaySec: integer('offline_delay_sec'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('devices_edge_key').on(t.edgeSerial, t.deviceKey),
    index('devices_site_idx').on(t.siteId),
    index('devices_short_serial_idx').on(t.shortSerial),
  ],
);

/**
 * Devices connected to the platform by themselves (Hik-Connect service on), whether or not added to a site:
 * what they say they are and a hash of the verification code they connect with. Adding one by serial and
 * verification code checks the installer's code against that hash.
 */
export const p2pDevices = pgTable('p2p_devices', {
  shortSerial: text('short_serial').primaryKey(),
  /** Null for devices that have no verification code (AC router, AX HOME). */
  codeHash: text('code_hash'),
  /** The P2pInfo it published; null until it has. */
  info: jsonb('info'),
  connected: boolean('connected').notNull().default(false),
  connectedAt: ts('connected_at'),
  disconnectedAt: ts('disconnected_at'),
});

export const presenceHistory = pgTable(
  'presence_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    subjectType: text('subject_type').notNull(),
    subjectId: text('subject_id').notNull(),
    companyId: uuid('company_id'),
    siteId: uuid('site_id'),
    state: text('state').notNull(),
    at: ts('at').notNull().defaultNow(),
    since: ts('since').notNull(),
    reason: text('reason').notNull().default(''),
  },
  (t) => [index('presence_history_subject_idx').on(t.subjectType, t.subjectId, t.at)],
);

export const operationLogs = pgTable(
  'operation_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    companyId: uuid('company_id').notNull(),
    accountId: uuid('account_id'),
    accountName: text('account_name').notNull(),
    accountEmail: text('account_email').notNull(),
    client: text('client').notNull(),
    siteId: uuid('site_id'),
    siteName: text('site_name').notNull().default(''),
    target: text('target').notNull(),
    action: text('action').notNull(),
    result: text('result').notNull(),
    detail: text('detail').notNull().default(''),
    ip: text('ip').notNull().default(''),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('operation_logs_company_at_idx').on(t.companyId, t.at)],
);

/** Durable timers: each runs once at `run_at`, whichever cloud node picks it up; `key` makes scheduling idempotent. */
export const jobs = pgTable(
  'jobs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    key: text('key').notNull(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull().default(sql`'{}'::jsonb`),
    runAt: ts('run_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    lockedUntil: ts('locked_until'),
    lastError: text('last_error'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('jobs_key').on(t.key), index('jobs_run_at_idx').on(t.runAt)],
);

/** Envelope ids already handled, so an edge's at-least-once redelivery changes nothing twice. */
export const receivedMessages = pgTable(
  'received_messages',
  {
    id: text('id').notNull(),
    edgeSerial: text('edge_serial').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.edgeSerial, t.id] }), index('received_messages_at_idx').on(t.receivedAt)],
);

/** Events the edges report (motion, alarms, ...), kept for the timeline. */
export const deviceEvents = pgTable(
  'device_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    messageId: text('message_id').notNull(),
    companyId: uuid('company_id').notNull(),
    siteId: uuid('site_id').notNull(),
    edgeSerial: text('edge_serial').notNull(),
    deviceId: uuid('device_id'),
    kind: text('kind').notNull(),
    at: ts('at').notNull(),
    details: jsonb('details').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [index('device_events_site_at_idx').on(t.siteId, t.at)],
);

/** What each edge last saw on its site's LAN (discovery snapshot), one row per device. */
export const lanDevices = pgTable(
  'lan_devices',
  {
    edgeSerial: text('edge_serial')
      .notNull()
      .references(() => edges.serial, { onDelete: 'cascade' }),
    serial: text('serial').notNull(),
    /** The DiscoveredDevice as the edge reported it. */
    data: jsonb('data').notNull(),
    /** When the edge's discovery round that reported it ended. */
    seenAt: ts('seen_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.edgeSerial, t.serial] })],
);

/** An installer's default device password and verification code ("Manage Default Device Password"), sealed by the vault. */
export const deviceDefaults = pgTable('device_defaults', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  passwordSealed: text('password_sealed').notNull(),
  /** Sealed too; the sealing of '' when the installer keeps no default code. */
  verificationCodeSealed: text('verification_code_sealed').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** Activation and initialization of LAN devices through one edge box (the manual's SADP batch activate). */
export const activationJobs = pgTable(
  'activation_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    /** The box doing the work; only its reports may change the job. Kept as text so history outlives the box. */
    edgeSerial: text('edge_serial').notNull(),
    createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('activation_jobs_site_created_idx').on(t.siteId, t.createdAt), index('activation_jobs_edge_idx').on(t.edgeSerial)],
);

/** One device of an activation job, with the latest report of each initialization step. */
export const activationJobItems = pgTable(
  'activation_job_items',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => activationJobs.id, { onDelete: 'cascade' }),
    serial: text('serial').notNull(),
    model: text('model').notNull(),
    deviceClass: text('device_class').notNull(),
    ip: text('ip').notNull(),
    /** InitStep → { state, message, at }. */
    steps: jsonb('steps').notNull().default(sql`'{}'::jsonb`),
    /** running | succeeded | failed */
    result: text('result').notNull().default('running'),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.serial] })],
);

/** An ARC company on the ARC list (§4.12.1): its ARC ID (public) and ARC key (a random secret, kept as SHA-256). */
export const arcProfiles = pgTable(
  'arc_profiles',
  {
    companyId: uuid('company_id')
      .primaryKey()
      .references(() => companies.id, { onDelete: 'cascade' }),
    arcId: text('arc_id').notNull(),
    keyHash: text('key_hash').notNull(),
    keyIssuedAt: ts('key_issued_at').notNull(),
    contactEmail: text('contact_email').notNull(),
    description: text('description').notNull().default(''),
    /** Countries/regions (ISO 3166-1 alpha-2) whose installers see it on the list. */
    regions: text('regions').array().notNull(),
    /** "ARC ID & Key Config Completed": from then on it is on the list. */
    configCompletedAt: ts('config_completed_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('arc_profiles_arc_id_key').on(t.arcId)],
);

/** Where an ARC receives alarms (its IP receivers), in the order the relay tries them. */
export const arcReceivers = pgTable(
  'arc_receivers',
  {
    /** Chosen before the insert: the sealed keys name their receiver. */
    id: uuid('id').primaryKey(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    transport: text('transport').notNull(),
    /** `[{ accountNumber, keySealed }]`: DC-09 encryption per account (keySealed null: plain text). */
    accounts: jsonb('accounts').notNull().default(sql`'[]'::jsonb`),
    createdAt: createdAt(),
  },
  (t) => [index('arc_receivers_company_idx').on(t.companyId, t.createdAt)],
);

/** A personal site authorized to one ARC (§4.12.2); withdrawing deletes it and turns the site's panels off. */
export const siteArcAuthorizations = pgTable(
  'site_arc_authorizations',
  {
    siteId: uuid('site_id')
      .primaryKey()
      .references(() => sites.id, { onDelete: 'cascade' }),
    arcCompanyId: uuid('arc_company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    authorizedBy: uuid('authorized_by').references(() => accounts.id, { onDelete: 'set null' }),
    authorizedAt: ts('authorized_at').notNull().defaultNow(),
  },
  (t) => [index('site_arc_authorizations_arc_idx').on(t.arcCompanyId)],
);

/** A security control panel's ARC service: its state, the settings the ARC accepted, and the panel's arming. */
export const arcPanels = pgTable(
  'arc_panels',
  {
    deviceId: uuid('device_id')
      .primaryKey()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** The ARC it is (or was last) entrusted to; null until first enabled. */
    arcCompanyId: uuid('arc_company_id').references(() => companies.id, { onDelete: 'set null' }),
    /** off | pending | accepted | rejected | suspended */
    state: text('state').notNull().default('off'),
    accountNumber: text('account_number'),
    eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
    /** An installer's change of event types waiting for the ARC; the current ones apply until it approves. */
    pendingEventTypes: text('pending_event_types').array(),
    connectionMode: text('connection_mode').notNull().default('direct_or_server'),
    /** As the panel last reported; the connection mode may change only while it is disarmed. */
    armed: boolean('armed').notNull().default(false),
    /** Table 3-8's transmission settings, which the relaying box applies: answer timeout, sends, live-poll interval. */
    impulseCountingMs: integer('impulse_counting_ms').notNull().default(10_000),
    attempts: integer('attempts').notNull().default(3),
    pollingMs: integer('polling_ms').notNull().default(0),
    /** The cloud's own report of the relaying box being silent, as the ARC acknowledged it: normal | trouble. */
    exceptionState: text('exception_state').notNull().default('normal'),
    /** The report on its way (null: none), sent with this sequence number until acknowledged. */
    exceptionSending: text('exception_sending'),
    exceptionSequence: integer('exception_sequence').notNull().default(0),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('arc_panels_arc_idx').on(t.arcCompanyId),
    // An account number names one panel at its ARC.
    uniqueIndex('arc_panels_account_key')
      .on(t.arcCompanyId, t.accountNumber)
      .where(sql`state IN ('pending', 'accepted', 'suspended')`),
  ],
);

/**
 * The alarm log: every panel event an edge box stored (`alarm.event`) and its delivery to the ARC receiver
 * (`alarm.sent`), one row per event of a box. Times are the box's clock.
 */
export const alarmEvents = pgTable(
  'alarm_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    edgeSerial: text('edge_serial').notNull(),
    /** The box's id of the event. */
    eventId: bigint('event_id', { mode: 'number' }).notNull(),
    /** The installer's company and site, as the box's were when it reported. */
    companyId: uuid('company_id').notNull(),
    siteId: uuid('site_id').notNull(),
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    /** The account the panel reports with to the box. */
    account: text('account').notNull(),
    token: text('token').notNull(),
    code: text('code').notNull(),
    restore: boolean('restore').notNull(),
    zone: text('zone'),
    area: text('area'),
    description: text('description').notNull(),
    types: text('types').array().notNull(),
    /** Queued for the ARC by the box (an event type it receives); otherwise only kept. */
    forwarded: boolean('forwarded').notNull(),
    /** The ARC that had accepted the panel when the event was forwarded: only it sees the event. */
    arcCompanyId: uuid('arc_company_id').references(() => companies.id, { onDelete: 'set null' }),
    /** The ARC's account number for the panel at that time. */
    arcAccount: text('arc_account'),
    receivedAt: ts('received_at').notNull(),
    /** `direct` or `server`; null until the receiver acknowledged the event. */
    deliveryPath: text('delivery_path'),
    deliveredAt: ts('delivered_at'),
    transmissionMs: integer('transmission_ms'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('alarm_events_edge_event_key').on(t.edgeSerial, t.eventId),
    index('alarm_events_device_idx').on(t.deviceId, t.receivedAt),
    index('alarm_events_arc_idx').on(t.arcCompanyId, t.receivedAt),
  ],
);

// ------------------------------------------------------------------------------------------------ cloud storage

/** Cloud Storage packages a company holds (§5.3.2): each covers `channels` channels for a term once activated. */
export const storagePackages = pgTable(
  'storage_packages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    retentionDays: integer('retention_days').notNull(),
    /** 'monthly' or 'annual': how long a channel's service lasts after activation. */
    term: text('term').notNull(),
    /** 'event' or 'continuous'. */
    mode: text('mode').notNull(),
    /** 'purchased' or 'granted'. */
    origin: text('origin').notNull(),
    channels: integer('channels').notNull(),
    createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('storage_packages_company_idx').on(t.companyId)],
);

/** A device's cloud storage as a whole: how the box logs in to an NVR/DVR, and the last uplink test. */
export const cloudStorageDevices = pgTable('cloud_storage_devices', {
  deviceId: uuid('device_id')
    .primaryKey()
    .references(() => devices.id, { onDelete: 'cascade' }),
  /** NVR/DVR: `{username, password}` sealed by the vault. */
  loginSealed: text('login_sealed'),
  /** The last uplink bandwidth test (BandwidthTest of the API). */
  bandwidthTest: jsonb('bandwidth_test'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** One channel's cloud storage settings and service (§3.2.1 steps 4–7, §5.3.4). */
export const cloudStorageChannels = pgTable(
  'cloud_storage_channels',
  {
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    channel: integer('channel').notNull(),
    enabled: boolean('enabled').notNull().default(false),
    stream: text('stream').notNull().default('sub'),
    /** `{motion: {enabled, notifySurveillanceCenter}, intrusion?, lineCrossing?}`. */
    triggers: jsonb('triggers').notNull(),
    /** `{periods}` in the site's time zone; null: all the time. */
    schedule: jsonb('schedule'),
    preSeconds: integer('pre_seconds').notNull(),
    postSeconds: integer('post_seconds').notNull(),
    /** The service: the package it came from, its retention then, and its term. */
    packageId: uuid('package_id').references(() => storagePackages.id, { onDelete: 'set null' }),
    retentionDays: integer('retention_days'),
    activatedAt: ts('activated_at'),
    expiresAt: ts('expires_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.channel] }), index('cloud_storage_channels_package_idx').on(t.packageId)],
);

/**
 * Clips uploaded by edge boxes, from the first POST (parts partly uploaded) to their deletion by retention.
 * The id is the box's, so an upload sent again finds its row. Times are the box's clock.
 */
export const clips = pgTable(
  'clips',
  {
    id: uuid('id').primaryKey(),
    edgeSerial: text('edge_serial').notNull(),
    companyId: uuid('company_id').notNull(),
    siteId: uuid('site_id').notNull(),
    /** Null once the device is removed: the retention job then deletes the clip's objects and row. */
    deviceId: uuid('device_id').references(() => devices.id, { onDelete: 'set null' }),
    channel: integer('channel').notNull(),
    eventTypes: text('event_types').array().notNull(),
    /** `[{type, at}]` as the box sent them. */
    events: jsonb('events').notNull(),
    eventAt: ts('event_at').notNull(),
    startAt: ts('start_at').notNull(),
    endAt: ts('end_at').notNull(),
    durationSeconds: real('duration_seconds').notNull(),
    partial: boolean('partial').notNull(),
    videoBytes: bigint('video_bytes', { mode: 'number' }).notNull(),
    videoSha256: text('video_sha256').notNull(),
    videoOffset: bigint('video_offset', { mode: 'number' }).notNull().default(0),
    thumbnailBytes: integer('thumbnail_bytes').notNull(),
    thumbnailSha256: text('thumbnail_sha256').notNull(),
    thumbnailOffset: integer('thumbnail_offset').notNull().default(0),
    /** Both parts whole and verified: listed, played, counted. */
    complete: boolean('complete').notNull().default(false),
    retentionDays: integer('retention_days').notNull(),
    /** eventAt + retention: the retention job deletes the clip then. */
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    index('clips_site_event_idx').on(t.siteId, t.eventAt),
    index('clips_device_event_idx').on(t.deviceId, t.channel, t.eventAt),
    index('clips_expires_idx').on(t.expiresAt),
  ],
);

/** Events whose clip a box gave up (`clip.dropped`), shown in the timeline beside the clips. */
export const clipDrops = pgTable(
  'clip_drops',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    edgeSerial: text('edge_serial').notNull(),
    companyId: uuid('company_id').notNull(),
    siteId: uuid('site_id').notNull(),
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    channel: integer('channel').notNull(),
    eventTypes: text('event_types').array().notNull(),
    eventAt: ts('event_at').notNull(),
    reason: text('reason').notNull(),
    message: text('message').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    droppedAt: ts('dropped_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    // A report sent again changes nothing.
    uniqueIndex('clip_drops_report_key').on(t.edgeSerial, t.deviceId, t.channel, t.eventAt, t.reason),
    index('clip_drops_site_idx').on(t.siteId, t.eventAt),
  ],
);

/** The company's application to be authenticated, with the fields its region's form asks for. */
export const companyAuthentications = pgTable('company_authentications', {
  companyId: uuid('company_id')
    .primaryKey()
    .references(() => companies.id, { onDelete: 'cascade' }),
  fields: jsonb('fields').$type<Record<string, string>>().notNull(),
  comment: text('comment').notNull().default(''),
  submittedAt: ts('submitted_at').notNull(),
  reviewedAt: ts('reviewed_at'),
  reviewerId: uuid('reviewer_id').references(() => accounts.id, { onDelete: 'set null' }),
});

/** The region × feature matrix: a row switches one feature on or off for one country or region. */
export const regionFeatures = pgTable(
  'region_features',
  {
    countryCode: text('country_code').notNull(),
    feature: text('feature').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.countryCode, t.feature] })],
);

/** Outgoing email, kept until the SMTP server took it (or it failed for good). */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    /** What the mail is (invitation, authentication.approved, ...), for the log and tests. */
    kind: text('kind').notNull(),
    /** queued, sent, failed. */
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: ts('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [index('mail_outbox_status_idx').on(t.status, t.createdAt)],
);

/** In-app messages of an account (the Notification Center). */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    data: jsonb('data').$type<Record<string, string>>().notNull().default({}),
    readAt: ts('read_at'),
    createdAt: createdAt(),
  },
  (t) => [index('notifications_account_idx').on(t.accountId, t.createdAt)],
);

export const employeeInvitations = pgTable(
  'employee_invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    roleId: uuid('role_id').references(() => roles.id, { onDelete: 'set null' }),
    /** SHA-256 of the link's token. */
    tokenHash: text('token_hash').notNull().unique(),
    /** pending, accepted, revoked. */
    status: text('status').notNull().default('pending'),
    invitedBy: uuid('invited_by').references(() => accounts.id, { onDelete: 'set null' }),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('employee_invitations_company_idx').on(t.companyId)],
);

/** A self-registered installer asking to join a company; the account exists only once approved. */
export const joinRequests = pgTable(
  'join_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    /** pending, approved, rejected. */
    status: text('status').notNull().default('pending'),
    decidedBy: uuid('decided_by').references(() => accounts.id, { onDelete: 'set null' }),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [index('join_requests_company_idx').on(t.companyId, t.status)],
);

export const employeeAddOnOrders = pgTable('employee_addon_orders', {
  id: uuid('id').primaryKey().defaultRandom(),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  quantity: integer('quantity').notNull(),
  orderedBy: uuid('ordered_by').references(() => accounts.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
});

/** A company's identity provider: SAML sign-in and SCIM provisioning. One tenant belongs to one company. */
export const ssoConfigs = pgTable('sso_configs', {
  companyId: uuid('company_id')
    .primaryKey()
    .references(() => companies.id, { onDelete: 'cascade' }),
  idpEntityId: text('idp_entity_id').notNull(),
  idpSsoUrl: text('idp_sso_url').notNull(),
  /** PEM certificates the assertions must be signed with. */
  idpCerts: text('idp_certs').array().notNull(),
  idpMetadataXml: text('idp_metadata_xml').notNull(),
  tenantId: text('tenant_id').notNull().unique(),
  defaultRoleId: uuid('default_role_id').references(() => roles.id, { onDelete: 'set null' }),
  scimTokenHash: text('scim_token_hash'),
  loginEnabled: boolean('login_enabled').notNull().default(true),
  syncEnabled: boolean('sync_enabled').notNull().default(true),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * SAML ids the cloud has seen: the AuthnRequests it sent (an answer must be to one of them, once) and the
 * assertions it accepted (never twice). Kept in the database so every cloud node agrees.
 */
export const samlIds = pgTable('saml_ids', {
  id: text('id').primaryKey(),
  /** request or assertion. */
  kind: text('kind').notNull(),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  /** The request's or assertion's data (for a request, the issue instant). */
  value: text('value').notNull().default(''),
  expiresAt: ts('expires_at').notNull(),
});

export const siteCollaborations = pgTable(
  'site_collaborations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    ownerCompanyId: uuid('owner_company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    partnerCompanyId: uuid('partner_company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    partnerAccountId: uuid('partner_account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** isp, msp. */
    type: text('type').notNull(),
    /** invited, active, declined, cancelled, ended. */
    status: text('status').notNull().default('invited'),
    invitedBy: uuid('invited_by').references(() => accounts.id, { onDelete: 'set null' }),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [index('site_collaborations_site_idx').on(t.siteId), index('site_collaborations_partner_idx').on(t.partnerAccountId, t.status)],
);

export const companyMergers = pgTable('company_mergers', {
  id: uuid('id').primaryKey().defaultRandom(),
  initiatedBy: text('initiated_by').notNull(),
  initiatorCompanyId: uuid('initiator_company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  /** Null once the invited company is merged away. */
  invitedCompanyId: uuid('invited_company_id').references(() => companies.id, { onDelete: 'set null' }),
  invitedCompanyName: text('invited_company_name').notNull(),
  invitedEmail: text('invited_email').notNull(),
  initiatorAccepted: boolean('initiator_accepted').notNull(),
  invitedAccepted: boolean('invited_accepted').notNull().default(false),
  /** pending, rejected, failed, completed. */
  status: text('status').notNull().default('pending'),
  failureReason: text('failure_reason'),
  createdAt: createdAt(),
  decidedAt: ts('decided_at'),
});

/** Groups of a company's personal sites (by city, or a customer's chain of stores). */
export const siteGroups = pgTable(
  'site_groups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('site_groups_company_name_key').on(t.companyId, sql`lower(${t.name})`)],
);

/** Installers assigned to a site (§3.4.4); a null expiry is Lifetime. */
export const siteManagers = pgTable(
  'site_managers',
  {
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    expiresAt: ts('expires_at'),
    assignedBy: uuid('assigned_by').references(() => accounts.id, { onDelete: 'set null' }),
    assignedAt: ts('assigned_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.accountId] }), index('site_managers_account_idx').on(t.accountId)],
);

/** A handover by transfer: the site is offered to one customer, who becomes its owner on accepting. */
export const handovers = pgTable(
  'handovers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
    /** email, phone. */
    channel: text('channel').notNull(),
    /** The email (lower case) or E.164 phone number it was sent to. */
    recipient: text('recipient').notNull(),
    /** The customer's account once known (at once for a registered customer, at registration otherwise). */
    recipientAccountId: uuid('recipient_account_id').references(() => accounts.id, { onDelete: 'set null' }),
    customerName: text('customer_name').notNull().default(''),
    remarks: text('remarks').notNull().default(''),
    /** What the installer asked for, granted as it is when the customer accepts. */
    permissions: jsonb('permissions').$type<{ permission: string; deviceIds: string[]; validity: string }[]>().notNull().default([]),
    /** NotRegistered, ToBeAccepted, Accepted, Rejected, Invalidated (superseded by a resend), Expired, Cancelled. */
    status: text('status').notNull(),
    /** SHA-256 of the link's token. */
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: ts('expires_at').notNull(),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [index('handovers_site_idx').on(t.siteId, t.createdAt), index('handovers_recipient_idx').on(t.recipientAccountId, t.status)],
);

/** A handover by sharing (personal sites): the company keeps the devices; customers get what is shared with them. */
export const sharings = pgTable('sharings', {
  id: uuid('id').primaryKey().defaultRandom(),
  siteId: uuid('site_id')
    .notNull()
    .unique()
    .references(() => sites.id, { onDelete: 'cascade' }),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  /** A: the installer applies to the Customer Administrator for device permissions; B: it keeps them all. */
  mode: text('mode').notNull(),
  /** The ARC sub-permissions asked for in Mode A when the ARC service is enabled (PIRCAM GIF, Video Clips). */
  arcPermissions: text('arc_permissions').array().notNull().default(sql`'{}'::text[]`),
  remarks: text('remarks').notNull().default(''),
  createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
});

export const sharingRecipients = pgTable(
  'sharing_recipients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sharingId: uuid('sharing_id')
      .notNull()
      .references(() => sharings.id, { onDelete: 'cascade' }),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    recipient: text('recipient').notNull(),
    recipientAccountId: uuid('recipient_account_id').references(() => accounts.id, { onDelete: 'set null' }),
    remarks: text('remarks').notNull().default(''),
    /** Mode A: the one who reviews the installer's permission applications. */
    isAdmin: boolean('is_admin').notNull().default(false),
    /** NotRegistered, ToBeAccepted, Accepted, Rejected, Expired, Cancelled. */
    status: text('status').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: ts('expires_at').notNull(),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [index('sharing_recipients_sharing_idx').on(t.sharingId), index('sharing_recipients_account_idx').on(t.recipientAccountId, t.status)],
);

/** What a sharing recipient may use of a device (a device added later is shared with no one until assigned here). */
export const sharedDevices = pgTable(
  'shared_devices',
  {
    recipientId: uuid('recipient_id')
      .notNull()
      .references(() => sharingRecipients.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id')
      .notNull()
      .references(() => devices.id, { onDelete: 'cascade' }),
    permissions: text('permissions').array().notNull(),
    validity: text('validity').notNull().default('Permanent'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.recipientId, t.deviceId] }), index('shared_devices_device_idx').on(t.deviceId)],
);

/**
 * An installer company's permission on a handed-over site (SiteAuthorization, ManageSiteInformation; deviceId null)
 * or on one of its devices (Configuration, LiveView, Playback): applied for and reviewed by the customer, or granted
 * with an accepted handover. Usable while approved, not released and not past its expiry (null: Permanent).
 */
export const devicePermissions = pgTable(
  'device_permissions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    siteId: uuid('site_id')
      .notNull()
      .references(() => sites.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id').references(() => devices.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    permission: text('permission').notNull(),
    /** Permanent, 1h, 2h, 4h, 8h. */
    validity: text('validity').notNull(),
    /** pending, approved, denied, released. */
    status: text('status').notNull(),
    /** handover, application. */
    source: text('source').notNull(),
    remark: text('remark').notNull().default(''),
    applicantAccountId: uuid('applicant_account_id').references(() => accounts.id, { onDelete: 'set null' }),
    reviewerAccountId: uuid('reviewer_account_id').references(() => accounts.id, { onDelete: 'set null' }),
    decidedAt: ts('decided_at'),
    expiresAt: ts('expires_at'),
    releasedAt: ts('released_at'),
    createdAt: createdAt(),
  },
  (t) => [index('device_permissions_use_idx').on(t.siteId, t.companyId, t.permission, t.status), index('device_permissions_device_idx').on(t.deviceId)],
);

/** A customer invites an installer (by its account email) to manage devices it owns; valid 3 days. */
export const deviceInvitations = pgTable(
  'device_invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerAccountId: uuid('customer_account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    inviteeEmail: text('invitee_email').notNull(),
    inviteeAccountId: uuid('invitee_account_id').references(() => accounts.id, { onDelete: 'cascade' }),
    deviceIds: uuid('device_ids').array().notNull(),
    siteName: text('site_name').notNull(),
    permissions: text('permissions').array().notNull(),
    /** Pending, Accepted, Declined, Expired (shown as Expired once past expiresAt). */
    status: text('status').notNull().default('Pending'),
    /** The installer's site the devices went to. */
    targetSiteId: uuid('target_site_id').references(() => sites.id, { onDelete: 'set null' }),
    expiresAt: ts('expires_at').notNull(),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [index('device_invitations_invitee_idx').on(t.inviteeAccountId, t.status)],
);

/** Moving P2P devices to another site of the same owner; an owned source site needs the owner's approval. */
export const deviceMoves = pgTable('device_moves', {
  id: uuid('id').primaryKey().defaultRandom(),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  sourceSiteId: uuid('source_site_id')
    .notNull()
    .references(() => sites.id, { onDelete: 'cascade' }),
  targetSiteId: uuid('target_site_id')
    .notNull()
    .references(() => sites.id, { onDelete: 'cascade' }),
  deviceIds: uuid('device_ids').array().notNull(),
  /** The owner who reviews it; null when neither site has one (the move is done at once). */
  ownerAccountId: uuid('owner_account_id').references(() => accounts.id, { onDelete: 'set null' }),
  /** Pending, Approved (done), Rejected. */
  status: text('status').notNull(),
  requestedBy: uuid('requested_by').references(() => accounts.id, { onDelete: 'set null' }),
  decidedAt: ts('decided_at'),
  createdAt: createdAt(),
});

/** A company's co-branding: what its customers see of it, while the service is valid. */
export const coBrandings = pgTable('co_brandings', {
  companyId: uuid('company_id')
    .primaryKey()
    .references(() => companies.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull().default(false),
  /** The logo's bytes, base64; null: customers see the company name. */
  logo: text('logo'),
  logoContentType: text('logo_content_type'),
  validUntil: ts('valid_until'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** How the co-branding service was obtained or extended: purchase, service_key, reward_points, free_promo. */
export const coBrandingOrders = pgTable('co_branding_orders', {
  id: uuid('id').primaryKey().defaultRandom(),
  companyId: uuid('company_id')
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' }),
  source: text('source').notNull(),
  months: integer('months').notNull(),
  details: jsonb('details').$type<Record<string, string>>().notNull().default({}),
  createdBy: uuid('created_by').references(() => accounts.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
});

/** Keys sold offline by distributors, each redeemable once for a service's months. */
export const serviceKeys = pgTable('service_keys', {
  code: text('code').primaryKey(),
  /** co_branding, employee_addon. */
  serviceType: text('service_type').notNull(),
  months: integer('months').notNull(),
  redeemedByCompanyId: uuid('redeemed_by_company_id').references(() => companies.id, { onDelete: 'set null' }),
  redeemedAt: ts('redeemed_at'),
  createdAt: createdAt(),
});

/** Outgoing text messages, delivered by a durable job to the configured sink. */
export const smsOutbox = pgTable(
  'sms_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    toNumber: text('to_number').notNull(),
    text: text('text').notNull(),
    kind: text('kind').notNull(),
    /** queued, sent, failed. */
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: ts('sent_at'),
    createdAt: createdAt(),
  },
  (t) => [index('sms_outbox_status_idx').on(t.status, t.createdAt)],
);
