/** A small router on the History API; the server answers every non-API path with index.html. */

export type Route =
  | { name: 'login' }
  | { name: 'register' }
  | { name: 'sites' }
  | { name: 'site'; siteId: string }
  | { name: 'onsite'; siteId: string }
  | { name: 'device'; siteId: string; deviceId: string }
  | { name: 'arcService'; siteId: string }
  | { name: 'liveView'; siteId: string }
  | { name: 'playback'; siteId: string }
  | { name: 'siteEvents'; siteId: string }
  /** The site is not in the short form `/devices/:id/cloud-storage`; the page finds it from the device. */
  | { name: 'deviceCloudStorage'; siteId: string | null; deviceId: string }
  | { name: 'cloudStorage' }
  | { name: 'arcSettings' }
  | { name: 'entrustedDevices' }
  | { name: 'alarmInbox' }
  | { name: 'operationLog' }
  | { name: 'company' }
  | { name: 'employees' }
  | { name: 'roles' }
  | { name: 'sso' }
  | { name: 'mergers' }
  | { name: 'notifications' }
  | { name: 'collaborations' }
  | { name: 'siteCollaboration'; siteId: string }
  | { name: 'invitation'; token: string }
  | { name: 'join' }
  | { name: 'vendorAuthentications' }
  | { name: 'vendorRegions' }
  | { name: 'vendorMergers' }
  | { name: 'siteHandover'; siteId: string }
  | { name: 'siteSharing'; siteId: string }
  | { name: 'sitePermissions'; siteId: string }
  | { name: 'siteManagers'; siteId: string }
  | { name: 'moveDevices'; siteId: string }
  | { name: 'mySite'; siteId: string }
  | { name: 'mySiteAccess'; siteId: string }
  | { name: 'siteGroups' }
  | { name: 'deviceInvitations' }
  | { name: 'coBranding' }
  | { name: 'vendorServiceKeys' }
  | { name: 'customerRegister' }
  | { name: 'mySites' }
  | { name: 'myHandovers' }
  | { name: 'myRequests' }
  | { name: 'myDeviceInvitations' }
  | { name: 'handoverOffer'; token: string }
  | { name: 'sharingOffer'; token: string }
  | { name: 'home' }
  | { name: 'notFound' };

export const PUBLIC_ROUTES = new Set<Route['name']>(['login', 'register', 'invitation', 'join', 'handoverOffer', 'sharingOffer', 'customerRegister']);
/** The customer's side (site owners, sharing recipients): the only pages a customer account sees, besides Notifications. */
export const CUSTOMER_ROUTES = new Set<Route['name']>(['mySites', 'mySite', 'mySiteAccess', 'myHandovers', 'myRequests', 'myDeviceInvitations', 'notifications']);

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/') return { name: 'home' };
  if (p === '/login') return { name: 'login' };
  if (p === '/register') return { name: 'register' };
  if (p === '/sites') return { name: 'sites' };
  if (p === '/operation-log') return { name: 'operationLog' };
  if (p === '/cloud-storage') return { name: 'cloudStorage' };
  if (p === '/arc/settings') return { name: 'arcSettings' };
  if (p === '/arc/devices') return { name: 'entrustedDevices' };
  if (p === '/arc/alarms') return { name: 'alarmInbox' };
  if (p === '/company') return { name: 'company' };
  if (p === '/company/employees') return { name: 'employees' };
  if (p === '/company/roles') return { name: 'roles' };
  if (p === '/company/sso') return { name: 'sso' };
  if (p === '/company/mergers') return { name: 'mergers' };
  if (p === '/notifications') return { name: 'notifications' };
  if (p === '/collaborations') return { name: 'collaborations' };
  if (p === '/join') return { name: 'join' };
  if (p === '/vendor/authentications') return { name: 'vendorAuthentications' };
  if (p === '/vendor/regions') return { name: 'vendorRegions' };
  if (p === '/vendor/mergers') return { name: 'vendorMergers' };
  if (p === '/site-groups') return { name: 'siteGroups' };
  if (p === '/device-invitations') return { name: 'deviceInvitations' };
  if (p === '/company/co-branding') return { name: 'coBranding' };
  if (p === '/vendor/service-keys') return { name: 'vendorServiceKeys' };
  if (p === '/customer/register') return { name: 'customerRegister' };
  if (p === '/my/sites') return { name: 'mySites' };
  if (p === '/my/handovers') return { name: 'myHandovers' };
  if (p === '/my/requests') return { name: 'myRequests' };
  if (p === '/my/device-invitations') return { name: 'myDeviceInvitations' };
  const handoverOffer = /^\/handover\/([^/]+)$/.exec(p);
  if (handoverOffer?.[1]) return { name: 'handoverOffer', token: decodeURIComponent(handoverOffer[1]) };
  const sharingOffer = /^\/share\/([^/]+)$/.exec(p);
  if (sharingOffer?.[1]) return { name: 'sharingOffer', token: decodeURIComponent(sharingOffer[1]) };
  const siteHandover = /^\/sites\/([^/]+)\/handover$/.exec(p);
  if (siteHandover?.[1]) return { name: 'siteHandover', siteId: decodeURIComponent(siteHandover[1]) };
  const siteSharing = /^\/sites\/([^/]+)\/sharing$/.exec(p);
  if (siteSharing?.[1]) return { name: 'siteSharing', siteId: decodeURIComponent(siteSharing[1]) };
  const sitePermissions = /^\/sites\/([^/]+)\/permissions$/.exec(p);
  if (sitePermissions?.[1]) return { name: 'sitePermissions', siteId: decodeURIComponent(sitePermissions[1]) };
  const siteManagers = /^\/sites\/([^/]+)\/managers$/.exec(p);
  if (siteManagers?.[1]) return { name: 'siteManagers', siteId: decodeURIComponent(siteManagers[1]) };
  const moveDevices = /^\/sites\/([^/]+)\/move-devices$/.exec(p);
  if (moveDevices?.[1]) return { name: 'moveDevices', siteId: decodeURIComponent(moveDevices[1]) };
  const mySite = /^\/my\/sites\/([^/]+)$/.exec(p);
  if (mySite?.[1]) return { name: 'mySite', siteId: decodeURIComponent(mySite[1]) };
  const mySiteAccess = /^\/my\/sites\/([^/]+)\/access$/.exec(p);
  if (mySiteAccess?.[1]) return { name: 'mySiteAccess', siteId: decodeURIComponent(mySiteAccess[1]) };
  const invitation = /^\/invitation\/([^/]+)$/.exec(p);
  if (invitation?.[1]) return { name: 'invitation', token: decodeURIComponent(invitation[1]) };
  const siteCollaboration = /^\/sites\/([^/]+)\/collaboration$/.exec(p);
  if (siteCollaboration?.[1]) return { name: 'siteCollaboration', siteId: decodeURIComponent(siteCollaboration[1]) };
  const site = /^\/sites\/([^/]+)$/.exec(p);
  if (site?.[1]) return { name: 'site', siteId: decodeURIComponent(site[1]) };
  const onsite = /^\/sites\/([^/]+)\/on-site$/.exec(p);
  if (onsite?.[1]) return { name: 'onsite', siteId: decodeURIComponent(onsite[1]) };
  const arcService = /^\/sites\/([^/]+)\/arc$/.exec(p);
  if (arcService?.[1]) return { name: 'arcService', siteId: decodeURIComponent(arcService[1]) };
  const liveView = /^\/sites\/([^/]+)\/live$/.exec(p);
  if (liveView?.[1]) return { name: 'liveView', siteId: decodeURIComponent(liveView[1]) };
  const playback = /^\/sites\/([^/]+)\/playback$/.exec(p);
  if (playback?.[1]) return { name: 'playback', siteId: decodeURIComponent(playback[1]) };
  const siteEvents = /^\/sites\/([^/]+)\/events$/.exec(p);
  if (siteEvents?.[1]) return { name: 'siteEvents', siteId: decodeURIComponent(siteEvents[1]) };
  const deviceStorage = /^(?:\/sites\/([^/]+))?\/devices\/([^/]+)\/cloud-storage$/.exec(p);
  if (deviceStorage?.[2]) {
    return { name: 'deviceCloudStorage', siteId: deviceStorage[1] ? decodeURIComponent(deviceStorage[1]) : null, deviceId: decodeURIComponent(deviceStorage[2]) };
  }
  const device = /^\/sites\/([^/]+)\/devices\/([^/]+)$/.exec(p);
  if (device?.[1] && device[2]) return { name: 'device', siteId: decodeURIComponent(device[1]), deviceId: decodeURIComponent(device[2]) };
  return { name: 'notFound' };
}

export const current = $state({ path: window.location.pathname, search: window.location.search });

function sync(): void {
  current.path = window.location.pathname;
  current.search = window.location.search;
}

window.addEventListener('popstate', sync);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  sync();
}

/** Only same-site paths are followed after login, never another origin. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/sites';
}

/** Lets ordinary links navigate without a page load; modified clicks keep the browser's behaviour. */
export function interceptLinks(root: HTMLElement): () => void {
  const onClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const href = anchor.getAttribute('href');
    if (!href || href.startsWith('#')) return;
    const target = new URL(anchor.href, window.location.href);
    if (target.origin !== window.location.origin || target.pathname.startsWith('/api/')) return;
    event.preventDefault();
    if (target.pathname + target.search !== window.location.pathname + window.location.search) {
      navigate(target.pathname + target.search);
    }
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
