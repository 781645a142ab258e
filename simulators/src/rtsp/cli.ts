import { fail, ok, type Result } from '@vigil/protocol';
import { RtspServer, type RtspServerOptions } from './server.js';
import { resolveStreamSpec, type RtspCodec, type RtspStreamSpec } from './source.js';

export interface RtspSpec {
  server: RtspServerOptions;
  streams: { path: string; spec: RtspStreamSpec }[];
}

/** Printed once the server listens. */
export interface RtspReadyLine {
  ready: true;
  rtsp: number;
  streams: { path: string; url: string; codec: RtspCodec; width: number; height: number; audio: boolean }[];
}

const SERVER_KEYS = new Set(['host', 'port', 'username', 'password', 'basicAuth', 'sessionTimeoutSec', 'idleStopMs', 'streams']);

/**
 * Checks the spec of `vigil-sim rtsp`: `{"host"?, "port"?, "username"?, "password"?, "basicAuth"?,
 * "sessionTimeoutSec"?, "idleStopMs"?, "streams":[{"path":"/live/main","codec"?,"width"?,...}]}`. Never throws.
 */
export function parseRtspSpec(input: unknown): Result<RtspSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('the spec must be an object');
  const s = input as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!SERVER_KEYS.has(k)) return fail(`unknown field ${k}`);
  const server: RtspServerOptions = {};
  if (s.host !== undefined) {
    if (typeof s.host !== 'string') return fail('host must be a string');
    server.host = s.host;
  }
  for (const [key, max] of [
    ['port', 65535],
    ['sessionTimeoutSec', 3600],
    ['idleStopMs', 600_000],
  ] as const) {
    const v = s[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) return fail(`${key} must be an integer from 0 to ${max}`);
    server[key] = v;
  }
  if (server.sessionTimeoutSec === 0) return fail('sessionTimeoutSec must be at least 1');
  if ((s.username === undefined) !== (s.password === undefined)) return fail('username and password go together');
  if (s.username !== undefined) {
    if (typeof s.username !== 'string' || s.username === '' || typeof s.password !== 'string') return fail('username and password must be strings');
    server.account = { username: s.username, password: s.password };
  }
  if (s.basicAuth !== undefined) {
    if (typeof s.basicAuth !== 'boolean') return fail('basicAuth must be a boolean');
    server.basicAuth = s.basicAuth;
  }
  if (!Array.isArray(s.streams) || s.streams.length === 0) return fail('streams must be a non-empty array');
  const streams: RtspSpec['streams'] = [];
  const seen = new Set<string>();
  for (const [i, entry] of s.streams.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`streams[${i}] must be an object`);
    const { path, ...spec } = entry as Record<string, unknown>;
    if (typeof path !== 'string' || !/^\/[\w./-]{0,200}$/.test(path) || seen.has(path)) return fail(`streams[${i}].path must be a unique path like /live/main`);
    seen.add(path);
    const resolved = resolveStreamSpec(spec, path);
    if (!resolved.ok) return fail(`streams[${i}]: ${resolved.error}`);
    streams.push({ path, spec: spec as RtspStreamSpec });
  }
  return ok({ server, streams });
}

/** Starts the server of a spec and returns the ready line to print. */
export async function runRtsp(spec: RtspSpec): Promise<{ ready: RtspReadyLine; server: RtspServer; stop(): Promise<void> }> {
  const server = new RtspServer(spec.server);
  for (const s of spec.streams) server.addStream(s.path, s.spec);
  const { port } = await server.start();
  const streams = server.streams().map((s) => ({
    path: s.path,
    url: server.url(s.path),
    codec: s.spec.codec,
    width: s.spec.width,
    height: s.spec.height,
    audio: s.spec.audio,
  }));
  return { ready: { ready: true, rtsp: port, streams }, server, stop: () => server.stop() };
}
