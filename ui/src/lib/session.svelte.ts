import type { MeReply } from '@vigil/protocol/api';

/** Who is logged in; `checked` turns true once the first /me answer is in. */
export const session = $state<{ me: MeReply | null; checked: boolean }>({ me: null, checked: false });

/** Short messages confirming what just happened, announced politely. */
export const notices = $state<{ items: { id: number; text: string }[] }>({ items: [] });
let nextNotice = 1;

export function notify(text: string): void {
  const id = nextNotice++;
  notices.items.push({ id, text });
  setTimeout(() => dismiss(id), 6000);
}

export function dismiss(id: number): void {
  const index = notices.items.findIndex((n) => n.id === id);
  if (index >= 0) notices.items.splice(index, 1);
}
