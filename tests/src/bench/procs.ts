import { createConnection, createServer } from 'node:net';
import { spawnProcess, type Proc } from '../harness/process.js';

/** Releases run last-in first-out on exit, on error and on a signal; each runs at most once. */
const releases: { name: string; run: () => Promise<void> }[] = [];
let closing = false;
let draining: Promise<void> = Promise.resolve();

export const isClosing = (): boolean => closing;

export function onRelease(name: string, fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const run = () => (done ??= fn());
  releases.push({ name, run });
  // Something created while shutting down (a database whose CREATE was in flight) goes at once.
  if (closing) void releaseAll();
  return run;
}

/** Drains the releases; concurrent callers share one queue, so each resolves only once all are done. */
export function releaseAll(): Promise<void> {
  draining = draining.then(async () => {
    while (releases.length > 0) {
      const r = releases.pop()!;
      try {
        await r.run();
      } catch (err) {
        process.stderr.write(`bench: releasing ${r.name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  });
  return draining;
}

/**
 * On SIGINT or SIGTERM, stop the children at once; whatever was waiting on them then fails and the
 * normal path releases the rest before exiting. A second signal exits immediately.
 */
export function releaseOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (closing) process.exit(130);
      closing = true;
      process.stderr.write(`bench: ${sig}, stopping\n`);
      void releaseAll();
    });
  }
}

/** Starts a command in its own process group (the harness's), stopped when the bench releases. */
export function spawnGroup(name: string, command: string, args: string[], env: Record<string, string>, logDir: string): Proc {
  if (closing) throw new Error(`${name}: not started, the bench is shutting down`);
  const proc = spawnProcess({ name, command, args, env, logDir });
  onRelease(name, () => proc.stop(5000));
  return proc;
}

/** A port nobody listens on right now (the kernel's pick from the ephemeral range). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until a TCP connect to the port succeeds, for servers that print no ready line. */
export async function waitForTcp(port: number, child: Proc, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void child.exited.then((c) => (exitCode = c));
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ port, host: '127.0.0.1' });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (exitCode !== undefined) throw new Error(`${child.name} exited with ${exitCode}; see ${child.logPath}`);
    if (Date.now() > end) throw new Error(`${child.name}: port ${port} not listening after ${timeoutMs} ms; see ${child.logPath}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
