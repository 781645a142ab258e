import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Proc } from '../harness/process.js';
import { freePort, spawnGroup, waitForTcp } from './procs.js';

export interface MosquittoChild {
  pid: number;
  port: number;
  version: string;
  stop(): Promise<void>;
}

/**
 * A private Mosquitto on a free high port, so nothing else on the machine shares its CPU or its
 * sessions. The configuration is written out rather than left to defaults so the run is reproducible;
 * TCP_NODELAY is on so the baseline is not handicapped by Nagle's algorithm on its small PUBACKs.
 */
export async function startMosquitto(logDir: string): Promise<MosquittoChild> {
  const port = await freePort();
  const conf = join(logDir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  const child: Proc = spawnGroup('mosquitto', 'mosquitto', ['-c', conf], {}, logDir);
  await waitForTcp(port, child, 10_000);
  return { pid: child.pid, port, version: await mosquittoVersion(), stop: () => child.stop() };
}

async function mosquittoVersion(): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    // `mosquitto -h` prints the version and exits non-zero; the text is what we want.
    execFile('mosquitto', ['-h'], (_err, stdout) => resolve(/mosquitto version (\S+)/.exec(stdout)?.[1] ?? 'unknown'));
  });
}
