import { eq } from 'drizzle-orm';
import { DeviceAccessMode } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { devices } from '../db/schema.js';
import type { Presence } from '../edges/presence.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Vault } from '../security/vault.js';
import { readDeviceInfo, type DeviceLogin } from './client.js';

type Login = Pick<DeviceLogin, 'username' | 'password'>;

/** The login kept for a device, sealed for that device alone. */
export const sealLogin = (vault: Vault, serial: string, login: Login): string =>
  vault.seal(JSON.stringify({ username: login.username, password: login.password }), `ip-domain:${serial}`);

const openLogin = (vault: Vault, serial: string, sealed: string): Login => JSON.parse(vault.open(sealed, `ip-domain:${serial}`)) as Login;

const KIND = 'ip-domain.poll';
const PARALLEL = 8;

/**
 * The presence of IP/domain devices: nothing connects to the cloud for them, so the cloud logs in to each one
 * every poll period; one that does not answer, or refuses the login, is reported offline (declared offline after
 * its offline delay, like every device). A keyed durable job starts each round, so one node polls; the round runs
 * beside the job queue, whose offline declarations must not wait for slow devices.
 */
export class IpDomainMonitor {
  private round: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue,
    private readonly presence: Presence,
    private readonly vault: Vault,
    private readonly opts: { pollSec: number; allowPrivate: boolean },
    private readonly log: { warn(o: object, m: string): void },
  ) {
    jobs.handle(KIND, async () => {
      this.round ??= this.pollAll()
        .catch((err: unknown) => this.log.warn({ err }, 'IP/domain poll failed'))
        .finally(() => (this.round = null));
      await this.schedule();
    });
  }

  schedule(): Promise<void> {
    return this.jobs.schedule(KIND, KIND, new Date(Date.now() + this.opts.pollSec * 1000));
  }

  /** Waits for a round in progress (at shutdown). */
  async stop(): Promise<void> {
    await this.round;
  }

  async pollAll(): Promise<void> {
    const rows = await this.db.select().from(devices).where(eq(devices.accessMode, DeviceAccessMode.ipDomain));
    for (let i = 0; i < rows.length; i += PARALLEL) {
      await Promise.all(rows.slice(i, i + PARALLEL).map((d) => this.poll(d)));
    }
  }
  private async poll(d: typeof devices.$inferSelect): Promise<void> {
    let online = false;
    let why = 'no credentials';
    if (d.credentialsSealed) {
      try {
        const login = openLogin(this.vault, d.serial, d.credentialsSealed);
        // A round never outlasts the poll period.
        const info = await readDeviceInfo({ address: d.host, port: d.port, ...login }, this.opts.allowPrivate, Math.min(5000, this.opts.pollSec * 1000));
        online = info.serialNumber === d.serial;
        why = online ? 'answered' : `another device (${info.serialNumber}) answers at ${d.host}:${d.port}`;
      } catch (e) {
        why = e instanceof Error ? e.message : String(e);
      }
    }
    await this.presence.directReport(d.id, online, new Date(), online ? 'answered at its IP/domain' : why.slice(0, 200));
  }
}
