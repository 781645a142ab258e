import { randomBytes } from 'node:crypto';
import type { Site } from '@vigil/protocol/api';
import { devices } from '../db/schema.js';
import { newSite, type ApiClient, type TestCloud } from './cloud.js';

/** A device written into the database on the site, online: a camera that reaches the cloud by itself (P2P) unless told. */
export async function insertDevice(cloud: TestCloud, companyId: string, siteId: string, fields: Partial<typeof devices.$inferInsert> = {}) {
  const serial = `DS${randomBytes(5).toString('hex').toUpperCase()}`;
  const [row] = await cloud.ctx.db
    .insert(devices)
    .values({
      companyId,
      siteId,
      deviceKey: serial,
      kind: 'camera',
      protocol: 'isapi',
      manufacturer: 'hikvision',
      model: 'DS-2CD2143G2',
      serial,
      shortSerial: serial.slice(-9),
      firmware: 'V5.7.0',
      name: `Camera ${serial.slice(-4)}`,
      host: '',
      port: 0,
      reportedOnline: true,
      reportedAt: new Date(),
      status: 'online',
      ...fields,
    })
    .returning();
  return row!;
}

/**
 * A site of the installer handed over by transfer to the customer through the handover API (asking for `permissions`),
 * with `count` devices; returns the site's id and its devices.
 */
export async function handedOverSite(
  cloud: TestCloud,
  installer: { client: ApiClient; companyId: string },
  customer: { client: ApiClient; email: string },
  opts: { count?: number; name?: string; permissions?: { permission: string; devices: number[]; validity: string }[]; kind?: string } = {},
) {
  const siteId = await newSite(installer.client, opts.name ? { name: opts.name } : {});
  const list: (typeof devices.$inferSelect)[] = [];
  for (let i = 0; i < (opts.count ?? 2); i++) list.push(await insertDevice(cloud, installer.companyId, siteId, opts.kind ? { kind: opts.kind } : {}));
  const permissions = (opts.permissions ?? []).map((p) => ({ permission: p.permission, deviceIds: p.devices.map((i) => list[i]!.id), validity: p.validity }));
  const sent = await installer.client.post(`/sites/${siteId}/handover`, { channel: 'email', recipient: customer.email, permissions });
  if (sent.status !== 201) throw new Error(`handover refused: ${sent.status} ${JSON.stringify(sent.body)}`);
  const waiting = await customer.client.get<{ items: { id: string; siteId: string }[] }>('/customer/handovers');
  const offer = waiting.body.items.find((h) => h.siteId === siteId)!;
  const accepted = await customer.client.post(`/customer/handovers/${offer.id}/accept`);
  if (accepted.status !== 200) throw new Error(`accepting the handover failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  return { siteId, devices: list };
}

/** The site's status as its installer reads it. */
export async function siteStatus(client: ApiClient, siteId: string): Promise<string> {
  return (await client.get<Site>(`/sites/${siteId}`)).body.status;
}
