import { sadpMatchToDiscovered, type DiscoveredDevice, type LanSnapshot, type SadpProbeMatch } from '@vigil/protocol';
import type { SadpAnswer } from './round.js';

export interface LanTrackerOptions {
  /** A device that missed this many rounds in a row leaves the snapshot. */
  dropAfterMissed?: number;
  /** The ping shown is the fastest of this many last answers. */
  pingSamples?: number;
}

/** A snapshot holds at most this many devices (LanSnapshotSchema's maxItems); newcomers past it wait. */
export const LAN_MAX_DEVICES = 1024;

interface Entry {
  match: SadpProbeMatch;
  samples: number[];
  lastSeenAt: number;
  missed: number;
}

/**
 * Turns discovery rounds into the LAN picture. A device stays in it while it keeps answering, and for a
 * few missed rounds (a lost UDP datagram is not a device gone). Its ping is the fastest of its last answers:
 * delays on the way only ever add to the round trip, so the minimum is the one that tracks the link.
 */
export class LanTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly dropAfterMissed: number;
  private readonly pingSamples: number;

  constructor(opts: LanTrackerOptions = {}) {
    this.dropAfterMissed = Math.max(1, opts.dropAfterMissed ?? 3);
    this.pingSamples = Math.max(1, opts.pingSamples ?? 3);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Applies one finished round and returns the snapshot as of `at`. */
  applyRound(answers: readonly SadpAnswer[], at: number): LanSnapshot {
    const seen = new Set<string>();
    for (const a of answers) {
      const serial = a.match.serial;
      if (seen.has(serial)) continue;
      seen.add(serial);
      const prev = this.entries.get(serial);
      if (!prev && this.entries.size >= LAN_MAX_DEVICES) continue;
      const samples = [...(prev?.samples ?? []), a.rttMs].slice(-this.pingSamples);
      this.entries.set(serial, { match: a.match, samples, lastSeenAt: a.at, missed: 0 });
    }
    for (const [serial, e] of this.entries) {
      if (seen.has(serial)) continue;
      e.missed++;
      if (e.missed >= this.dropAfterMissed) this.entries.delete(serial);
    }
    return { devices: this.devices(), at };
  }

  devices(): DiscoveredDevice[] {
    return [...this.entries.values()]
      .map((e) =>
        sadpMatchToDiscovered(e.match, {
          pingMs: e.samples.length > 0 ? Math.round(Math.min(...e.samples)) : null,
          lastSeenAt: e.lastSeenAt,
        }),
      )
      .sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  }
}
