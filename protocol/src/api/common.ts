import Type, { type Static, type TLiteral } from 'typebox';

/** A union of literals whose static type is the union of the values (mapping an array alone would type it `never`). */
export const literals = <T extends string | number>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>]);

/** Every refusal of the HTTP API has this shape. */
export const ErrorReplySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  message: Type.String(),
});
export type ErrorReply = Static<typeof ErrorReplySchema>;

/** What the forms and the server take as an email address: something@domain.tld, no spaces. */
export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const UuidSchema = Type.String({ format: 'uuid' });
export const IsoDateSchema = Type.String({ format: 'date-time' });

export const PageQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});

/** The error codes the API answers with, beside HTTP's own. */
export const ErrorCode = {
  validationFailed: 'VALIDATION_FAILED',
  malformedJson: 'MALFORMED_JSON',
  bodyTooLarge: 'BODY_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  notFound: 'NOT_FOUND',
  unauthenticated: 'UNAUTHENTICATED',
  forbidden: 'FORBIDDEN',
  permissionDenied: 'PERMISSION_DENIED',
  crossOrigin: 'CROSS_ORIGIN_REFUSED',
  emailTaken: 'EMAIL_TAKEN',
  phoneTaken: 'PHONE_TAKEN',
  passwordPolicy: 'PASSWORD_POLICY',
  invalidCredentials: 'INVALID_CREDENTIALS',
  accountLocked: 'ACCOUNT_LOCKED',
  accountDisabled: 'ACCOUNT_DISABLED',
  siteNotFound: 'SITE_NOT_FOUND',
  siteNameTaken: 'SITE_NAME_TAKEN',
  siteStatusForbids: 'SITE_STATUS_FORBIDS',
  invalidTimeZone: 'INVALID_TIME_ZONE',
  /** 422: a site's time zone is fixed once the site exists (spec §1.1). */
  timeZoneImmutable: 'TIME_ZONE_IMMUTABLE',
  offlineDelayOutOfRange: 'OFFLINE_DELAY_OUT_OF_RANGE',
  edgeNotFound: 'EDGE_NOT_FOUND',
  edgeNeverConnected: 'EDGE_NEVER_CONNECTED',
  edgeAlreadyAdded: 'EDGE_ALREADY_ADDED',
  verificationCodeInvalid: 'VERIFICATION_CODE_INVALID',
  claimLocked: 'CLAIM_LOCKED',
  edgeOffline: 'EDGE_OFFLINE',
  rpcTimeout: 'RPC_TIMEOUT',
  rpcFailed: 'RPC_FAILED',
  deviceNotFound: 'DEVICE_NOT_FOUND',
  lanDeviceNotFound: 'LAN_DEVICE_NOT_FOUND',
  notSadpInitializable: 'NOT_SADP_INITIALIZABLE',
  deviceAlreadyActivated: 'DEVICE_ALREADY_ACTIVATED',
  devicePasswordPolicy: 'DEVICE_PASSWORD_POLICY',
  verificationCodePolicy: 'VERIFICATION_CODE_POLICY',
  noDeviceDefaults: 'NO_DEVICE_DEFAULTS',
  devicesOnSeveralEdges: 'DEVICES_ON_SEVERAL_EDGES',
  invalidNetworkSettings: 'INVALID_NETWORK_SETTINGS',
  invalidVlanSettings: 'INVALID_VLAN_SETTINGS',
  operationNotForDeviceType: 'OPERATION_NOT_FOR_DEVICE_TYPE',
  deviceNotActivated: 'DEVICE_NOT_ACTIVATED',
  addMethodNotAllowed: 'ADD_METHOD_NOT_ALLOWED',
  acRouterTeamSite: 'AC_ROUTER_TEAM_SITE',
  deviceAddedToAnotherAccount: 'DEVICE_ADDED_TO_ANOTHER_ACCOUNT',
  deviceAlreadyAdded: 'DEVICE_ALREADY_ADDED',
  siteChannelLimit: 'SITE_CHANNEL_LIMIT',
  serialInvalid: 'SERIAL_INVALID',
  deviceNotConnected: 'DEVICE_NOT_CONNECTED',
  verificationCodeRequired: 'VERIFICATION_CODE_REQUIRED',
  addressNotAllowed: 'ADDRESS_NOT_ALLOWED',
  deviceUnreachable: 'DEVICE_UNREACHABLE',
  deviceLoginFailed: 'DEVICE_LOGIN_FAILED',
  internal: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
