import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root, where the built entry points live. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The built entry points the harness starts: the same files the images and `npm start` run. */
export const ENTRY = {
  cloud: join(ROOT, 'cloud/dist/main.js'),
  edge: join(ROOT, 'edge/dist/main.js'),
  sim: join(ROOT, 'simulators/dist/cli.js'),
} as const;

export type Json = Record<string, unknown>;

export interface Proc {
  name: string;
  pid: number;
  /** Where its stderr (and a copy of stdout) goes. */
  logPath: string;
  /** Every JSON line the process printed on stdout, in order. */
  lines: Json[];
  /** Resolves with the first line (already printed or still to come) that matches. */
  waitFor(match: (line: Json) => boolean, what: string, timeoutMs?: number): Promise<Json>;
  /** Resolves with the exit code (-1 when killed by a signal); never rejects. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL to the whole process group if it has not gone after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole process group: a power cut. */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** A built entry point run with this Node, or any `command`. */
  entry?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  logDir: string;
  /**
   * A network namespace (see lan.ts) to run in: the process is started as `ip netns exec <netns> ...`,
   * which execs in place, so the pid and process group are the process's own.
   */
  netns?: string;
}

const running = new Set<Proc>();
process.on('exit', () => {
  for (const p of running) signal(p.pid, 'SIGKILL');
});

/**
 * Starts a process in its own process group (so stopping it stops what it started too). stderr goes to
 * `{logDir}/{name}.log`, and its tail is in the error when the process dies while being waited on.
 */
export function spawnProcess(opts: SpawnOptions): Proc {
  mkdirSync(opts.logDir, { recursive: true });
  const logPath = join(opts.logDir, `${opts.name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const [bare, bareArgs] = opts.command ? [opts.command, opts.args ?? []] : [process.execPath, [opts.entry!, ...(opts.args ?? [])]];
  const [command, args] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, bare, ...bareArgs]] : [bare, bareArgs];
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, VIGIL_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${command}`);
  const pid = child.pid;
  const lines: Json[] = [];
  const waiters = new Set<{ match: (l: Json) => boolean; resolve: (l: Json) => void }>();
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    log.write(`[stdout] ${text}\n`);
    let line: Json;
    try {
      line = JSON.parse(text) as Json;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters) {
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  let dead = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, sig) => {
      dead = true;
      running.delete(proc);
      log.end();
      resolve(code ?? (sig ? -1 : null));
    }),
  );

  const proc: Proc = {
    name: opts.name,
    pid,
    logPath,
    lines,
    waitFor(match, what, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (l: Json) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`${opts.name}: timed out after ${timeoutMs} ms waiting for ${what}; see ${logPath}; stderr tail:\n${tail}`));
        }, timeoutMs);
        waiters.add(w);
        void exited.then((code) => {
          if (!waiters.has(w)) return;
          waiters.delete(w);
          clearTimeout(timer);
          reject(new Error(`${opts.name} exited with ${code} while waiting for ${what}; see ${logPath}; stderr tail:\n${tail}`));
        });
      });
    },
    exited,
    async stop(graceMs = 10_000) {
      if (dead) return;
      signal(pid, 'SIGTERM');
      const timer = setTimeout(() => signal(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signal(pid, 'SIGKILL'); // whatever of the group is left
    },
    async kill() {
      signal(pid, 'SIGKILL');
      await exited;
    },
  };
  running.add(proc);
  return proc;
}

/** Starts a process and waits for its first stdout JSON line that `ready` accepts. */
export async function startProcess(opts: SpawnOptions & { ready: (line: Json) => boolean; timeoutMs?: number }): Promise<Proc> {
  const proc = spawnProcess(opts);
  try {
    await proc.waitFor(opts.ready, 'its ready line', opts.timeoutMs ?? 60_000);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return proc;
}

/** Signals a whole process group (the process and the children it started). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone already
  }
}

/** Polls a condition observable from outside (an API answer) until it holds. */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
