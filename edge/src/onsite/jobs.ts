import { shortSerial, type LanInitializeParams } from '@vigil/protocol';
import type { Logger } from '../log.js';
import { runInitJob, type InitJobOptions } from './job.js';

const REMEMBERED_JOBS = 256;

export type OnsiteJobsOptions = Omit<InitJobOptions, 'signal' | 'unavailable'> & { log: Logger };

/**
 * The initialization jobs of this agent, run in the background. A job id runs once (a repeated request is
 * accepted and ignored); a device is never worked on by two jobs at once: the later job reports it failed.
 * Jobs live in memory only: a restart ends them without their `job.done`.
 */
export class OnsiteJobs {
  private readonly running = new Map<string, Promise<void>>();
  private readonly finished = new Set<string>();
  /** Device (short serial) → the job working on it. */
  private readonly busy = new Map<string, string>();
  private readonly abort = new AbortController();

  constructor(private readonly opts: OnsiteJobsOptions) {}

  get active(): number {
    return this.running.size;
  }

  /** Starts the job; false when this job id is already running or has run, or the agent is stopping. */
  start(params: LanInitializeParams): boolean {
    const { jobId } = params;
    if (this.abort.signal.aborted || this.running.has(jobId) || this.finished.has(jobId)) return false;
    const unavailable = new Map<string, string>();
    const mine: string[] = [];
    for (const d of params.devices) {
      const key = shortSerial(d.serial) ?? d.serial;
      const other = this.busy.get(key);
      if (other !== undefined && other !== jobId) unavailable.set(d.serial, `another job (${other}) is initializing this device`);
      else if (other === undefined) {
        this.busy.set(key, jobId);
        mine.push(key);
      }
    }
    const { log, ...jobOpts } = this.opts;
    log.info('initialization job started', { jobId, devices: params.devices.length, busy: unavailable.size });
    const p = runInitJob(params, { ...jobOpts, unavailable, signal: this.abort.signal })
      .then(
        () => log.info('initialization job done', { jobId }),
        (err: unknown) => log.warn('initialization job ended early', { jobId, err }),
      )
      .finally(() => {
        for (const key of mine) if (this.busy.get(key) === jobId) this.busy.delete(key);
        this.running.delete(jobId);
        this.finished.add(jobId);
        if (this.finished.size > REMEMBERED_JOBS) {
          const oldest = this.finished.values().next().value;
          if (oldest !== undefined) this.finished.delete(oldest);
        }
      });
    this.running.set(jobId, p);
    return true;
  }

  /** The job working on this device now, or undefined. */
  busyWith(serial: string): string | undefined {
    return this.busy.get(shortSerial(serial) ?? serial);
  }

  /** Resolves when this job has ended (at once when it is not running). */
  whenDone(jobId: string): Promise<void> {
    return this.running.get(jobId) ?? Promise.resolve();
  }

  /** Stops every job (their requests are aborted) and waits for them to end. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('the agent is stopping'));
    await Promise.allSettled([...this.running.values()]);
  }
}
