import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { buildProbe, newMessageId, parseProbeMatches, type ProbeMatch } from '@vigil/protocol/onvif';

/** A device's WS-Discovery UDP endpoint. */
export interface ProbeTarget {
  host: string;
  port: number;
}

const isLoopback = (host: string): boolean => host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.'));

/**
 * Sends one unicast Probe to every target from a fresh socket and reports each target's first ProbeMatches,
 * matched by RelatesTo. A Probe still unanswered after a quarter of the time is sent once more, since UDP may
 * lose it. Resolves when every target has answered or at the deadline; never rejects.
 */
export async function probeTargets(
  targets: readonly ProbeTarget[],
  deadline: number,
  onMatch: (target: ProbeTarget, match: ProbeMatch) => void,
): Promise<void> {
  const valid = targets.filter((t) => t.host !== '' && Number.isInteger(t.port) && t.port > 0 && t.port <= 65535);
  if (valid.length === 0 || Date.now() >= deadline) return;
  const socket = createSocket('udp4');
  // Loopback targets are probed from loopback so that nothing leaves the machine; others from any interface.
  const bindTo = valid.every((t) => isLoopback(t.host)) ? '127.0.0.1' : '0.0.0.0';
  const pending = new Map<string, ProbeTarget>(valid.map((t) => [newMessageId(), t]));
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const timers: NodeJS.Timeout[] = [];

  socket.on('error', () => finish());
  socket.on('message', (msg) => {
    const r = parseProbeMatches(msg);
    if (!r.ok) return;
    const target = pending.get(r.value.relatesTo);
    if (!target) return;
    pending.delete(r.value.relatesTo);
    for (const m of r.value.matches) onMatch(target, m);
    if (pending.size === 0) finish();
  });

  const sendAll = (s: Socket): void => {
    for (const [messageId, t] of pending) {
      // A bad host name fails this target only.
      s.send(buildProbe({ messageId }), t.port, t.host, () => undefined);
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, bindTo, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    sendAll(socket);
    const left = deadline - Date.now();
    timers.push(setTimeout(() => sendAll(socket), Math.max(1, Math.floor(left / 4))));
    timers.push(setTimeout(finish, Math.max(0, left)));
    await done;
  } catch {
    // Could not bind: nothing answers this round.
    return;
  } finally {
    for (const t of timers) clearTimeout(t);
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
