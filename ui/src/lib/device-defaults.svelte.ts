import type { DeviceDefaults } from '@vigil/protocol/api';
import { api, errorMessage } from './api';

/** Whether a dialog uses the installer's saved default device password or one typed in. */
export type PasswordMode = 'defaults' | 'custom';

/**
 * The installer's saved default device password as a dialog sees it: loaded when the dialog opens, the saved one
 * chosen when there is one, and an answer that arrives after the dialog closed ignored.
 */
export class SavedDefaults {
  defaults = $state<DeviceDefaults | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  mode = $state<PasswordMode>('custom');
  private generation = 0;

  get hasPassword(): boolean {
    return this.defaults?.hasPassword ?? false;
  }

  /** Forgets what was loaded before and loads again. */
  async load(): Promise<void> {
    const gen = ++this.generation;
    this.defaults = null;
    this.error = null;
    this.mode = 'custom';
    this.loading = true;
    try {
      const d = await api.getDeviceDefaults();
      if (gen !== this.generation) return;
      this.defaults = d;
      this.mode = d.hasPassword ? 'defaults' : 'custom';
    } catch (e) {
      if (gen !== this.generation) return;
      this.error = `Your default device password could not be checked: ${errorMessage(e)}`;
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  /** The dialog closed: an answer still on its way is not wanted any more. */
  forget(): void {
    this.generation++;
    this.loading = false;
  }

  /** The saved defaults went away meanwhile (deleted elsewhere): a password must be typed in. */
  lost(): void {
    this.defaults = null;
    this.mode = 'custom';
  }
}
