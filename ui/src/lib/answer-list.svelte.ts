import { errorMessage } from './api';
import { notify } from './session.svelte';

/**
 * A list a page reads and whose items are answered one at a time (handovers, sharings, permission applications,
 * device invitations): the item being answered, the error of reading the list and that of the last answer. The list
 * is read again after every answer, so an offer that expired or was answered elsewhere meanwhile shows as it is now.
 */
export class AnswerList<T extends { id: string }> {
  items = $state<T[] | null>(null);
  loadError = $state<string | null>(null);
  answerError = $state<string | null>(null);
  /** The id of the item being answered. */
  busy = $state<string | null>(null);

  constructor(
    private readonly read: () => Promise<{ items: T[] }>,
    /** How an answer's refusal reads (the domain's codes). */
    private readonly describe: (e: unknown) => string,
  ) {}

  async load(): Promise<void> {
    try {
      this.items = (await this.read()).items;
      this.loadError = null;
    } catch (e) {
      this.loadError = errorMessage(e);
    }
  }

  /** Sends the answer, and says `done` once it went through. */
  async answer(item: T, call: () => Promise<unknown>, done: string): Promise<void> {
    this.busy = item.id;
    this.answerError = null;
    try {
      await call();
      notify(done);
    } catch (e) {
      this.answerError = this.describe(e);
    } finally {
      this.busy = null;
    }
    await this.load();
  }
}
