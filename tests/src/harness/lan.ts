import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';

/**
 * A private Ethernet LAN built from network namespaces, for tests that need real L2 behaviour (multicast
 * discovery, several device IPs, links going down) without touching the machine's own network:
 *
 * - a "switch" namespace holding a Linux bridge;
 * - one namespace per host, joined to the bridge by a veth pair (interface `lan0` in the host), with its
 *   primary IP and `addresses` extra IPs from one private subnet, and a 224.0.0.0/4 route on `lan0`;
 * - optionally, for one host (the edge box), an uplink: a veth pair on its own /30 between the root
 *   namespace and that host, so it can reach a process listening on `uplink.rootIp` in the root namespace.
 *
 * There is no default route and no NAT: the hosts reach each other, and the uplink host the root side of
 * its /30, nothing else. IPv6 is disabled on every interface made here (no DAD, router or MLD chatter).
 * Needs root and iproute2.
 */

export interface LanHostSpec {
  /** Letters, digits and '-', at most 20 characters; unique in the LAN. */
  name: string;
  /** Extra IPs on the same interface (one process can then serve several device IPs). */
  addresses?: number;
  /** Gives this host (at most one) the uplink to the root namespace. */
  uplink?: boolean;
}

export interface LanOptions {
  hosts: LanHostSpec[];
  /** An IPv4 subnet such as `10.77.3.0/24`; random `10.<100-250>.<0-255>.0/24` by default. */
  subnet?: string;
}

export interface LanHost {
  name: string;
  /** Its network namespace: for `spawnProcess({ netns })` or `ip -n`. */
  ns: string;
  /** Its primary IP. */
  ip: string;
  /** The primary IP then the extra ones. */
  ips: string[];
  /** Its interface on the LAN. */
  iface: string;
  /** The bridge port its cable is plugged into, in the switch namespace. */
  port: string;
}

export interface LanUplink {
  host: string;
  /** In the root namespace: where a process the uplink host must reach listens. */
  rootIp: string;
  rootIface: string;
  /** On the uplink host. */
  edgeIp: string;
  iface: string;
}

export interface Lan {
  id: string;
  /** e.g. `10.123.45.0/24`. */
  subnet: string;
  switch: { ns: string; bridge: string };
  hosts: LanHost[];
  uplink: LanUplink | null;
  host(name: string): LanHost;
  /** Runs one command inside a host's namespace; rejects with the command and its stderr when it fails. */
  exec(hostName: string, cmd: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Unplugs (false) or plugs back (true) a host's LAN cable: its bridge port goes down/up, the host sees no carrier. */
  setLinkUp(hostName: string, up: boolean): Promise<void>;
  /** Unplugs or plugs back the uplink (its root-side end). */
  setUplinkUp(up: boolean): Promise<void>;
  /**
   * A further address in the root namespace that the uplink host reaches through its uplink, like a server
   * elsewhere on the internet: a process there listens on it, and `setRemoteReachable` cuts the uplink host's
   * way to it alone, leaving the rest of the uplink up.
   */
  addRemote(): Promise<string>;
  /** Cuts (false: the uplink host's packets to it are dropped) or restores the way to a remote address. */
  setRemoteReachable(remoteIp: string, reachable: boolean): Promise<void>;
  /** Every namespace of this LAN. */
  namespaces(): string[];
  /** Removes every namespace and interface made for this LAN; safe to call twice. */
  destroy(): Promise<void>;
}

/** Why a LAN cannot be built here, or null when it can. */
export function lanUnsupported(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'iproute2 (`ip`) is not installed';
  return null;
}

const PREFIX = 'vigil';
const NS_RE = /^vigil-(\d+)-[0-9a-f]+-/;
const NETNS_DIR = '/run/netns';
const LAN_IFACE = 'lan0';
const UPLINK_IFACE = 'up0';
const BRIDGE = 'br0';

const live = new Set<LanState>();
let exitHook = false;

interface LanState {
  namespaces: string[];
  rootIface: string | null;
  destroyed: boolean;
}

/** Builds the LAN; on any failure, removes whatever part of it was made and rethrows. */
export async function createLan(opts: LanOptions): Promise<Lan> {
  const unsupported = lanUnsupported();
  if (unsupported) throw new Error(`createLan: ${unsupported}`);
  validate(opts.hosts);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const s of live) destroySync(s);
    });
  }
  await removeStale();

  const id = randomBytes(3).toString('hex');
  const base = `${PREFIX}-${process.pid}-${id}`;
  const routes = await rootRoutes();
  const subnet = opts.subnet ? parseCidr(opts.subnet) : pickFree(routes, 24, () => [10, randomInt(100, 251), randomInt(0, 256), 0]);
  const need = opts.hosts.reduce((n, h) => n + 1 + (h.addresses ?? 0), 0);
  if (need > 2 ** (32 - subnet.bits) - 2) throw new Error(`createLan: ${need} addresses do not fit in ${opts.subnet}`);
  const uplinkSpec = opts.hosts.find((h) => h.uplink);
  const uplinkNet = uplinkSpec
    ? pickFree([...routes, subnet], 30, () => [10, randomInt(100, 251), randomInt(0, 256), randomInt(0, 64) * 4])
    : null;

  const state: LanState = { namespaces: [], rootIface: null, destroyed: false };
  live.add(state);
  const switchNs = `${base}-switch`;
  let next = subnet.addr + 1;
  const hosts: LanHost[] = opts.hosts.map((h, i) => {
    const ips = Array.from({ length: 1 + (h.addresses ?? 0) }, () => toIp(next++));
    return { name: h.name, ns: `${base}-${h.name}`, ip: ips[0]!, ips, iface: LAN_IFACE, port: `p${i}` };
  });
  const uplink: LanUplink | null =
    uplinkSpec && uplinkNet
      ? {
          host: uplinkSpec.name,
          rootIp: toIp(uplinkNet.addr + 1),
          edgeIp: toIp(uplinkNet.addr + 2),
          // Unique in the root namespace: 'vu' + the LAN id + the low pid digits.
          rootIface: `vu${id}${String(process.pid % 100_000)}`.slice(0, 15),
          iface: UPLINK_IFACE,
        }
      : null;

  // A few `ip -batch` runs rather than one process per command: about 20 ms each, mostly start-up.
  try {
    const all = [switchNs, ...hosts.map((h) => h.ns)];
    state.namespaces.push(...all);
    const edge = uplink ? hosts.find((h) => h.name === uplink.host)! : null;
    // IPv6 off in each namespace before any interface exists there, so none ever gets an IPv6 address.
    await batch(null, [
      ...all.map((ns) => ['netns', 'add', ns]),
      ...all.map((ns) => ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...['default', 'all'].map((c) => `net.ipv6.conf.${c}.disable_ipv6=1`)]),
      ...(uplink && edge
        ? [
            ['link', 'add', uplink.rootIface, 'type', 'veth', 'peer', 'name', uplink.iface, 'netns', edge.ns],
            ['addr', 'add', `${uplink.rootIp}/30`, 'dev', uplink.rootIface],
          ]
        : []),
    ]);
    if (uplink) {
      state.rootIface = uplink.rootIface;
      writeFileSync(`/proc/sys/net/ipv6/conf/${uplink.rootIface}/disable_ipv6`, '1');
    }
    await Promise.all([
      uplink ? ip('link', 'set', uplink.rootIface, 'up') : null,
      batch(switchNs, [
        ['link', 'set', 'lo', 'up'],
        ['link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'],
        ['link', 'set', BRIDGE, 'up'],
        ...hosts.flatMap((h) => [
          ['link', 'add', h.port, 'type', 'veth', 'peer', 'name', h.iface, 'netns', h.ns],
          ['link', 'set', h.port, 'master', BRIDGE, 'up'],
        ]),
      ]),
    ]);
    await Promise.all(
      hosts.map((h) =>
        batch(h.ns, [
          ['link', 'set', 'lo', 'up'],
          ...h.ips.map((a) => ['addr', 'add', `${a}/${subnet.bits}`, 'dev', h.iface]),
          ['link', 'set', h.iface, 'up'],
          ['route', 'add', '224.0.0.0/4', 'dev', h.iface],
          ...(uplink && h === edge
            ? [
                ['addr', 'add', `${uplink.edgeIp}/30`, 'dev', uplink.iface],
                ['link', 'set', uplink.iface, 'up'],
              ]
            : []),
        ]),
      ),
    );
    if (uplinkNet) {
      // Another run may have picked the same /30 at the same moment: then the root namespace has two routes.
      const clash = (await rootRoutes()).filter((r) => r.addr === uplinkNet.addr && r.bits === 30);
      if (clash.length > 1) throw new Error(`createLan: uplink subnet ${toIp(uplinkNet.addr)}/30 is taken; try again`);
    }
  } catch (err) {
    await destroyAsync(state).catch(() => undefined);
    throw err;
  }

  const remotes: string[] = [];
  const byName = (name: string) => {
    const h = hosts.find((x) => x.name === name);
    if (!h) throw new Error(`lan: no host named ${name} (hosts: ${hosts.map((x) => x.name).join(', ')})`);
    return h;
  };
  return {
    id,
    subnet: `${toIp(subnet.addr)}/${subnet.bits}`,
    switch: { ns: switchNs, bridge: BRIDGE },
    hosts,
    uplink,
    host: byName,
    exec: (hostName, cmd) => run('ip', ['netns', 'exec', byName(hostName).ns, ...cmd]),
    async setLinkUp(hostName, up) {
      await ip('-n', switchNs, 'link', 'set', byName(hostName).port, up ? 'up' : 'down');
    },
    async setUplinkUp(up) {
      if (!uplink) throw new Error('lan: this LAN has no uplink');
      await ip('link', 'set', uplink.rootIface, up ? 'up' : 'down');
    },
    async addRemote() {
      if (!uplink) throw new Error('lan: this LAN has no uplink');
      const taken = [...(await rootRoutes()), subnet, ...(uplinkNet ? [uplinkNet] : []), ...remotes.map((r) => parseCidr(r))];
      const remote = toIp(pickFree(taken, 32, () => [10, randomInt(100, 251), randomInt(0, 256), randomInt(1, 255)]).addr);
      // Deleted with the root end of the uplink.
      await ip('addr', 'add', `${remote}/32`, 'dev', uplink.rootIface);
      await ip('-n', byName(uplink.host).ns, 'route', 'add', `${remote}/32`, 'dev', uplink.iface);
      remotes.push(remote);
      return remote;
    },
    async setRemoteReachable(remoteIp, reachable) {
      if (!uplink || !remotes.includes(remoteIp)) throw new Error(`lan: ${remoteIp} is not a remote of this LAN`);
      // A blackhole route: what the uplink host sends there is dropped, as on a broken path.
      const route = reachable ? [`${remoteIp}/32`, 'dev', uplink.iface] : ['blackhole', `${remoteIp}/32`];
      await ip('-n', byName(uplink.host).ns, 'route', 'replace', ...route);
    },
    namespaces: () => [...state.namespaces],
    destroy: () => destroyAsync(state),
  };
}

function validate(hosts: LanHostSpec[]): void {
  if (hosts.length === 0) throw new Error('createLan: no hosts');
  const seen = new Set<string>();
  for (const h of hosts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,19}$/.test(h.name) || h.name === 'switch') {
      throw new Error(`createLan: bad host name ${JSON.stringify(h.name)} (letters, digits, '-', up to 20; not "switch")`);
    }
    if (seen.has(h.name)) throw new Error(`createLan: two hosts named ${h.name}`);
    seen.add(h.name);
    if (h.addresses !== undefined && (!Number.isInteger(h.addresses) || h.addresses < 0)) {
      throw new Error(`createLan: ${h.name}: addresses must be a whole number ≥ 0`);
    }
  }
  if (hosts.filter((h) => h.uplink).length > 1) throw new Error('createLan: only one host can have the uplink');
}

async function destroyAsync(state: LanState): Promise<void> {
  if (state.destroyed) return;
  state.destroyed = true;
  live.delete(state);
  // The root end first: it is the only thing in the root namespace, and deleting it deletes its peer.
  if (state.rootIface) await ip('link', 'del', state.rootIface).catch(ignoreMissing);
  // The switch last is not needed: deleting its namespace deletes its veth ends, and so their peers.
  await Promise.all(state.namespaces.map((ns) => ip('netns', 'del', ns).catch(ignoreMissing)));
}

/** For the 'exit' handler: one synchronous `ip -batch`. */
function destroySync(state: LanState): void {
  if (state.destroyed) return;
  state.destroyed = true;
  const lines = [...(state.rootIface ? [`link del ${state.rootIface}`] : []), ...state.namespaces.map((ns) => `netns del ${ns}`)];
  spawnSync('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
}

function ignoreMissing(err: unknown): void {
  const text = String(err);
  if (/No such file|Cannot find device|does not exist/.test(text)) return;
  throw err;
}

/** Removes namespaces left by runs whose process is gone (killed before its 'exit' handler ran). */
async function removeStale(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  const stale = names.filter((n) => {
    const m = NS_RE.exec(n);
    return m !== null && !alive(Number(m[1]));
  });
  await Promise.all(stale.map((ns) => ip('netns', 'del', ns).catch(() => undefined)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`\`${[file, ...args].join(' ')}\` failed (${err.code ?? err.signal ?? 'error'}): ${stderr.trim() || err.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

const ip = (...args: string[]) => run('ip', args);

/** Runs `ip [-n ns] -batch -` over `commands`; a failure names the command that failed. */
function batch(ns: string | null, commands: string[][]): Promise<void> {
  const head = ['ip', ...(ns ? ['-n', ns] : []), '-batch', '-'];
  return new Promise((resolve, reject) => {
    const child = spawn(head[0]!, head.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`\`${head.join(' ')}\` could not start: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const line = Number(/Command failed -:(\d+)/.exec(stderr)?.[1]);
      const failed = commands[line - 1];
      const what = failed ? ['ip', ...(ns ? ['-n', ns] : []), ...failed].join(' ') : head.join(' ');
      reject(new Error(`\`${what}\` failed (${code}): ${stderr.trim()}`));
    });
    child.stdin.end(commands.map((c) => c.join(' ')).join('\n') + '\n');
  });
}

interface Net {
  addr: number;
  bits: number;
}

function toInt(parts: number[]): number {
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseCidr(text: string): Net {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  const parts = m ? m.slice(1, 5).map(Number) : [];
  const bits = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || parts.some((p) => p > 255) || bits > 32) throw new Error(`not an IPv4 subnet: ${text}`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { addr: (toInt(parts) & mask) >>> 0, bits };
}

function overlaps(a: Net, b: Net): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a.addr & mask) >>> 0) === ((b.addr & mask) >>> 0);
}

/** A random subnet that overlaps none of `taken`. */
function pickFree(taken: Net[], bits: number, candidate: () => number[]): Net {
  for (let i = 0; i < 100; i++) {
    const net = { addr: toInt(candidate()), bits };
    if (!taken.some((t) => overlaps(t, net))) return net;
  }
  throw new Error(`createLan: found no free /${bits} among random candidates`);
}

/** Every IPv4 destination the root namespace routes (all tables), except the default route. */
async function rootRoutes(): Promise<Net[]> {
  const { stdout } = await ip('-j', '-4', 'route', 'show', 'table', 'all');
  const routes = JSON.parse(stdout) as { dst?: string }[];
  return routes.filter((r) => r.dst && r.dst !== 'default').map((r) => parseCidr(r.dst!));
}
