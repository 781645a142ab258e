import type { LiveEvent } from '@vigil/protocol/api';

type Listener = (event: LiveEvent) => void;

/** Fans state changes out to the portal sessions of the company they concern (server-sent events). */
export class LiveHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** How to end each account's open streams, so a disabled or removed account stops hearing at once. */
  private readonly streams = new Map<string, Set<() => void>>();

  subscribe(companyId: string, listener: Listener): () => void {
    let set = this.listeners.get(companyId);
    if (!set) this.listeners.set(companyId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(companyId);
    };
  }

  /** Registers an open stream of the account; the returned function forgets it. */
  track(accountId: string, end: () => void): () => void {
    let set = this.streams.get(accountId);
    if (!set) this.streams.set(accountId, (set = new Set()));
    set.add(end);
    return () => {
      set.delete(end);
      if (set.size === 0) this.streams.delete(accountId);
    };
  }

  /** Ends every open stream of these accounts. */
  endStreamsOf(accountIds: readonly string[]): void {
    for (const id of accountIds) for (const end of [...(this.streams.get(id) ?? [])]) end();
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
