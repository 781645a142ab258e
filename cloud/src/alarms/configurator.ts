import { and, eq } from 'drizzle-orm';
import { RpcMethod } from '@vigil/protocol';
import { ArcServiceState } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcPanels, devices, edges } from '../db/schema.js';
import { BoxPusher } from '../edges/pusher.js';
import type { Tunnel, TunnelListener } from '../edges/tunnel.js';
import type { Vault } from '../security/vault.js';
import { relayConfigFor } from './config.js';

/**
 * Keeps each connected edge box's alarm relay configured from the ARC service: pushes `alarms.configure` when the box
 * connects, when the ARC service of its site's panels changes and when their ARC's receivers change. Pushes run in the
 * background, one at a time per box, always with the configuration as it is then; an offline box is skipped, as it
 * gets it when it connects.
 */
export class RelayConfigurator implements TunnelListener {
  private readonly pusher: BoxPusher;

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly tunnel: Tunnel,
    private readonly rpcTimeoutMs: number,
    private readonly log: { warn(o: object, m: string): void },
  ) {
    this.pusher = new BoxPusher(
      tunnel,
      async (serial) => void (await tunnel.call(serial, RpcMethod.alarmsConfigure, await relayConfigFor(db, vault, serial), rpcTimeoutMs)),
      'alarm relay configuration',
      log,
    );
    tunnel.listen(this);
  }

  /** Another box of the site may have to give up its panels to this one: the whole site is pushed. */
  edgeConnected(serial: string): void {
    void this.db
      .select({ siteId: edges.siteId })
      .from(edges)
      .where(eq(edges.serial, serial))
      .then(([edge]) => (edge?.siteId ? this.siteChanged(edge.siteId) : this.pusher.schedule(serial)))
      .catch((err: unknown) => this.log.warn({ err, serial }, 'alarm relay configuration not scheduled'));
  }

  /** The ARC service of the site's panels changed; returns at once. */
  siteChanged(siteId: string): void {
    void this.db
      .select({ serial: edges.serial })
      .from(edges)
      .where(eq(edges.siteId, siteId))
      .then((rows) => {
        for (const { serial } of rows) if (this.tunnel.isConnected(serial)) this.pusher.schedule(serial);
      })
      .catch((err: unknown) => this.log.warn({ err, siteId }, 'alarm relay configuration not scheduled'));
  }

  /** An ARC's receivers changed: every site with a panel it accepted gets the new routes. */
  arcChanged(arcCompanyId: string): void {
    void this.db
      .selectDistinct({ siteId: devices.siteId })
      .from(arcPanels)
      .innerJoin(devices, eq(devices.id, arcPanels.deviceId))
      .where(and(eq(arcPanels.arcCompanyId, arcCompanyId), eq(arcPanels.state, ArcServiceState.accepted)))
      .then((rows) => {
        for (const { siteId } of rows) this.siteChanged(siteId);
      })
      .catch((err: unknown) => this.log.warn({ err, arcCompanyId }, 'alarm relay configuration not scheduled'));
  }

  close(): void {
    this.pusher.close();
  }
}
