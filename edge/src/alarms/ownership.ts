import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';

const MAX_SOCKET_PATH = 100;
/** How long a starting relay waits for the running one to let go before killing it. */
const HANDOVER_TIMEOUT_MS = 10_000;

/** The socket the running relay of a data dir answers on: in the data dir when its path is short enough. */
export function ownerSocketPath(dataDir: string): string {
  const inDir = path.join(dataDir, 'alarms.sock');
  if (inDir.length <= MAX_SOCKET_PATH) return inDir;
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `vigil-alarms-${id}.sock`);
}

/**
 * One relay process at a time owns a data dir's queue and panel port. A relay outlives its agent for a while
 * (it keeps relaying while the agent restarts), so a starting relay first asks the running one, through a
 * local socket, to let go, and waits until it has stopped.
 */
export class RelayOwnership {
  private handover: (() => Promise<void>) | null = null;

  private constructor(private readonly server: Server) {}

  static async acquire(file: string, log: Logger): Promise<RelayOwnership> {
    await handOverFrom(file, log);
    await rm(file, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const ownership = new RelayOwnership(server);
    server.on('connection', (conn) => {
      conn.on('error', () => undefined);
      // The successor learns the pid, to end this process should it fail to let go in time.
      conn.write(String(process.pid));
      const handover = ownership.handover ?? (() => Promise.resolve());
      handover()
        .catch((err: unknown) => log.error('handing over the relay failed', { err }))
        .finally(() => conn.destroy());
    });
    return ownership;
  }

  /** What to do when a successor asks; its connection closes once `fn` has resolved. */
  onHandover(fn: () => Promise<void>): void {
    this.handover = fn;
  }

  /**
   * Stops answering and removes the socket at once, so that a successor can take the place; the successor's own
   * connection, still open, does not hold it up.
   */
  release(): void {
    this.server.close();
  }
}

/** Asks a running relay to let go and waits until it has (or until it is killed); returns at once if none runs. */
function handOverFrom(file: string, log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(file);
    let pid = 0;
    const timer = setTimeout(() => {
      log.warn('the previous relay did not let go in time: killing it', { pid });
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch (err) {
        log.warn('the previous relay could not be killed', { pid, err });
      }
      s.destroy();
    }, HANDOVER_TIMEOUT_MS);
    s.on('connect', () => log.info('taking over from the relay still running'));
    s.on('data', (d: Buffer) => {
      pid = Number(d.toString('utf8')) || pid;
    });
    // No one listening (ENOENT, ECONNREFUSED) ends like a finished handover: with the connection closed.
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
