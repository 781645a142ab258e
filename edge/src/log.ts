import type { LogLevel } from './config.js';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function errorFields(v: unknown): unknown {
  return v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
}

/** One JSON line per event on stderr; stdout is reserved for the lines a harness waits on. */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  const min = rank[level];
  const write = (lvl: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
    if (rank[lvl] < min) return;
    const out: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...base };
    for (const [k, v] of Object.entries(fields)) out[k] = errorFields(v);
    process.stderr.write(`${JSON.stringify(out)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

let stdoutBroken = false;

/** Machine-readable progress lines on stdout (documented in edge/README.md). */
export function announce(line: Record<string, unknown>): void {
  if (stdoutBroken) return;
  if (process.stdout.listenerCount('error') === 0) {
    // A reader that went away (EPIPE) must not bring the agent down.
    process.stdout.on('error', (err) => {
      stdoutBroken = true;
      process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'stdout closed; progress lines stop', err: err.message })}\n`);
    });
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
