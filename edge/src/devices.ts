import type { DeviceReport, DeviceStateData } from '@vigil/protocol';

export interface RoundOutcome {
  /** device.state messages to send, in order. */
  changes: DeviceStateData[];
  /** True when the inventory differs from the last one sent (new device, online flag or details). */
  inventoryChanged: boolean;
  /** Rows to persist. */
  updated: DeviceReport[];
  /** Devices seen for the first time. */
  added: string[];
}

const sameDetails = (a: DeviceReport, b: DeviceReport): boolean =>
  a.kind === b.kind &&
  a.protocol === b.protocol &&
  a.manufacturer === b.manufacturer &&
  a.model === b.model &&
  a.serial === b.serial &&
  a.firmware === b.firmware &&
  a.name === b.name &&
  a.host === b.host &&
  a.port === b.port;

/** What the edge knows about its devices. Devices once seen are kept (offline) rather than forgotten. */
export class DeviceRegistry {
  private readonly devices = new Map<string, DeviceReport>();

  constructor(initial: readonly DeviceReport[] = []) {
    for (const d of initial) this.devices.set(d.deviceId, d);
  }

  list(): DeviceReport[] {
    return [...this.devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }

  get size(): number {
    return this.devices.size;
  }

  get onlineCount(): number {
    let n = 0;
    for (const d of this.devices.values()) if (d.online) n++;
    return n;
  }

  /** Applies one discovery round: what answered is online, what was online and did not answer is offline. */
  applyRound(found: readonly DeviceReport[], at: number): RoundOutcome {
    const changes: DeviceStateData[] = [];
    const updated: DeviceReport[] = [];
    const added: string[] = [];
    let inventoryChanged = false;
    const seen = new Set<string>();
    for (const f of found) {
      if (seen.has(f.deviceId)) continue;
      seen.add(f.deviceId);
      const next: DeviceReport = { ...f, online: true, lastSeenAt: Math.max(f.lastSeenAt, at) };
      const prev = this.devices.get(f.deviceId);
      if (!prev) {
        added.push(f.deviceId);
        inventoryChanged = true;
      } else {
        if (!prev.online) {
          changes.push({ deviceId: f.deviceId, online: true, at });
          inventoryChanged = true;
        }
        if (!sameDetails(prev, next)) inventoryChanged = true;
      }
      this.devices.set(f.deviceId, next);
      updated.push(next);
    }
    for (const d of this.devices.values()) {
      if (seen.has(d.deviceId) || !d.online) continue;
      const next = { ...d, online: false };
      this.devices.set(d.deviceId, next);
      updated.push(next);
      changes.push({ deviceId: d.deviceId, online: false, at, reason: 'no answer to discovery' });
      inventoryChanged = true;
    }
    return { changes, inventoryChanged, updated, added };
  }
}
