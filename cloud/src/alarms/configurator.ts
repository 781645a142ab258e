import { and, eq } from 'drizzle-orm';
import { RpcMethod } from '@vigil/protocol';
import { ArcServiceState } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcPanels, devices, edges } from '../db/schema.js';
import type { Tunnel, TunnelListener } from '../edges/tunnel.js';
import type { Vault } from '../security/vault.js';
import { relayConfigFor } from './config.js';

/** Changes close together (a site's panels decided one after another) make one push. */
const DEBOUNCE_MS = 100;
/** A push the edge failed or did not answer is retried, waiting twice as long each time. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

interface PushState {
  timer: NodeJS.Timeout | null;
  running: boolean;
  /** Something changed while a push was on its way: push again once it ends. */
  again: boolean;
  failures: number;
}

/**
 * Keeps each connected edge box's alarm relay configured from the ARC service: pushes `alarms.configure` when the box
 * connects, when the ARC service of its site's panels changes and when their ARC's receivers change. Pushes run in the
 * background, one at a time per box, always with the configuration as it is then; an offline box is skipped, as it
 * gets it when it connects.
 */
export class RelayConfigurator implements TunnelListener {
  private readonly states = new Map<string, PushState>();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly tunnel: Tunnel,
    private readonly rpcTimeoutMs: number,
    private readonly log: { warn(o: object, m: string): void },
  ) {
    tunnel.listen(this);
  }

  /** Another box of the site may have to give up its panels to this one: the whole site is pushed. */
  edgeConnected(serial: string): void {
    void this.db
      .select({ siteId: edges.siteId })
      .from(edges)
      .where(eq(edges.serial, serial))
      .then(([edge]) => (edge?.siteId ? this.siteChanged(edge.siteId) : this.schedule(serial)))
      .catch((err: unknown) => this.log.warn({ err, serial }, 'alarm relay configuration not scheduled'));
  }

  /** The ARC service of the site's panels changed; returns at once. */
  siteChanged(siteId: string): void {
    void this.db
      .select({ serial: edges.serial })
      .from(edges)
      .where(eq(edges.siteId, siteId))
      .then((rows) => {
        for (const { serial } of rows) if (this.tunnel.isConnected(serial)) this.schedule(serial);
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

  private schedule(serial: string): void {
    let state = this.states.get(serial);
    if (!state) this.states.set(serial, (state = { timer: null, running: false, again: false, failures: 0 }));
    state.failures = 0;
    this.arm(serial, state, DEBOUNCE_MS);
  }

  private arm(serial: string, state: PushState, delayMs: number): void {
    if (this.closed) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = setTimeout(() => void this.push(serial, state), delayMs);
    state.timer.unref();
  }

  private async push(serial: string, state: PushState): Promise<void> {
    state.timer = null;
    if (state.running) {
      state.again = true;
      return;
    }
    if (this.tunnel.isConnected(serial)) {
      state.running = true;
      try {
        const params = await relayConfigFor(this.db, this.vault, serial);
        await this.tunnel.call(serial, RpcMethod.alarmsConfigure, params, this.rpcTimeoutMs);
        state.failures = 0;
      } catch (err) {
        // A box that went away gets the configuration when it connects again.
        if (this.tunnel.isConnected(serial) && !state.again) {
          state.failures += 1;
          const delayMs = Math.min(RETRY_FIRST_MS * 2 ** (state.failures - 1), RETRY_MAX_MS);
          this.log.warn({ err, serial, retryInMs: delayMs }, 'alarm relay configuration failed');
          this.arm(serial, state, delayMs);
        }
      } finally {
        state.running = false;
      }
    }
    if (state.again) {
      state.again = false;
      this.arm(serial, state, 0);
    } else if (!state.timer && this.states.get(serial) === state) {
      this.states.delete(serial);
    }
  }

  close(): void {
    this.closed = true;
    for (const state of this.states.values()) if (state.timer) clearTimeout(state.timer);
    this.states.clear();
  }
}
