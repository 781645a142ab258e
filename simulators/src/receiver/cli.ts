import { parseArgs } from 'node:util';
import { fail, ok, parseDc09Key, type Result } from '@vigil/protocol';
import { MAX_LATENCY_MS } from '../http.js';
import { Dc09ReceiverSimulator, type Dc09ReceiverEndpoints, type Dc09ReceiverOptions } from './receiver.js';

/** Printed once the receiver listens. */
export interface ReceiverReadyLine extends Dc09ReceiverEndpoints {
  ready: true;
}

const PORT = /^\d{1,5}$/;
const INT = /^\d{1,9}$/;

/**
 * Parses the arguments of `vigil-sim receiver` (after `receiver`): `--account ACCT` for an unencrypted
 * account, `--account ACCT:KEYHEX` for an encrypted one (repeatable; none means any unencrypted account).
 * Never throws.
 */
export function parseReceiverArgs(argv: readonly string[]): Result<Dc09ReceiverOptions> {
  let values: { [k: string]: string | boolean | string[] | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        'tcp-port': { type: 'string' },
        'udp-port': { type: 'string' },
        'http-port': { type: 'string' },
        account: { type: 'string', multiple: true },
        'delay-ms': { type: 'string' },
        'dedup-window-ms': { type: 'string' },
        silent: { type: 'boolean' },
      },
    }));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const opts: Dc09ReceiverOptions = {};
  for (const [flag, field] of [
    ['tcp-port', 'tcpPort'],
    ['udp-port', 'udpPort'],
    ['http-port', 'httpPort'],
  ] as const) {
    const v = values[flag];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !PORT.test(v) || Number(v) > 65535) return fail(`--${flag} must be a port number (0 picks a free one)`);
    opts[field] = Number(v);
  }
  if (typeof values.host === 'string') opts.host = values.host;
  const delay = values['delay-ms'];
  if (delay !== undefined) {
    if (typeof delay !== 'string' || !INT.test(delay) || Number(delay) > MAX_LATENCY_MS) return fail(`--delay-ms must be an integer from 0 to ${MAX_LATENCY_MS}`);
    opts.delayMs = Number(delay);
  }
  const window = values['dedup-window-ms'];
  if (window !== undefined) {
    if (typeof window !== 'string' || !INT.test(window)) return fail('--dedup-window-ms must be a non-negative integer');
    opts.dedupWindowMs = Number(window);
  }
  if (values.silent === true) opts.silent = true;
  const specs = values.account;
  if (Array.isArray(specs)) {
    const accounts: Record<string, string | null> = {};
    for (const spec of specs) {
      const [account = '', key, ...extra] = spec.split(':');
      if (!/^[0-9A-Za-z]{1,16}$/.test(account) || extra.length > 0) return fail(`--account ${spec}: expected ACCOUNT or ACCOUNT:KEYHEX`);
      if (key !== undefined) {
        const k = parseDc09Key(key);
        if (!k.ok) return fail(`--account ${account}: ${k.error}`);
      }
      accounts[account] = key ?? null;
    }
    opts.accounts = accounts;
  }
  return ok(opts);
}

/** Starts a receiver and returns the ready line to print. */
export async function runReceiver(opts: Dc09ReceiverOptions): Promise<{ ready: ReceiverReadyLine; receiver: Dc09ReceiverSimulator; stop(): Promise<void> }> {
  const receiver = new Dc09ReceiverSimulator(opts);
  const endpoints = await receiver.start();
  return { ready: { ready: true, ...endpoints }, receiver, stop: () => receiver.stop() };
}
