import { fail, ok, type Result } from '@vigil/protocol';
import { AlarmPanel, alarmPanelOptionsProblem, type AlarmPanelEndpoints, type AlarmPanelOptions } from './panel.js';

/** What `vigil-sim panels` reads. */
export interface PanelsSpec {
  panels: AlarmPanelOptions[];
}

/** Printed once every panel listens. */
export interface PanelsReadyLine {
  ready: true;
  panels: AlarmPanelEndpoints[];
}

/** Checks a spec read from JSON. Never throws. */
export function parsePanelsSpec(input: unknown): Result<PanelsSpec> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('spec must be an object');
  const spec = input as Record<string, unknown>;
  for (const k of Object.keys(spec)) if (k !== 'panels') return fail(`spec: unknown field ${k}`);
  if (!Array.isArray(spec.panels) || spec.panels.length === 0) return fail('spec.panels must be a non-empty array');
  for (const [i, p] of spec.panels.entries()) {
    const problem = alarmPanelOptionsProblem(p);
    if (problem) return fail(`spec.panels[${i}]: ${problem}`);
  }
  return ok(spec as unknown as PanelsSpec);
}

/** Starts the panels of a spec (all or none) and returns the ready line to print. */
export async function runPanels(spec: PanelsSpec): Promise<{ ready: PanelsReadyLine; panels: AlarmPanel[]; stop(): Promise<void> }> {
  const panels = spec.panels.map((p) => new AlarmPanel(p));
  const stop = async (): Promise<void> => {
    await Promise.all(panels.map((p) => p.stop()));
  };
  try {
    for (const p of panels) await p.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { ready: { ready: true, panels: panels.map((p) => p.endpoints) }, panels, stop };
}
