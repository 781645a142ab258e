import type { LiveEvent } from '@vigil/protocol/api';

/** `resync` follows a reconnection: events may have been missed, so views refetch. */
export type LiveMessage = LiveEvent | { type: 'resync' };
type Listener = (message: LiveMessage) => void;

export const liveState = $state<{ connected: boolean }>({ connected: false });

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;
let wasConnected = false;

function emit(message: LiveMessage): void {
  for (const listener of listeners) listener(message);
}

export function startLive(): void {
  if (source) return;
  const es = new EventSource('/api/v1/live');
  source = es;
  es.onopen = () => {
    liveState.connected = true;
    if (wasConnected) emit({ type: 'resync' });
    wasConnected = true;
  };
  es.onmessage = (event: MessageEvent<string>) => {
    let message: LiveEvent;
    try {
      message = JSON.parse(event.data) as LiveEvent;
    } catch {
      return; // not an event of ours (comments and keep-alives are not delivered here anyway)
    }
    if (message && typeof message.type === 'string') emit(message);
  };
  es.onerror = () => {
    liveState.connected = false;
    // EventSource retries by itself unless the server refused the stream outright.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null;
      retry = setTimeout(() => {
        retry = null;
        startLive();
      }, 5000);
    }
  };
}

export function stopLive(): void {
  if (retry) clearTimeout(retry);
  retry = null;
  source?.close();
  source = null;
  wasConnected = false;
  liveState.connected = false;
}

/** Subscribes to live events; returns the unsubscribe function (fits `$effect`). */
export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
