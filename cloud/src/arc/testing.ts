import { randomBytes } from 'node:crypto';
import type { ArcCredentialsReply, Device } from '@vigil/protocol/api';
import { ApiClient } from '../testing/cloud.js';
import type { EdgePlayers } from '../testing/edge.js';

/** Test scenarios of the ARC service: companies on both sides and panels on sites. */

/** Registers an ARC company, applies and completes its ARC ID & key configuration: it is on the list. */
export async function registerArc(api: string, name: string, opts: { countryCode?: string; listed?: boolean } = {}) {
  const client = new ApiClient(api);
  const email = `arc.${randomBytes(4).toString('hex')}@example.test`;
  const password = 'Receiving-Centre9';
  const registered = await client.post<{ company: { id: string } }>('/companies', {
    company: { name, type: 'alarm_receiving_center', countryCode: opts.countryCode ?? 'GB' },
    admin: { name: 'Operator', email, password },
  });
  if (registered.status !== 201) throw new Error(`ARC registration failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const applied = await client.post<ArcCredentialsReply>('/arc/profile', { contactEmail: email, description: `${name}, 24/7` });
  if (applied.status !== 201) throw new Error(`ARC application failed: ${applied.status} ${JSON.stringify(applied.body)}`);
  if (opts.listed !== false) await client.post('/arc/profile/config-completed');
  return { client, email, password, companyId: registered.body.company.id, arcId: applied.body.profile.arcId!, arcKey: applied.body.arcKey };
}

let panels = 0;
/** An AX PRO connected by itself (P2P) and added to the site by serial and verification code. */
export async function addPanel(players: EdgePlayers, installer: ApiClient, siteId: string, name = 'AX PRO'): Promise<string> {
  // Each test file has its own cloud, so a counter keeps serials apart.
  const serial = `P${String(++panels).padStart(8, '0')}`;
  await players.p2pDevice(serial, 'ABCDEF', { serial, deviceClass: 'alarm_panel', model: 'DS-PWA96-M-WE', firmware: 'V1.2.9', name, channels: 0 });
  const added = await installer.post<Device>(`/sites/${siteId}/devices/by-serial`, { serial, verificationCode: 'ABCDEF', name });
  if (added.status !== 201) throw new Error(`adding the panel failed: ${added.status} ${JSON.stringify(added.body)}`);
  return added.body.id;
}
