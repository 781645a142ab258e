import { focusFirstInvalid, splitError, type FieldErrors } from './forms';

/**
 * What every form dialog keeps while it is filled in and sent: whether it was submitted (client checks show from
 * then on), whether it is sending, the server's field errors and the banner for the rest. `send` runs the checks,
 * the call and the error mapping the same way everywhere.
 */
export class FormState {
  submitted = $state(false);
  busy = $state(false);
  serverErrors = $state<FieldErrors>({});
  banner = $state<string | null>(null);

  constructor(
    /** The API's body paths → the form's field keys. */
    private readonly fields: Record<string, string> = {},
    /** Error codes shown next to a field → that field's key. */
    private readonly codes: Record<string, string> = {},
  ) {}

  reset(): void {
    this.submitted = false;
    this.busy = false;
    this.serverErrors = {};
    this.banner = null;
  }

  clear(field: string): void {
    delete this.serverErrors[field];
  }

  /**
   * Marks the form submitted; when `clientErrors()` (computed after that) finds nothing, runs `call`, mapping its
   * refusal onto fields and banner. Returns what the call returned, or null when it did not run or failed.
   */
  async send<T>(form: HTMLElement | undefined, clientErrors: () => FieldErrors, call: () => Promise<T>): Promise<T | null> {
    this.submitted = true;
    this.serverErrors = {};
    this.banner = null;
    if (Object.keys(clientErrors()).length > 0) {
      await focusFirstInvalid(form);
      return null;
    }
    this.busy = true;
    try {
      return await call();
    } catch (e) {
      const split = splitError(e, this.fields, this.codes);
      this.serverErrors = split.fields;
      this.banner = split.banner;
      await focusFirstInvalid(form);
      return null;
    } finally {
      this.busy = false;
    }
  }
}
