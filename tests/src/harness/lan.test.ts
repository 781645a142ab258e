import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, lanUnsupported, type Lan } from './lan.js';
import { eventually, spawnProcess, startProcess, type Json, type Proc } from './process.js';
import { scenarioDir } from './system.js';

const SADP_GROUP = '239.255.255.250';
const SADP_PORT = 37020;
const ECHO_PORT = 37021;

/** A device: answers a multicast probe by unicast, and echoes on each of its IPs. Config in $T. */
const DEVICE = `
const dgram = require('node:dgram');
const c = JSON.parse(process.env.T);
const out = (o) => console.log(JSON.stringify(o));
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m, r) => { out({ got: m.toString(), from: r.address }); s.send('reply from ' + c.name, r.port, r.address); });
let pending = 1 + c.echo.length;
const up = () => { if (--pending === 0) out({ ready: true }); };
s.bind(c.port, () => { s.addMembership(c.group, c.ip); up(); });
for (const ip of c.echo) {
  const e = dgram.createSocket('udp4');
  e.on('message', (m, r) => e.send('echo ' + m, r.port, r.address));
  e.bind(${ECHO_PORT}, ip, up);
}`;

/**
 * Sends one multicast probe and unicast pings, and prints every answer. Neither the socket's address nor
 * its multicast interface is set (as a plain SADP client does), so the probe goes where the namespace's
 * 224.0.0.0/4 route sends it.
 */
const PROBER = `
const dgram = require('node:dgram');
const c = JSON.parse(process.env.T);
const out = (o) => console.log(JSON.stringify(o));
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => out({ reply: m.toString(), from: r.address }));
s.bind(0, () => {
  s.send('probe', c.port, c.group);
  for (const t of c.ping) s.send('ping', ${ECHO_PORT}, t);
  out({ ready: true });
});`;

/** Connects to each target in turn and prints what happened. */
const CONNECT = `
const net = require('node:net');
const c = JSON.parse(process.env.T);
(async () => {
  for (const [host, port] of c.targets) {
    const res = await new Promise((resolve) => {
      const sock = net.connect({ host, port, timeout: 3000 });
      let data = '';
      sock.on('data', (d) => (data += d));
      sock.on('end', () => resolve({ target: host, ok: true, data }));
      sock.on('timeout', () => { sock.destroy(); resolve({ target: host, error: 'TIMEOUT' }); });
      sock.on('error', (e) => resolve({ target: host, error: e.code }));
    });
    console.log(JSON.stringify(res));
  }
  console.log(JSON.stringify({ done: true }));
})();`;

const dir = scenarioDir('lan');
const procs: Proc[] = [];
let lan: Lan | null = null;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(2000)));
  await lan?.destroy();
});

function node(netns: string | undefined, name: string, script: string, config: Json): Proc {
  const p = spawnProcess({ name, command: process.execPath, args: ['-e', script], env: { T: JSON.stringify(config) }, logDir: dir, netns });
  procs.push(p);
  return p;
}
async function ready(p: Proc): Promise<Proc> {
  await p.waitFor((l) => l.ready === true, 'ready', 5000);
  return p;
}
const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const rootLinkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

describe('a LAN of network namespaces', () => {
  it('can be built on this machine (root, Linux, iproute2)', () => {
    // Never skipped: a machine that cannot build the LAN fails here, naming why.
    expect(lanUnsupported()).toBeNull();
  });

  beforeAll(async () => {
    const started = Date.now();
    lan = await createLan({ hosts: [{ name: 'edge', uplink: true }, { name: 'cam1' }, { name: 'nvr', addresses: 2 }] });
    // Setup stays cheap enough to build one LAN per test file (about 0.3 s here; the bound leaves room for a busy machine).
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('gives every host its namespace, IPs on one /24 and the uplink its own /30', () => {
    const l = lan!;
    expect(l.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
    const prefix = l.subnet.split('.').slice(0, 3).join('.') + '.';
    expect(l.hosts.map((h) => h.ips.length)).toEqual([1, 1, 3]);
    const all = l.hosts.flatMap((h) => h.ips);
    expect(new Set(all).size).toBe(all.length);
    for (const a of all) expect(a.startsWith(prefix)).toBe(true);
    expect(l.host('nvr').ip).toBe(l.host('nvr').ips[0]);
    expect(l.uplink!.host).toBe('edge');
    expect(l.uplink!.rootIface.length).toBeLessThanOrEqual(15);
    expect(l.uplink!.rootIp.split('.').slice(0, 3)).toEqual(l.uplink!.edgeIp.split('.').slice(0, 3));
    expect(() => l.host('nope')).toThrow(/no host named nope/);
    // The root namespace gained exactly one interface, with no IPv6 on it.
    expect(readFileSync(`/proc/sys/net/ipv6/conf/${l.uplink!.rootIface}/disable_ipv6`, 'utf8').trim()).toBe('1');
  });

  it('has no IPv6 and no default route inside the namespaces', async () => {
    const l = lan!;
    const addrs = (await l.exec('nvr', ['ip', '-o', 'addr'])).stdout;
    expect(addrs).not.toMatch(/inet6/);
    for (const a of l.host('nvr').ips) expect(addrs).toContain(`inet ${a}/24`);
    const routes = (await l.exec('edge', ['ip', '-4', 'route'])).stdout;
    expect(routes).not.toMatch(/default/);
    expect(routes).toMatch(/^224\.0\.0\.0\/4 dev lan0/m);
  });

  it('(a) carries a multicast probe from the edge to every other host, and their unicast answers back', async () => {
    const l = lan!;
    const cam = node(l.host('cam1').ns, 'cam1-sadp', DEVICE, { name: 'cam1', ip: l.host('cam1').ip, group: SADP_GROUP, port: SADP_PORT, echo: [] });
    const nvr = node(l.host('nvr').ns, 'nvr-sadp', DEVICE, { name: 'nvr', ip: l.host('nvr').ip, group: SADP_GROUP, port: SADP_PORT, echo: l.host('nvr').ips });
    await Promise.all([ready(cam), ready(nvr)]);
    const edgeIp = l.host('edge').ip;
    const prober = await ready(node(l.host('edge').ns, 'edge-probe', PROBER, { group: SADP_GROUP, port: SADP_PORT, ping: l.host('nvr').ips }));

    for (const dev of [cam, nvr]) expect(await dev.waitFor((x) => x.got === 'probe', 'the probe', 5000)).toMatchObject({ from: edgeIp });
    await prober.waitFor((x) => x.reply === 'reply from cam1', 'the answer of cam1', 5000);
    await prober.waitFor((x) => x.reply === 'reply from nvr', 'the answer of nvr', 5000);
    expect(prober.lines.filter((x) => typeof x.reply === 'string' && x.reply.startsWith('reply from'))).toEqual([
      expect.objectContaining({ from: expect.any(String) }),
      expect.objectContaining({ from: expect.any(String) }),
    ]);
    expect(prober.lines.find((x) => x.reply === 'reply from cam1')!.from).toBe(l.host('cam1').ip);
    expect(prober.lines.find((x) => x.reply === 'reply from nvr')!.from).toBe(l.host('nvr').ip);
    // Each extra address answers for itself: one process serves several device IPs.
    for (const a of l.host('nvr').ips) await prober.waitFor((x) => x.reply === 'echo ping' && x.from === a, `the echo from ${a}`, 5000);
    await Promise.all([cam.stop(2000), nvr.stop(2000), prober.stop(2000)]);
  });

  it('(b) keeps the multicast out of the root namespace', async () => {
    const l = lan!;
    const group = `239.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const port = randomInt(40_000, 60_000);
    // A root listener on that group/port, joined on the uplink: the only way in from the namespaces.
    const root = createSocket({ type: 'udp4', reuseAddr: true });
    const seen: { text: string; from: string }[] = [];
    const got = new Promise<void>((resolve) =>
      root.on('message', (m, r) => {
        seen.push({ text: m.toString(), from: r.address });
        resolve();
      }),
    );
    await new Promise<void>((resolve) => root.bind(port, resolve));
    root.addMembership(group, l.uplink!.rootIp);
    try {
      // Positive control: a host on the LAN joined the same group gets it.
      const cam = await ready(node(l.host('cam1').ns, 'cam1-control', DEVICE, { name: 'cam1', ip: l.host('cam1').ip, group, port, echo: [] }));
      const prober = await ready(node(l.host('edge').ns, 'edge-probe2', PROBER, { group, port, ping: [] }));
      await cam.waitFor((x) => x.got === 'probe', 'the probe', 5000);
      await prober.waitFor((x) => x.reply === 'reply from cam1', 'the answer', 5000);
      // Had the probe leaked into the root namespace it would already be queued ahead of this marker.
      await send(root, 'marker', port, '127.0.0.1');
      await got;
      expect(seen).toEqual([{ text: 'marker', from: '127.0.0.1' }]);
      await Promise.all([cam.stop(2000), prober.stop(2000)]);
    } finally {
      root.close();
    }
  });

  it('(c) lets the edge reach a root server on the uplink IP, but not the root loopback or anything else', async () => {
    const l = lan!;
    const accepted = { uplink: 0, loopback: 0 };
    const onUplink = await listen(l.uplink!.rootIp, () => accepted.uplink++);
    const onLoopback = await listen('127.0.0.1', () => accepted.loopback++);
    try {
      const pUp = (onUplink.address() as AddressInfo).port;
      const pLo = (onLoopback.address() as AddressInfo).port;
      const rootAddr = machineAddress();
      const targets: [string, number][] = [
        [l.uplink!.rootIp, pUp],
        ['127.0.0.1', pLo],
        ...(rootAddr ? [[rootAddr, pUp] as [string, number]] : []),
      ];
      const edge = node(l.host('edge').ns, 'edge-connect', CONNECT, { targets });
      await edge.waitFor((x) => x.done === true, 'the connections', 8000);
      const res = edge.lines.filter((x) => 'target' in x);
      expect(res[0]).toEqual({ target: l.uplink!.rootIp, ok: true, data: 'hello' });
      // Its 127.0.0.1 is its own: nothing listens there.
      expect(res[1]).toEqual({ target: '127.0.0.1', error: 'ECONNREFUSED' });
      // The machine's own address: no route at all, so not a packet leaves.
      if (rootAddr) expect(res[2]).toEqual({ target: rootAddr, error: 'ENETUNREACH' });
      // A device host has no way to the root namespace.
      const cam = node(l.host('cam1').ns, 'cam1-connect', CONNECT, { targets: [[l.uplink!.rootIp, pUp]] });
      await cam.waitFor((x) => x.done === true, 'the connection', 8000);
      expect(cam.lines[0]).toEqual({ target: l.uplink!.rootIp, error: 'ENETUNREACH' });
      expect(accepted).toEqual({ uplink: 1, loopback: 0 });
    } finally {
      onUplink.close();
      onLoopback.close();
    }
  });

  it('gives the uplink host a remote address of its own, whose way alone can be cut and restored', async () => {
    const l = lan!;
    const remote = await l.addRemote();
    const accepted = { remote: 0, uplink: 0 };
    const onRemote = await listen(remote, () => accepted.remote++);
    const onUplink = await listen(l.uplink!.rootIp, () => accepted.uplink++);
    const connect = async (name: string) => {
      const targets = [
        [remote, (onRemote.address() as AddressInfo).port],
        [l.uplink!.rootIp, (onUplink.address() as AddressInfo).port],
      ];
      const edge = node(l.host('edge').ns, name, CONNECT, { targets });
      await edge.waitFor((x) => x.done === true, 'the connections', 8000);
      return edge.lines.filter((x) => 'target' in x).map((x) => ('ok' in x ? 'ok' : 'failed'));
    };
    try {
      expect(await connect('edge-remote')).toEqual(['ok', 'ok']);
      await l.setRemoteReachable(remote, false);
      expect(await connect('edge-remote-cut')).toEqual(['failed', 'ok']);
      await l.setRemoteReachable(remote, true);
      expect(await connect('edge-remote-back')).toEqual(['ok', 'ok']);
      expect(accepted).toEqual({ remote: 2, uplink: 3 });
      await expect(l.setRemoteReachable('192.0.2.1', false)).rejects.toThrow(/not a remote/);
    } finally {
      onRemote.close();
      onUplink.close();
    }
  });

  it('cuts and restores a host link', async () => {
    const l = lan!;
    const flags = async () => {
      const [link] = JSON.parse((await l.exec('nvr', ['ip', '-j', 'link', 'show', 'lan0'])).stdout) as { flags: string[] }[];
      return link!.flags;
    };
    await l.setLinkUp('nvr', false);
    await eventually(flags, (f) => f.includes('NO-CARRIER'), 'no carrier on nvr', 3000);
    await l.setLinkUp('nvr', true);
    await eventually(flags, (f) => f.includes('LOWER_UP'), 'carrier back on nvr', 3000);
    // The multicast route survives the cut.
    expect((await l.exec('nvr', ['ip', '-4', 'route'])).stdout).toMatch(/^224\.0\.0\.0\/4 dev lan0/m);
    const nvr = await ready(node(l.host('nvr').ns, 'nvr-after-cut', DEVICE, { name: 'nvr', ip: l.host('nvr').ip, group: SADP_GROUP, port: SADP_PORT, echo: [l.host('nvr').ips[2]!] }));
    const prober = await ready(node(l.host('edge').ns, 'edge-after-cut', PROBER, { group: SADP_GROUP, port: SADP_PORT, ping: [l.host('nvr').ips[2]!] }));
    await prober.waitFor((x) => x.reply === 'reply from nvr', 'the answer after the cut', 5000);
    await prober.waitFor((x) => x.reply === 'echo ping', 'the echo after the cut', 5000);
    await Promise.all([nvr.stop(2000), prober.stop(2000)]);
  });

  it('runs a process inside a namespace as its own process group, and stopping it stops its children', async () => {
    const l = lan!;
    const p = await startProcess({
      name: 'group',
      command: 'sh',
      args: ['-c', 'sleep 300 & echo "{\\"ready\\":true,\\"child\\":$!}"; wait'],
      logDir: dir,
      netns: l.host('cam1').ns,
      ready: (x) => x.ready === true,
      timeoutMs: 5000,
    });
    procs.push(p);
    const child = Number(p.lines[0]!.child);
    // `ip netns exec` replaced itself: the pid is the shell's, leading its own group, in the namespace.
    expect(readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim()).toBe('sh');
    expect(readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]).toBe(String(p.pid));
    expect(readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]).toBe(String(p.pid));
    expect(netnsOf(child)).toBe(netnsOf(p.pid));
    expect(netnsOf(p.pid)).not.toBe(netnsOf(process.pid));
    await p.stop(2000);
    // Gone, or a zombie waiting for init to reap it.
    await eventually(async () => procState(child), (x) => x === null || x === 'Z', 'the child to be gone', 3000);
  });

  it('(d) destroy() removes every namespace and interface it made', async () => {
    const l = lan!;
    await Promise.all(procs.map((p) => p.stop(2000)));
    const namespaces = l.namespaces();
    expect(namespaces).toHaveLength(4);
    const before = netnsList();
    for (const ns of namespaces) expect(before).toContain(ns);
    expect(rootLinkExists(l.uplink!.rootIface)).toBe(true);
    await l.destroy();
    const after = readdirSync('/run/netns');
    for (const ns of namespaces) expect(after).not.toContain(ns);
    expect(after.filter((n) => n.includes(`-${l.id}-`))).toEqual([]);
    expect(rootLinkExists(l.uplink!.rootIface)).toBe(false);
    expect(execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' })).not.toContain(l.uplink!.rootIp.replace(/\.\d+$/, '.0/30'));
    await l.destroy(); // twice is harmless
  });
});

function send(sock: Socket, text: string, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => sock.send(text, port, host, (err) => (err ? reject(err) : resolve())));
}

function listen(host: string, onConnection: () => void): Promise<Server> {
  const server = createServer((c) => {
    onConnection();
    c.end('hello');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}

/** One non-loopback IPv4 address of the root namespace, if any. */
function machineAddress(): string | null {
  const out = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr'], { encoding: 'utf8' })) as { ifname: string; addr_info: { local: string }[] }[];
  const a = out.find((i) => i.ifname !== 'lo' && !i.ifname.startsWith('vu') && i.addr_info.length > 0);
  return a?.addr_info[0]?.local ?? null;
}

function procState(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
  } catch {
    return null;
  }
}

function netnsOf(pid: number): string {
  return execFileSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).trim();
}
