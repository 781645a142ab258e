import { and, asc, eq, inArray } from 'drizzle-orm';
import { StepState, type InitProgress, type InitStep, type LanDeviceClass } from '@vigil/protocol';
import type { ActivationJob } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { activationJobItems, activationJobs } from '../db/schema.js';

type StepReport = { state: StepState; message: string; at: string };
type Steps = Partial<Record<InitStep, StepReport>>;
type ItemResult = 'running' | 'succeeded' | 'failed';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NO_REPORT = 'no report from the edge box before the job ended';

export type ActivationJobReply = Omit<ActivationJob, 'items'> & { items: (Omit<ActivationJob['items'][number], 'steps'> & { steps: Steps })[] };

type JobRow = typeof activationJobs.$inferSelect;
type ItemRow = typeof activationJobItems.$inferSelect;

export function jobView(job: JobRow, items: ItemRow[]): ActivationJobReply {
  return {
    id: job.id,
    siteId: job.siteId,
    edgeSerial: job.edgeSerial,
    state: job.finishedAt ? 'done' : 'running',
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt ? job.finishedAt.toISOString() : null,
    items: items.map((i) => ({
      serial: i.serial,
      model: i.model,
      deviceClass: i.deviceClass as LanDeviceClass,
      ip: i.ip,
      steps: i.steps as Steps,
      result: i.result as ItemResult,
    })),
  };
}

/** The jobs with their items, in the order given. */
export async function loadJobs(db: Db, jobs: JobRow[]): Promise<ActivationJobReply[]> {
  if (jobs.length === 0) return [];
  const items = await db
    .select()
    .from(activationJobItems)
    .where(
      inArray(
        activationJobItems.jobId,
        jobs.map((j) => j.id),
      ),
    )
    .orderBy(asc(activationJobItems.serial));
  return jobs.map((j) => jobView(j, items.filter((i) => i.jobId === j.id)));
}

/** An item's result from its steps: failed as soon as one step failed; succeeded only once the job is done. */
function resultOf(steps: Steps, jobDone: boolean): ItemResult {
  const reports = Object.values(steps);
  if (reports.some((r) => r.state === StepState.failed)) return 'failed';
  if (!jobDone) return 'running';
  return reports.length > 0 && reports.every((r) => r.state === StepState.done || r.state === StepState.skipped) ? 'succeeded' : 'failed';
}

/** At the end of a job, a step still running (or a device never reported on) has failed for want of a report. */
function closeSteps(steps: Steps, at: string): Steps {
  const closed: Steps = { ...steps };
  for (const [step, r] of Object.entries(closed) as [InitStep, StepReport][]) {
    if (r.state === StepState.running) closed[step] = { state: StepState.failed, message: r.message ? `${r.message}; ${NO_REPORT}` : NO_REPORT, at };
  }
  if (Object.keys(closed).length === 0) closed.activate = { state: StepState.failed, message: NO_REPORT, at };
  return closed;
}

/**
 * Applies one progress report of an edge to its job. Only a job of that edge, in the company that owns the
 * edge now, is ever touched; reports for finished jobs, unknown jobs or devices change nothing. Each step
 * keeps its latest report (by the time the edge stamped the event). Returns the job changed, if any.
 */
export async function applyProgress(
  tx: Tx,
  edge: { serial: string; companyId: string },
  progress: InitProgress,
  at: Date,
): Promise<{ companyId: string; siteId: string; jobId: string } | null> {
  if (!UUID.test(progress.jobId)) return null;
  const [job] = await tx
    .select()
    .from(activationJobs)
    .where(and(eq(activationJobs.id, progress.jobId), eq(activationJobs.edgeSerial, edge.serial), eq(activationJobs.companyId, edge.companyId)))
    .for('update');
  if (!job || job.finishedAt) return null;
  const changed = { companyId: job.companyId, siteId: job.siteId, jobId: job.id };

  if (!('serial' in progress)) {
    const now = new Date();
    const items = await tx.select().from(activationJobItems).where(eq(activationJobItems.jobId, job.id));
    for (const item of items) {
      if (item.result !== 'running') continue;
      const steps = resultOf(item.steps as Steps, true) === 'succeeded' ? (item.steps as Steps) : closeSteps(item.steps as Steps, at.toISOString());
      await tx
        .update(activationJobItems)
        .set({ steps, result: resultOf(steps, true) })
        .where(and(eq(activationJobItems.jobId, job.id), eq(activationJobItems.serial, item.serial)));
    }
    await tx.update(activationJobs).set({ finishedAt: now }).where(eq(activationJobs.id, job.id));
    return changed;
  }

  const [item] = await tx
    .select()
    .from(activationJobItems)
    .where(and(eq(activationJobItems.jobId, job.id), eq(activationJobItems.serial, progress.serial)))
    .for('update');
  if (!item) return null;
  const steps = { ...(item.steps as Steps) };
  const previous = steps[progress.step];
  if (previous && Date.parse(previous.at) > at.getTime()) return null; // an older report arriving late
  steps[progress.step] = { state: progress.state, message: progress.message, at: at.toISOString() };
  await tx
    .update(activationJobItems)
    .set({ steps, result: resultOf(steps, false) })
    .where(and(eq(activationJobItems.jobId, job.id), eq(activationJobItems.serial, item.serial)));
  return changed;
}
