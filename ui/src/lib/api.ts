import type {
  ActivationJob,
  AddChannelsBody,
  AddChannelsReply,
  AddDeviceByAddressBody,
  AddDeviceBySerialBody,
  AddEdgeBody,
  AddLanDevicesBody,
  AddLanDevicesResult,
  CreateSiteBody,
  Device,
  DeviceChannels,
  DeviceDefaults,
  Edge,
  ErrorReply,
  LanDeviceList,
  LanOperationBody,
  LanOperationReply,
  LoginBody,
  MeReply,
  OperationLogList,
  PanelOperationReply,
  PanelStatus,
  PresenceEvent,
  RegisterBody,
  Site,
  SiteList,
  SiteStatus,
  SiteType,
  StartActivationBody,
  UpdateDeviceBody,
  UpdateDeviceDefaultsBody,
  UpdateEdgeBody,
  UpdateSiteBody,
  PtzBody,
  PtzReply,
  RecordingsReply,
  VideoSession,
  VideoSessionBody,
  VideoSource,
} from '@vigil/protocol/api';
import { PANEL_OPERATION_PATHS } from '@vigil/protocol/api';
import type { EdgeInfo, PanelOperation } from '@vigil/protocol';
import type {
  ArcAlarmList,
  ArcAlarmQuery,
  ArcCredentialsReply,
  ArcDecision,
  ArcListItem,
  ArcPanel,
  ArcProfile,
  ArcReceiver,
  ArcReceiverBody,
  ApplyArcBody,
  DeviceAlarmList,
  EnableArcServiceBody,
  EntrustedPanel,
  SiteAlarmRelay,
  SiteArcService,
} from '@vigil/protocol/api';

const BASE = '/api/v1';
/** The API's page size when none is asked for. */
export const DEFAULT_PAGE_SIZE = 50;

/** A refusal of the API (or of the network), with the server's code and sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let unauthenticatedHandler: (() => void) | null = null;

/** Called when the session has ended on the server (expired or logged out elsewhere). */
export function onUnauthenticated(handler: () => void): void {
  unauthenticatedHandler = handler;
}

type Query = Record<string, string | number | undefined | null>;

function url(path: string, query?: Query): string {
  if (!query) return BASE + path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    // The server's defaults are left out: shorter addresses, and the first page never depends on paging.
    if ((key === 'page' && value === 1) || (key === 'pageSize' && value === DEFAULT_PAGE_SIZE)) continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return BASE + path + (qs ? `?${qs}` : '');
}

function isErrorReply(value: unknown): value is ErrorReply {
  return typeof value === 'object' && value !== null && typeof (value as ErrorReply).code === 'string' && typeof (value as ErrorReply).message === 'string';
}

export async function request<T>(method: string, path: string, options: { body?: unknown; query?: Query } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (method !== 'GET') {
    // The server requires JSON on every unsafe request, and refuses an empty JSON body.
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body ?? {});
  }
  let response: Response;
  try {
    response = await fetch(url(path, options.query), init);
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check your connection and try again.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) throw refusal(response, data);
  return data as T;
}

/** The error for a refused request, from its JSON error reply when it has one. */
function refusal(response: Response, data: unknown): ApiError {
  if (isErrorReply(data)) {
    if (data.code === 'UNAUTHENTICATED' && unauthenticatedHandler) unauthenticatedHandler();
    return new ApiError(response.status, data.code, data.message);
  }
  return new ApiError(response.status, 'HTTP_ERROR', `The server answered ${response.status} ${response.statusText}`.trim() + '.');
}

export interface SiteListQuery {
  search?: string;
  type?: SiteType | '';
  status?: SiteStatus | '';
  groupId?: string;
  page?: number;
  pageSize?: number;
}

export interface OperationLogQuery {
  page?: number;
  pageSize?: number;
  from?: string;
  to?: string;
  siteId?: string;
}

const enc = encodeURIComponent;

export const api = {
  register: (body: RegisterBody) => request<MeReply>('POST', '/companies', { body }),
  login: (body: LoginBody) => request<MeReply>('POST', '/auth/login', { body }),
  logout: () => request<void>('POST', '/auth/logout'),
  me: () => request<MeReply>('GET', '/me'),

  listSites: (query: SiteListQuery) => request<SiteList>('GET', '/sites', { query: { ...query } }),
  createSite: (body: CreateSiteBody) => request<Site>('POST', '/sites', { body }),
  getSite: (siteId: string) => request<Site>('GET', `/sites/${enc(siteId)}`),
  updateSite: (siteId: string, body: UpdateSiteBody) => request<Site>('PATCH', `/sites/${enc(siteId)}`, { body }),
  deleteSite: (siteId: string) => request<void>('DELETE', `/sites/${enc(siteId)}`),

  listEdges: (siteId: string) => request<{ items: Edge[] }>('GET', `/sites/${enc(siteId)}/edges`),
  addEdge: (siteId: string, body: AddEdgeBody) => request<Edge>('POST', `/sites/${enc(siteId)}/edges`, { body }),
  updateEdge: (serial: string, body: UpdateEdgeBody) => request<Edge>('PATCH', `/edges/${enc(serial)}`, { body }),
  removeEdge: (serial: string) => request<void>('DELETE', `/edges/${enc(serial)}`),
  edgeHistory: (serial: string) => request<{ items: PresenceEvent[] }>('GET', `/edges/${enc(serial)}/history`),
  edgeInfo: (serial: string) => request<EdgeInfo>('GET', `/edges/${enc(serial)}/info`),
  rebootEdge: (serial: string) => request<{ accepted: true }>('POST', `/edges/${enc(serial)}/reboot`),

  listDevices: (siteId: string) => request<{ items: Device[] }>('GET', `/sites/${enc(siteId)}/devices`),
  updateDevice: (deviceId: string, body: UpdateDeviceBody) => request<Device>('PATCH', `/devices/${enc(deviceId)}`, { body }),
  addDeviceBySerial: (siteId: string, body: AddDeviceBySerialBody) => request<Device>('POST', `/sites/${enc(siteId)}/devices/by-serial`, { body }),
  addDeviceByAddress: (siteId: string, body: AddDeviceByAddressBody) => request<Device>('POST', `/sites/${enc(siteId)}/devices/by-address`, { body }),
  getDevice: (deviceId: string) => request<Device>('GET', `/devices/${enc(deviceId)}`),
  deviceHistory: (deviceId: string) => request<{ items: PresenceEvent[] }>('GET', `/devices/${enc(deviceId)}/history`),
  /** An NVR's or DVR's channels, through the site's edge box. */
  listChannels: (deviceId: string) => request<DeviceChannels>('GET', `/devices/${enc(deviceId)}/channels`),
  addChannels: (deviceId: string, body: AddChannelsBody) => request<AddChannelsReply>('POST', `/devices/${enc(deviceId)}/channels`, { body }),
  removeChannel: (deviceId: string, channelId: number) => request<DeviceChannels>('DELETE', `/devices/${enc(deviceId)}/channels/${channelId}`),
  orderChannels: (deviceId: string, order: number[]) => request<DeviceChannels>('PUT', `/devices/${enc(deviceId)}/channels/order`, { body: { order } }),
  /** A security control panel's areas, zones and host status, read live over its own platform connection. */
  getPanel: (deviceId: string) => request<PanelStatus>('GET', `/devices/${enc(deviceId)}/panel`),
  operatePanel: (deviceId: string, area: number, operation: PanelOperation) =>
    request<PanelOperationReply>('POST', `/devices/${enc(deviceId)}/panel/areas/${area}/${PANEL_OPERATION_PATHS[operation]}`),

  listLan: (siteId: string) => request<LanDeviceList>('GET', `/sites/${enc(siteId)}/lan`),

  getDeviceDefaults: () => request<DeviceDefaults>('GET', '/me/device-defaults'),
  updateDeviceDefaults: (body: UpdateDeviceDefaultsBody) => request<DeviceDefaults | undefined>('PUT', '/me/device-defaults', { body }),
  startActivation: (siteId: string, body: StartActivationBody) =>
    request<ActivationJob>('POST', `/sites/${enc(siteId)}/onsite/activations`, { body }),
  getActivation: (siteId: string, jobId: string) => request<ActivationJob>('GET', `/sites/${enc(siteId)}/onsite/activations/${enc(jobId)}`),
  listActivations: (siteId: string) => request<{ items: ActivationJob[] }>('GET', `/sites/${enc(siteId)}/onsite/activations`),
  addLanDevices: (siteId: string, body: AddLanDevicesBody) => request<AddLanDevicesResult>('POST', `/sites/${enc(siteId)}/onsite/add`, { body }),
  /** Reboot, restore or edit the IP settings of activated LAN devices; one result per device. */
  lanOperation: (siteId: string, body: LanOperationBody) =>
    request<LanOperationReply>('POST', `/sites/${enc(siteId)}/onsite/operations`, { body }),

  /** The ARC service: an installer's side (the ARC list, a site's authorization and panels). */
  listArcs: () => request<{ items: ArcListItem[] }>('GET', '/arcs'),
  getSiteArc: (siteId: string) => request<SiteArcService>('GET', `/sites/${enc(siteId)}/arc`),
  getSiteAlarmRelay: (siteId: string) => request<SiteAlarmRelay>('GET', `/sites/${enc(siteId)}/arc/relay`),
  authorizeSiteArc: (siteId: string, arcCompanyId: string) => request<SiteArcService>('PUT', `/sites/${enc(siteId)}/arc/authorization`, { body: { arcCompanyId } }),
  withdrawSiteArc: (siteId: string) => request<SiteArcService>('DELETE', `/sites/${enc(siteId)}/arc/authorization`),
  enableArcService: (siteId: string, deviceId: string, body: EnableArcServiceBody) =>
    request<ArcPanel>('PUT', `/sites/${enc(siteId)}/arc/panels/${enc(deviceId)}`, { body }),
  disableArcService: (siteId: string, deviceId: string) => request<ArcPanel>('DELETE', `/sites/${enc(siteId)}/arc/panels/${enc(deviceId)}`),
  /** The ARC service: an ARC's side (its profile and receivers, the panels entrusted to it). */
  getArcProfile: () => request<ArcProfile>('GET', '/arc/profile'),
  applyArc: (body: ApplyArcBody) => request<ArcCredentialsReply>('POST', '/arc/profile', { body }),
  regenerateArcKey: () => request<ArcCredentialsReply>('POST', '/arc/profile/key'),
  completeArcConfig: () => request<ArcProfile>('POST', '/arc/profile/config-completed'),
  listArcReceivers: () => request<{ items: ArcReceiver[] }>('GET', '/arc/receivers'),
  addArcReceiver: (body: ArcReceiverBody) => request<ArcReceiver>('POST', '/arc/receivers', { body }),
  updateArcReceiver: (receiverId: string, body: ArcReceiverBody) => request<ArcReceiver>('PUT', `/arc/receivers/${enc(receiverId)}`, { body }),
  deleteArcReceiver: (receiverId: string) => request<void>('DELETE', `/arc/receivers/${enc(receiverId)}`),
  listEntrusted: () => request<{ items: EntrustedPanel[] }>('GET', '/arc/entrusted-devices'),
  decideEntrusted: (deviceId: string, decision: ArcDecision) => request<EntrustedPanel>('POST', `/arc/entrusted-devices/${enc(deviceId)}/${decision}`),
  reviewEventTypes: (deviceId: string, review: 'approve' | 'reject') =>
    request<EntrustedPanel>('POST', `/arc/entrusted-devices/${enc(deviceId)}/event-types/${review}`),
  arcAlarms: (query: ArcAlarmQuery) => request<ArcAlarmList>('GET', '/arc/alarms', { query: { ...query } }),
  deviceAlarms: (deviceId: string, query: { page?: number; pageSize?: number } = {}) =>
    request<DeviceAlarmList>('GET', `/devices/${enc(deviceId)}/alarms`, { query: { ...query } }),

  operationLogs: (query: OperationLogQuery) => request<OperationLogList>('GET', '/operation-logs', { query: { ...query } }),

  /** Video: what a site can show, live and playback windows, PTZ and the recorder's recordings. */
  videoSources: (siteId: string) => request<{ items: VideoSource[] }>('GET', `/sites/${enc(siteId)}/video/sources`),
  openVideoSession: (deviceId: string, body: VideoSessionBody) => request<VideoSession>('POST', `/devices/${enc(deviceId)}/video/sessions`, { body }),
  closeVideoSession: (sessionId: string) => request<void>('DELETE', `/video/sessions/${enc(sessionId)}`),
  ptz: (deviceId: string, body: PtzBody) => request<PtzReply>('POST', `/devices/${enc(deviceId)}/ptz`, { body }),
  recordings: (deviceId: string, query: { channel: number; from: string; to: string }) =>
    request<RecordingsReply>('GET', `/devices/${enc(deviceId)}/recordings`, { query: { ...query } }),
  /** A snapshot of the device's stream now, as a JPEG. */
  snapshot: async (deviceId: string, query: { stream: string; channel?: number | null; verificationCode?: string }): Promise<Blob> => {
    let response: Response;
    try {
      response = await fetch(url(`/devices/${enc(deviceId)}/snapshot`, query), { credentials: 'same-origin', headers: { Accept: 'image/jpeg, application/json' } });
    } catch {
      throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check your connection and try again.');
    }
    if (response.ok) return response.blob();
    throw refusal(response, await response.json().catch(() => undefined));
  },
};

/** The address of a clip download (an ordinary link: the browser saves the MP4 itself). */
export function clipUrl(deviceId: string, query: { channel?: number | null; from: string; to: string; stream?: string }): string {
  return url(`/devices/${enc(deviceId)}/clip`, { ...query });
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
