import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

type Json = Record<string, unknown>;

/** Releases run last-in first-out on exit, on error and on a signal; each runs at most once. */
const releases: { name: string; run: () => Promise<void> }[] = [];
const groups = new Set<number>();
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

// Last resort when the process ends without releaseAll (an uncaught throw): no broker outlives the bench.
process.on('exit', () => {
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export interface Child {
  name: string;
  pid: number;
  logPath: string;
  exited: Promise<number | null>;
  /** Resolves with the first stdout JSON line that matches; rejects if the child dies or time runs out. */
  waitForLine(match: (line: Json) => boolean, timeoutMs: number): Promise<Json>;
  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a command in its own process group, its output in `{logDir}/{name}.log`. */
export function spawnGroup(name: string, command: string, args: string[], env: Record<string, string>, logDir: string): Child {
  if (closing) throw new Error(`${name}: not started, the bench is shutting down`);
  const logPath = join(logDir, `${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  groups.add(pid);
  let tail = '';
  const lines: Json[] = [];
  const waiters = new Set<(line: Json) => void>();
  child.stderr.on('data', (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-3000);
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    log.write(`${text}\n`);
    if (!text.startsWith('{')) return;
    let line: Json;
    try {
      line = JSON.parse(text) as Json;
    } catch {
      return; // a log line that merely starts with a brace
    }
    lines.push(line);
    for (const w of waiters) w(line);
  });
  let dead = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, sig) => {
      dead = true;
      groups.delete(pid);
      log.end();
      resolve(code ?? (sig ? -1 : null));
    }),
  );

  const self: Child = {
    name,
    pid,
    logPath,
    exited,
    waitForLine(match, timeoutMs) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`${name}: no ready line within ${timeoutMs} ms; see ${logPath}\n${tail}`)), timeoutMs);
        const finish = (outcome: Json | Error) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
        const waiter = (line: Json) => {
          if (match(line)) finish(line);
        };
        waiters.add(waiter);
        void exited.then((code) => {
          if (waiters.has(waiter)) finish(new Error(`${name} exited with ${code} before it was ready; see ${logPath}\n${tail}`));
        });
      });
    },
    async stop(graceMs = 5000) {
      if (dead) return;
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup(pid, 'SIGKILL'); // anything the child left in its group
    },
  };
  onRelease(name, () => self.stop());
  return self;
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
export async function waitForTcp(port: number, child: Child, timeoutMs: number): Promise<void> {
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
