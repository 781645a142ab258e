/** Helpers for the panel tests: panels wired to an ARC receiver simulator on loopback. */
import { DigestClient, parseResponseStatus, type ResponseStatus } from '@vigil/protocol';
import { Dc09ReceiverSimulator, type Dc09ReceiverOptions, type ReceivedDc09Message } from '../receiver/receiver.js';
import { AlarmPanel, type AlarmPanelOptions, type AlarmPanelState, type PanelArcSettingsInput } from './panel.js';

export const KEY_128 = '000102030405060708090A0B0C0D0E0F';

/** Everything started by a test, stopped by `close()` in afterEach. */
export class PanelLab {
  private readonly running: { stop(): Promise<void> | void }[] = [];

  async receiver(opts: Dc09ReceiverOptions = {}): Promise<Dc09ReceiverSimulator> {
    const r = new Dc09ReceiverSimulator(opts);
    this.running.push(r);
    await r.start();
    return r;
  }

  async panel(opts: AlarmPanelOptions): Promise<AlarmPanel> {
    const p = new AlarmPanel(opts);
    this.running.push(p);
    await p.start();
    return p;
  }

  /** Stops `thing` with the rest. */
  add(thing: { stop(): Promise<void> | void }): void {
    this.running.push(thing);
  }

  async close(): Promise<void> {
    await Promise.all(this.running.splice(0).map((r) => r.stop()));
  }
}

/** ARC settings sending to `r` as account 1234 over TCP (unless overridden). */
export function arcTo(r: Dc09ReceiverSimulator, over: PanelArcSettingsInput = {}): PanelArcSettingsInput {
  const transport = over.receiver?.transport ?? 'tcp';
  return {
    enabled: true,
    accountCode: '1234',
    impulseCountingTimeSec: 1,
    ...over,
    receiver: { host: '127.0.0.1', port: transport === 'udp' ? r.endpoints.udp : r.endpoints.tcp, transport },
  };
}

/** The receiver's next `count` accepted messages that match `filter`. */
export function nextMessages(r: Dc09ReceiverSimulator, count: number, filter: (m: ReceivedDc09Message) => boolean = () => true): Promise<ReceivedDc09Message[]> {
  return new Promise((resolve) => {
    const got: ReceivedDc09Message[] = [];
    const on = (m: ReceivedDc09Message): void => {
      if (!filter(m)) return;
      got.push(m);
      if (got.length < count) return;
      r.off('message', on);
      resolve(got);
    };
    r.on('message', on);
  });
}

/** Resolves with the first emission of `event` whose arguments satisfy `match`. */
export function when<A extends unknown[]>(
  emitter: { on(event: string, fn: (...args: A) => void): unknown; off(event: string, fn: (...args: A) => void): unknown },
  event: string,
  match: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve) => {
    const on = (...args: A): void => {
      if (!match(...args)) return;
      emitter.off(event, on);
      resolve(args);
    };
    emitter.on(event, on);
  });
}

/** Resolves once everything the panel queued for its ARC is acknowledged. */
export async function drained(p: AlarmPanel): Promise<void> {
  if (p.arc.queued > 0) await when(p.arc, 'delivered', () => p.arc.queued === 0);
}

/** An ISAPI request with Digest authentication (admin / Abcd12345). */
export async function isapi(p: AlarmPanel, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await new DigestClient('admin', 'Abcd12345').fetch(`http://127.0.0.1:${p.endpoints.httpPort}${path}`, { method, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text() };
}

export function responseOf(text: string): ResponseStatus {
  const r = parseResponseStatus(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export async function simControl(p: AlarmPanel, body: unknown): Promise<{ status: number; json: AlarmPanelState & { message?: string; subStatus?: string } }> {
  const res = await fetch(`http://127.0.0.1:${p.endpoints.httpPort}/__sim/control`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as AlarmPanelState & { message?: string; subStatus?: string } };
}

/** Milliseconds between consecutive ISO times. */
export const gaps = (times: readonly string[]): number[] => times.slice(1).map((t, i) => Date.parse(t) - Date.parse(times[i]!));
