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
export const CUSTOMER_ROUTES = new Set<Route['name']>(['mySites', 'mySite', 'mySiteAccess', 'myHandovers', 'myRequests', 'myDeviceInvitations']);

/** A site's sections, at `/sites/:siteId/<section>`. */
const SITE_SECTIONS = {
  'on-site': 'onsite',
  arc: 'arcService',
  live: 'liveView',
  playback: 'playback',
  events: 'siteEvents',
  collaboration: 'siteCollaboration',
  handover: 'siteHandover',
  sharing: 'siteSharing',
  permissions: 'sitePermissions',
  managers: 'siteManagers',
  'move-devices': 'moveDevices',
} as const satisfies Record<string, Route['name']>;

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
  const mySite = /^\/my\/sites\/([^/]+)$/.exec(p);
  if (mySite?.[1]) return { name: 'mySite', siteId: decodeURIComponent(mySite[1]) };
  const mySiteAccess = /^\/my\/sites\/([^/]+)\/access$/.exec(p);
  if (mySiteAccess?.[1]) return { name: 'mySiteAccess', siteId: decodeURIComponent(mySiteAccess[1]) };
  const invitation = /^\/invitation\/([^/]+)$/.exec(p);
  if (invitation?.[1]) return { name: 'invitation', token: decodeURIComponent(invitation[1]) };
  const site = /^\/sites\/([^/]+)$/.exec(p);
  if (site?.[1]) return { name: 'site', siteId: decodeURIComponent(site[1]) };
  const section = /^\/sites\/([^/]+)\/([^/]+)$/.exec(p);
  if (section?.[1] && section[2] && Object.hasOwn(SITE_SECTIONS, section[2])) {
    return { name: SITE_SECTIONS[section[2] as keyof typeof SITE_SECTIONS], siteId: decodeURIComponent(section[1]) };
  }
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
