import type { IncomingMessage, ServerResponse } from 'node:http';

/** Requests larger than this are refused by every simulator. */
export const MAX_BODY = 256 * 1024;
/** The most latency a simulator can be told to add before each answer. */
export const MAX_LATENCY_MS = 60_000;

export function clampLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(Math.round(ms), MAX_LATENCY_MS);
}

/**
 * Checks a `/__sim/control` body: `reachable` and `latencyMs` for every simulator, plus the fields a
 * simulator adds through `extra` (which returns what is wrong with that field, or undefined).
 */
export function controlProblem(input: unknown, extra: Record<string, (v: unknown) => string | undefined> = {}): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'expected an object';
  for (const [k, v] of Object.entries(input)) {
    if (k === 'reachable') {
      if (typeof v !== 'boolean') return 'reachable must be a boolean';
    } else if (k === 'latencyMs') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_LATENCY_MS) return `latencyMs must be an integer from 0 to ${MAX_LATENCY_MS}`;
    } else if (Object.hasOwn(extra, k)) {
      const problem = extra[k]!(v);
      if (problem) return problem;
    } else return `unknown field ${k}`;
  }
  return undefined;
}

/** Reads a request body; `undefined` when it is larger than MAX_BODY. */
export function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) over = true;
    else chunks.push(c);
  });
  req.on('end', () => done(over ? undefined : Buffer.concat(chunks)));
  req.on('error', () => undefined);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
