import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  buildSadpProbe,
  newSadpUuid,
  parseSadpProbeMatch,
  SADP_MULTICAST_GROUP,
  SADP_PORT,
  type SadpProbeMatch,
} from '@vigil/protocol';

/** A UDP endpoint a probe is sent to. */
export interface SadpEndpoint {
  host: string;
  port: number;
}

export interface SadpRoundOptions {
  /**
   * IPv4 of the LAN interface the multicast probe leaves from; '' sends no multicast probe (only the unicast
   * targets are asked).
   */
  interfaceIp: string;
  /** Endpoints probed by unicast as well (devices on routed subnets, simulators on loopback). */
  targets: readonly SadpEndpoint[];
  /** How long answers are collected after the probes went out. */
  windowMs: number;
  /** The multicast group; SADP's own by default. */
  group?: SadpEndpoint;
}

/** One device's first answer in a round. */
export interface SadpAnswer {
  match: SadpProbeMatch;
  /** From sending the probe it answers to until its answer arrived. */
  rttMs: number;
  /** Wall clock of the answer's arrival. */
  at: number;
  from: { address: string; port: number };
}

export interface SadpRoundResult {
  answers: SadpAnswer[];
  /** Sends that failed (no such interface, unresolvable host…), one line each; the round still counts. */
  errors: string[];
}

const isLoopback = (host: string): boolean => host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'));

const validEndpoint = (t: SadpEndpoint): boolean =>
  t.host !== '' && Number.isInteger(t.port) && t.port > 0 && t.port <= 65535;

function bind(socket: Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function close(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * One discovery round: from a fresh ephemeral UDP port, sends a Probe to the multicast group on the given
 * interface and one to each unicast target (each with its own Uuid), then collects ProbeMatches until the
 * window ends (one address may front several devices, so a first answer does not end the wait). A device's
 * round trip runs from the send of the probe it answers (matched by Uuid) to the arrival of its answer; a device
 * answering several probes counts once, with its fastest answer. Rejects only when no socket can be bound.
 */
export async function sadpRound(opts: SadpRoundOptions): Promise<SadpRoundResult> {
  const group = opts.group ?? { host: SADP_MULTICAST_GROUP, port: SADP_PORT };
  const targets = opts.targets.filter(validEndpoint);
  const multicast = opts.interfaceIp !== '';
  const errors: string[] = [];
  if (!multicast && targets.length === 0) return { answers: [], errors };

  const socket = createSocket({ type: 'udp4' });
  // Loopback-only rounds stay on loopback; otherwise answers may come from any interface.
  const bindTo = !multicast && targets.every((t) => isLoopback(t.host)) ? '127.0.0.1' : '0.0.0.0';
  try {
    await bind(socket, bindTo);
  } catch (err) {
    await close(socket);
    throw err;
  }

  /** Uuid -> when its probe was handed to the socket. */
  const sent = new Map<string, number>();
  const best = new Map<string, SadpAnswer>();
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish(), Math.max(0, opts.windowMs));

  socket.on('error', (err) => {
    errors.push(`socket: ${err.message}`);
    finish();
  });
  socket.on('message', (msg, rinfo) => {
    const now = performance.now();
    const parsed = parseSadpProbeMatch(msg);
    if (!parsed.ok) return;
    const sentAt = sent.get(parsed.value.uuid);
    // Not an answer to this round's probes (the port is fresh, so this is rare): nothing to time it by.
    if (sentAt === undefined) return;
    const answer: SadpAnswer = {
      match: parsed.value,
      rttMs: Math.max(0, now - sentAt),
      at: Date.now(),
      from: { address: rinfo.address, port: rinfo.port },
    };
    const prev = best.get(answer.match.serial);
    if (!prev || answer.rttMs < prev.rttMs) best.set(answer.match.serial, answer);
  });

  const send = (target: SadpEndpoint | null): void => {
    const uuid = newSadpUuid();
    const to = target ?? group;
    sent.set(uuid, performance.now());
    socket.send(buildSadpProbe({ uuid }), to.port, to.host, (err) => {
      if (err) errors.push(`${target ? 'unicast' : 'multicast'} probe to ${to.host}:${to.port}: ${err.message}`);
    });
  };

  try {
    if (multicast) {
      try {
        socket.setMulticastInterface(opts.interfaceIp);
        // SADP stays on the local segment.
        socket.setMulticastTTL(1);
        send(null);
      } catch (err) {
        errors.push(`multicast on ${opts.interfaceIp}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const t of targets) send(t);
    await done;
  } finally {
    clearTimeout(timer);
    await close(socket);
  }
  return { answers: [...best.values()], errors };
}
