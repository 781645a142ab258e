import type { CustomerDevice, CustomerRegisterBody, CustomerSite, MeReply } from '@vigil/protocol/api';
import { request } from './api';

/** The customer's calls: registering, and the sites it owns or that are shared with it (protocol/src/api/customers.ts). */
const enc = encodeURIComponent;

export const customerApi = {
  register: (body: CustomerRegisterBody) => request<MeReply>('POST', '/customer/register', { body }),
  sites: () => request<{ items: CustomerSite[] }>('GET', '/customer/sites'),
  site: (siteId: string) => request<CustomerSite>('GET', `/customer/sites/${enc(siteId)}`),
  devices: (siteId: string) => request<{ items: CustomerDevice[] }>('GET', `/customer/sites/${enc(siteId)}/devices`),
};

export const RELATION_LABELS: Record<CustomerSite['relation'], string> = { owner: 'Owner', shared: 'Shared with you' };
