import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EdgeConfig } from '../config.js';
import { createLogger } from '../log.js';

export const SERIAL = 'VGTEST0001';
export const CODE = 'ABC123def';

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  // Short path: unix socket paths are limited to about 100 bytes.
  const dir = await mkdtemp(path.join(os.tmpdir(), 've-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, over: Partial<EdgeConfig> = {}): EdgeConfig {
  return {
    serial: SERIAL,
    verificationCode: CODE,
    cloudUrl: 'http://127.0.0.1:1',
    mqttUrl: 'ws://127.0.0.1:1/mqtt',
    dataDir,
    probeTargets: [],
    deviceUser: 'admin',
    devicePassword: '',
    heartbeatSec: 1,
    discoveryIntervalMs: 300,
    lanInterfaceIp: '',
    sadpTargets: [],
    lanIntervalMs: 300,
    alarmListen: null,
    secretKey: null,
    ffmpegPath: 'ffmpeg',
    mediaMaxStreams: 32,
    clipQuotaBytes: 2048 * 1024 * 1024,
    logLevel: 'warn',
    ...over,
  };
}

export const quietLog = createLogger((process.env.VIGIL_TEST_LOG_LEVEL as 'debug' | undefined) ?? 'error');

/** Collects the agent's progress lines and waits for one that matches. */
export class Lines {
  readonly all: Record<string, unknown>[] = [];
  private waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  readonly push = (line: Record<string, unknown>): void => {
    this.all.push(line);
    for (const w of [...this.waiters]) {
      if (w.pred(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  /** The next matching line after the `skip` matching ones already seen. */
  waitFor(pred: (l: Record<string, unknown>) => boolean, skip = 0): Promise<Record<string, unknown>> {
    const past = this.all.filter(pred);
    if (past.length > skip) return Promise.resolve(past[skip] as Record<string, unknown>);
    let toSkip = skip - past.length;
    return new Promise((resolve) =>
      this.waiters.push({
        pred: (l) => pred(l) && toSkip-- <= 0,
        resolve,
      }),
    );
  }
}
