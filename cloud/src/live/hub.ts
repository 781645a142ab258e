import type { LiveEvent } from '@vigil/protocol/api';

type Listener = (event: LiveEvent) => void;

/** Fans state changes out to the portal sessions of the company they concern (server-sent events). */
export class LiveHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  subscribe(companyId: string, listener: Listener): () => void {
    let set = this.listeners.get(companyId);
    if (!set) this.listeners.set(companyId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(companyId);
    };
  }

  publish(companyId: string | null | undefined, event: LiveEvent): void {
    if (!companyId) return;
    for (const listener of this.listeners.get(companyId) ?? []) listener(event);
  }

  get connections(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}
