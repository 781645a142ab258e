import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { crc16Arc, crcHex, decodeDc09Frame, Dc09FrameSplitter, encodeDc09Frame, type Dc09Key, type Dc09Message, type Dc09Outgoing } from '@vigil/protocol';
import { parseReceiverArgs } from './cli.js';
import { Dc09ReceiverSimulator, type Dc09ReceiverOptions, type Dc09ReceiverState } from './receiver.js';

const KEY_128 = '000102030405060708090A0B0C0D0E0F';
const KEY_256 = 'F0E1D2C3B4A5968778695A4B3C2D1E0FF0E1D2C3B4A5968778695A4B3C2D1E0F';
const DEADLINE_MS = 5000;

const receivers: Dc09ReceiverSimulator[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

async function startReceiver(opts: Dc09ReceiverOptions = {}): Promise<Dc09ReceiverSimulator> {
  const r = new Dc09ReceiverSimulator(opts);
  receivers.push(r);
  await r.start();
  return r;
}

function frame(msg: Partial<Dc09Outgoing> = {}): Buffer {
  const r = encodeDc09Frame({ id: 'SIA-DCS', sequence: 1, account: '1234', data: '#1234|Nri1/BA01', ...msg } as Dc09Outgoing);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** A frame with a correct CRC and length around any body. */
function wrap(body: string): Buffer {
  return Buffer.from(`\n${crcHex(crc16Arc(body))}${body.length.toString(16).toUpperCase().padStart(4, '0')}${body}\r`, 'latin1');
}

/** A TCP connection to the receiver that collects its answers frame by frame. */
class TcpPeer {
  private readonly splitter = new Dc09FrameSplitter();
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.splitter.push(chunk).frames);
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<TcpPeer> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new TcpPeer(socket);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The next answer, or a failure once the deadline passes. */
  async next(deadlineMs = DEADLINE_MS): Promise<Buffer> {
    const end = Date.now() + deadlineMs;
    while (this.frames.length === 0) {
      const left = end - Date.now();
      if (left <= 0) throw new Error('no answer before the deadline');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.frames.shift()!;
  }

  get received(): number {
    return this.frames.length;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends datagrams from one socket and returns the answers received until `count` arrived or the deadline. */
async function udpExchange(port: number, datagrams: Buffer[], count: number): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  const answers: Buffer[] = [];
  try {
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, DEADLINE_MS);
      socket.on('message', (m) => {
        answers.push(m);
        if (answers.length >= count) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    for (const d of datagrams) await new Promise<void>((resolve, reject) => socket.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await done;
    return answers;
  } finally {
    socket.close();
  }
}

function answer(bytes: Buffer, key?: Dc09Key): Dc09Message {
  const r = decodeDc09Frame(bytes, key);
  if (!r.ok) throw new Error(`${r.error}: ${bytes.toString('latin1')}`);
  return r.value;
}

async function control(r: Dc09ReceiverSimulator, body: unknown): Promise<{ status: number; json: Dc09ReceiverState & { message?: string } }> {
  const res = await fetch(`http://127.0.0.1:${r.endpoints.http}/__sim/control`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Dc09ReceiverState & { message?: string } };
}

describe('answers over TCP and UDP', () => {
  it('ACKs a good message over TCP, echoing its header, and keeps it decoded', async () => {
    const r = await startReceiver();
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame({ sequence: 17, receiver: '12', line: '3', xdata: [{ id: 'V', value: 'http://cam/1' }] }));
    const ack = answer(await peer.next());
    expect(ack).toMatchObject({ id: 'ACK', encrypted: false, sequence: 17, receiver: '12', line: '3', account: '1234' });
    peer.close();
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({
      index: 1,
      transport: 'tcp',
      id: 'SIA-DCS',
      account: '1234',
      sequence: 17,
      duplicate: false,
      answer: 'ACK',
      xdata: [{ id: 'V', value: 'http://cam/1' }],
      event: { kind: 'sia', account: '1234', events: [{ code: 'BA', area: '1', address: '01', name: 'Burglary alarm' }] },
    });
  });

  it('answers an encrypted message with an encrypted *ACK over UDP', async () => {
    const r = await startReceiver({ accounts: { ABCDEF: KEY_256 } });
    const sent = frame({ id: 'ADM-CID', sequence: 9, account: 'ABCDEF', data: '#ABCDEF|1130 01 015', timestamp: new Date(), key: KEY_256 });
    const [reply] = await udpExchange(r.endpoints.udp, [sent], 1);
    const ack = answer(reply!, KEY_256);
    expect(ack).toMatchObject({ id: 'ACK', encrypted: true, sequence: 9, account: 'ABCDEF' });
    expect(Math.abs(ack.timestamp!.getTime() - Date.now())).toBeLessThan(5000);
    expect(r.messages[0]).toMatchObject({ transport: 'udp', encrypted: true, answer: '*ACK', event: { kind: 'contact-id', code: 130, zone: 15, name: 'Burglary' } });
  });

  it('NAKs a stale timestamp with its own time, then takes the message stamped by that time', async () => {
    const r = await startReceiver({ accounts: { '1234': KEY_128 }, clockOffsetMs: 3600_000 });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame({ sequence: 5, timestamp: new Date(), key: KEY_128 }));
    const nak = answer(await peer.next());
    expect(nak).toMatchObject({ id: 'NAK', encrypted: false, sequence: 0 });
    const receiverTime = nak.timestamp!.getTime();
    expect(Math.abs(receiverTime - (Date.now() + 3600_000))).toBeLessThan(5000);
    expect(r.rejected[0]).toMatchObject({ reason: 'timestamp', answer: 'NAK' });
    peer.send(frame({ sequence: 5, timestamp: new Date(receiverTime), key: KEY_128 }));
    expect(answer(await peer.next(), KEY_128)).toMatchObject({ id: 'ACK', sequence: 5 });
    peer.close();
    expect(r.messages).toHaveLength(1);
  });

  it('NAKs an unknown account, a wrong key and an encrypted message with no key', async () => {
    const r = await startReceiver({ accounts: { '1234': KEY_128, '5678': null } });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame({ account: '9999', data: '#9999|NRP' }));
    peer.send(frame({ timestamp: new Date(), key: KEY_256 }));
    peer.send(frame({ account: '5678', data: '#5678|NRP', timestamp: new Date(), key: KEY_128 }));
    for (let i = 0; i < 3; i++) expect(answer(await peer.next()).id).toBe('NAK');
    peer.close();
    expect(r.rejected.map((x) => x.reason)).toEqual(['unknown-account', 'decrypt', 'no-key']);
    expect(r.messages).toHaveLength(0);
  });

  it('DUHs an intact message it cannot process, echoing its sequence', async () => {
    const r = await startReceiver({ accounts: { '1234': KEY_128, '5678': null } });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(wrap('"RSP"0031L0#5678[]'));
    peer.send(frame({ sequence: 32, account: '5678', data: '#5678|this is not SIA' }));
    peer.send(frame({ sequence: 33, data: '#1234|NRP' }));
    peer.send(wrap('"SIA-DCS"0034L0#5678[#5678|NRP'));
    const duhs = [];
    for (let i = 0; i < 4; i++) duhs.push(answer(await peer.next()));
    peer.close();
    expect(duhs.map((d) => [d.id, d.sequence])).toEqual([
      ['DUH', 31],
      ['DUH', 32],
      ['DUH', 33],
      ['DUH', 34],
    ]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['unsupported', 'event', 'encryption-required', 'format']);
  });

  it('says nothing to a wrong CRC or length, answering the next good frame', async () => {
    const r = await startReceiver();
    const peer = await TcpPeer.open(r.endpoints.tcp);
    const good = frame({ sequence: 2 });
    const badCrc = Buffer.from(good);
    badCrc[1] = badCrc[1] === 0x30 ? 0x31 : 0x30;
    const badLength = Buffer.from(good.toString('latin1').replace(/^\n(.{4})0/, '\n$1F'), 'latin1');
    const badContent = Buffer.from(good.toString('latin1').replace('BA01', 'BA02'), 'latin1');
    peer.send(badCrc, badLength, badContent, frame({ id: 'NULL', sequence: 0, data: '' }));
    expect(answer(await peer.next())).toMatchObject({ id: 'ACK', sequence: 0 });
    expect(peer.received).toBe(0);
    peer.close();
    expect(r.rejected.map((x) => x.reason)).toEqual(['crc', 'length', 'crc']);
    expect(r.rejected.every((x) => x.answer === null)).toBe(true);
    expect(r.state.counters).toMatchObject({ ignored: 3, acks: 1, frames: 4 });
    expect(r.messages).toHaveLength(0);
  });

  it('says nothing over UDP either', async () => {
    const r = await startReceiver();
    const bad = Buffer.from(frame({ sequence: 3 }).toString('latin1').replace('BA01', 'BA09'), 'latin1');
    const answers = await udpExchange(r.endpoints.udp, [bad, frame({ id: 'NULL', sequence: 0, data: '' })], 1);
    expect(answers.map((a) => answer(a).id)).toEqual(['ACK']);
    expect(r.rejected).toMatchObject([{ transport: 'udp', reason: 'crc', answer: null }]);
  });
});

describe('retransmissions and supervision', () => {
  it('ACKs every retransmission and keeps each one, marking the repeats', async () => {
    const r = await startReceiver({ accounts: { '1234': KEY_128 } });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    const again = (seq: number, data = '#1234|Nri1/BA01') => frame({ sequence: seq, data, timestamp: new Date(), key: KEY_128 });
    peer.send(again(40), again(40), again(40), again(41), again(40, '#1234|Nri1/BR01'));
    for (let i = 0; i < 5; i++) expect(answer(await peer.next(), KEY_128)).toMatchObject({ id: 'ACK' });
    peer.close();
    const [udpAnswer] = await udpExchange(r.endpoints.udp, [again(40)], 1);
    expect(answer(udpAnswer!, KEY_128).sequence).toBe(40);
    expect(r.messages.map((m) => [m.sequence, m.duplicate])).toEqual([
      [40, false],
      [40, true],
      [40, true],
      [41, false],
      [40, false],
      [40, true],
    ]);
    expect(r.state.counters).toMatchObject({ accepted: 6, duplicates: 3 });
  });

  it('forgets a message once the de-duplication window has passed', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const r = await startReceiver({ clock: () => now, dedupWindowMs: 60_000 });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame({ sequence: 8 }));
    await peer.next();
    now += 61_000;
    peer.send(frame({ sequence: 8 }));
    await peer.next();
    peer.close();
    expect(r.messages.map((m) => m.duplicate)).toEqual([false, false]);
  });

  it('ACKs NULL supervision messages and counts them apart', async () => {
    const r = await startReceiver({ accounts: { '1234': null, '5678': KEY_128 } });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame({ id: 'NULL', sequence: 0, data: '' }), frame({ id: 'NULL', sequence: 0, data: '' }));
    peer.send(frame({ id: 'NULL', sequence: 0, data: '', account: '5678', timestamp: new Date(), key: KEY_128 }));
    expect(answer(await peer.next())).toMatchObject({ id: 'ACK', sequence: 0, account: '1234' });
    await peer.next();
    expect(answer(await peer.next(), KEY_128)).toMatchObject({ id: 'ACK', encrypted: true, account: '5678' });
    peer.close();
    expect(r.messages).toHaveLength(0);
    expect(r.state.supervision).toMatchObject({ count: 3, byAccount: { '1234': { count: 2 }, '5678': { count: 1 } } });
  });
});

describe('controls', () => {
  it('delays answers, and lists messages over HTTP', async () => {
    const r = await startReceiver();
    expect((await control(r, { delayMs: 300 })).json.delayMs).toBe(300);
    const peer = await TcpPeer.open(r.endpoints.tcp);
    const sentAt = Date.now();
    peer.send(frame());
    await peer.next();
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);
    peer.close();
    const state = (await (await fetch(`http://127.0.0.1:${r.endpoints.http}/__sim/state`)).json()) as Dc09ReceiverState;
    expect(state).toMatchObject({ up: true, delayMs: 300, tcp: r.endpoints.tcp, udp: r.endpoints.udp, accounts: null });
    expect(state.messages).toMatchObject([{ account: '1234', event: { kind: 'sia' } }]);
  });

  it('receives but never answers while silent', async () => {
    const r = await startReceiver();
    await control(r, { silent: true });
    const peer = await TcpPeer.open(r.endpoints.tcp);
    const kept = once(r, 'message');
    peer.send(frame({ sequence: 50 }));
    await kept;
    await control(r, { silent: false });
    peer.send(frame({ sequence: 51 }));
    expect(answer(await peer.next()).sequence).toBe(51);
    expect(peer.received).toBe(0);
    peer.close();
    expect(r.messages.map((m) => [m.sequence, m.answer])).toEqual([
      [50, null],
      [51, 'ACK'],
    ]);
    expect(r.state.counters.silenced).toBe(1);
  });

  it('goes down (refusing connections and dropping open ones) and comes back up on the same ports', async () => {
    const r = await startReceiver();
    const { tcp, udp } = r.endpoints;
    const peer = await TcpPeer.open(tcp);
    const closed = once(peer.socket, 'close');
    expect((await control(r, { down: true })).json.up).toBe(false);
    await closed;
    const refused = connect(tcp, '127.0.0.1');
    await expect(once(refused, 'connect')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await control(r, { up: true })).json).toMatchObject({ up: true, tcp, udp });
    const again = await TcpPeer.open(tcp);
    again.send(frame());
    expect(answer(await again.next()).id).toBe('ACK');
    again.close();
    expect(answer((await udpExchange(udp, [frame({ sequence: 2 })], 1))[0]!).sequence).toBe(2);
  });

  it('restarts, keeping what it received, and clears on request', async () => {
    const r = await startReceiver();
    const peer = await TcpPeer.open(r.endpoints.tcp);
    peer.send(frame());
    await peer.next();
    const closed = once(peer.socket, 'close');
    expect((await control(r, { restart: true })).json.up).toBe(true);
    await closed;
    expect(r.messages).toHaveLength(1);
    const again = await TcpPeer.open(r.endpoints.tcp);
    again.send(frame());
    await again.next();
    again.close();
    expect(r.messages.map((m) => m.duplicate)).toEqual([false, true]);
    const cleared = await control(r, { clear: true });
    expect(cleared.json).toMatchObject({ messages: [], rejected: [], counters: { frames: 0 } });
  });

  it('sets accounts and keys, and never shows keys', async () => {
    const r = await startReceiver();
    const res = await control(r, { accounts: { '1234': KEY_128, '77': null } });
    expect(res.json.accounts).toEqual([
      { account: '1234', encrypted: true },
      { account: '77', encrypted: false },
    ]);
    expect(JSON.stringify(res.json)).not.toContain(KEY_128);
    const [reply] = await udpExchange(r.endpoints.udp, [frame({ timestamp: new Date(), key: KEY_128 })], 1);
    expect(answer(reply!, KEY_128).encrypted).toBe(true);
  });

  it('refuses bad control bodies', async () => {
    const r = await startReceiver();
    for (const body of [{ delayMs: -1 }, { delayMs: 'x' }, { silent: 1 }, { restart: false }, { bogus: true }, { down: true, up: true }, { accounts: { '1234': 'short' } }, { accounts: [] }, []]) {
      const res = await control(r, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const notJson = await fetch(`http://127.0.0.1:${r.endpoints.http}/__sim/control`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${r.endpoints.http}/nope`)).status).toBe(404);
    expect(r.state.up).toBe(true);
  });
});

describe('bad input', () => {
  it('drops truncated, oversized and junk input on TCP and still answers the good frames', async () => {
    const r = await startReceiver();
    const peer = await TcpPeer.open(r.endpoints.tcp);
    const good = frame({ sequence: 60 });
    peer.send(Buffer.from('junk before any frame'), good.subarray(0, 25), good);
    expect(answer(await peer.next()).sequence).toBe(60);
    peer.send(Buffer.concat([Buffer.from('\n'), Buffer.alloc(6000, 0x41), Buffer.from('\r')]), frame({ sequence: 61 }));
    expect(answer(await peer.next()).sequence).toBe(61);
    const closed = once(r, 'rejected');
    peer.send(good.subarray(0, 30));
    peer.socket.end();
    await closed;
    expect(r.rejected.map((x) => x.reason)).toEqual(['truncated', 'oversized', 'truncated']);
    expect(r.state.counters.junkBytes).toBe('junk before any frame'.length);
  });

  it('ignores malformed and oversized datagrams', async () => {
    const r = await startReceiver();
    const datagrams = [Buffer.alloc(9000, 0x30), Buffer.from('not a frame'), Buffer.alloc(0), frame({ sequence: 70 }).subarray(0, 40), frame({ sequence: 71 })];
    const answers = await udpExchange(r.endpoints.udp, datagrams, 1);
    expect(answers.map((a) => answer(a).sequence)).toEqual([71]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['oversized', 'framing', 'framing', 'length']);
    expect(r.messages.map((m) => m.sequence)).toEqual([71]);
  });
});

describe('vigil-sim receiver', () => {
  it('parses its arguments', () => {
    expect(parseReceiverArgs(['--tcp-port', '9000', '--account', '1234', '--account', `ABCD:${KEY_128}`, '--delay-ms', '10', '--silent'])).toEqual({
      ok: true,
      value: { tcpPort: 9000, accounts: { '1234': null, ABCD: KEY_128 }, delayMs: 10, silent: true },
    });
    expect(parseReceiverArgs([])).toEqual({ ok: true, value: {} });
    for (const argv of [['--tcp-port', '70000'], ['--account', '12 34'], ['--account', '1234:nothex'], ['--account', 'a:b:c'], ['--delay-ms', '-1'], ['--bogus'], ['extra']])
      expect(parseReceiverArgs(argv).ok, argv.join(' ')).toBe(false);
  });

  it('prints one ready line, answers, and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', cli, 'receiver', '--account', `1234:${KEY_128}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const first = new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const ready = JSON.parse(await first) as { ready: boolean; host: string; tcp: number; udp: number; http: number };
      expect(ready).toMatchObject({ ready: true, host: '127.0.0.1' });
      const peer = await TcpPeer.open(ready.tcp);
      peer.send(frame({ timestamp: new Date(), key: KEY_128 }));
      expect(answer(await peer.next(), KEY_128)).toMatchObject({ id: 'ACK', encrypted: true });
      peer.close();
      const [reply] = await udpExchange(ready.udp, [frame({ sequence: 2, timestamp: new Date(), key: KEY_128 })], 1);
      expect(answer(reply!, KEY_128).sequence).toBe(2);
      const state = (await (await fetch(`http://127.0.0.1:${ready.http}/__sim/state`)).json()) as Dc09ReceiverState;
      expect(state.messages.map((m) => m.sequence)).toEqual([1, 2]);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code, stderr).toBe(0);
  });
});
