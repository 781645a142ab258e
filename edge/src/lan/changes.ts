import { pingLevel, type DiscoveredDevice, type LanSnapshot, type PingLevel } from '@vigil/protocol';

const levelOf = (d: DiscoveredDevice): string => (d.pingMs === null ? 'unknown' : pingLevel(d.pingMs));

/** How far past a level's boundary a ping must go to count as a new level (a device sitting at 50 ms must not flap). */
export const PING_LEVEL_MARGIN_MS = 5;
const RANK: Record<PingLevel, number> = { green: 0, yellow: 1, red: 2 };

function pingLevelChanged(prev: number | null, next: number | null): boolean {
  if (prev === null || next === null) return prev !== next;
  const from = RANK[pingLevel(prev)];
  const to = RANK[pingLevel(next)];
  if (to === from) return false;
  return to > from ? RANK[pingLevel(next - PING_LEVEL_MARGIN_MS)] > from : RANK[pingLevel(next + PING_LEVEL_MARGIN_MS)] < from;
}

const sameNetwork = (a: DiscoveredDevice['network'], b: DiscoveredDevice['network']): boolean =>
  a.dhcp === b.dhcp && a.ipv4 === b.ipv4 && a.mask === b.mask && a.gateway === b.gateway && a.dns === b.dns;

/**
 * What differs between two LAN snapshots in a way worth telling the cloud: devices come or go, activation,
 * network settings, firmware or identity change, or a ping crosses into another level (by more than
 * PING_LEVEL_MARGIN_MS). The ping's exact milliseconds and the times seen are noise. Returns one short reason per change; empty when nothing counts.
 */
export function lanChanges(prev: LanSnapshot | null, next: LanSnapshot): string[] {
  if (!prev) return ['first snapshot'];
  const reasons: string[] = [];
  const before = new Map(prev.devices.map((d) => [d.serial, d]));
  const after = new Map(next.devices.map((d) => [d.serial, d]));
  for (const [serial, d] of after) {
    const p = before.get(serial);
    if (!p) {
      reasons.push(`${serial}: added`);
      continue;
    }
    if (p.activated !== d.activated) reasons.push(`${serial}: ${d.activated ? 'activated' : 'no longer activated'}`);
    if (!sameNetwork(p.network, d.network)) reasons.push(`${serial}: network settings`);
    if (p.firmware !== d.firmware) reasons.push(`${serial}: firmware`);
    if (p.model !== d.model || p.deviceClass !== d.deviceClass || p.mac !== d.mac || p.httpPort !== d.httpPort || p.channels !== d.channels) {
      reasons.push(`${serial}: details`);
    }
    if (pingLevelChanged(p.pingMs, d.pingMs)) reasons.push(`${serial}: ping ${levelOf(p)} -> ${levelOf(d)}`);
  }
  for (const serial of before.keys()) if (!after.has(serial)) reasons.push(`${serial}: removed`);
  return reasons;
}

/**
 * The edge's side of LAN reporting: the latest snapshot, and the one last handed to the cloud that later
 * snapshots are compared with.
 */
export class LanReport {
  private latestSnapshot: LanSnapshot | null = null;
  private sentSnapshot: LanSnapshot | null = null;

  get latest(): LanSnapshot | null {
    return this.latestSnapshot;
  }

  /** Records a snapshot; returns why it should be sent (empty: only noise since the last one sent). */
  offer(snapshot: LanSnapshot): string[] {
    this.latestSnapshot = snapshot;
    const reasons = lanChanges(this.sentSnapshot, snapshot);
    if (reasons.length > 0) this.sentSnapshot = snapshot;
    return reasons;
  }

  /** The snapshot to send on a (re)connect, if any; it becomes the reference for later changes. */
  takeForConnect(): LanSnapshot | null {
    if (this.latestSnapshot) this.sentSnapshot = this.latestSnapshot;
    return this.latestSnapshot;
  }
}
