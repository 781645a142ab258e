#!/usr/bin/env node
import { fork, type ChildProcess } from 'node:child_process';
import { siblingModule } from './bus.js';

/**
 * The supervisor: runs the agent process, restarts it at once when it asks to (exit 75, reboot) and
 * with growing delays when it crashes; forwards SIGTERM/SIGINT and exits with the agent after one.
 * Prints nothing on stdout: the agent's lines pass through unchanged.
 */
const EXIT_REBOOT = 75;
const EXIT_CONFIG = 78;
const STABLE_MS = 60_000;

const agent = siblingModule(import.meta.url, 'agent-main');
let child: ChildProcess | null = null;
let signalled = false;
let crashes = 0;
let restartTimer: NodeJS.Timeout | null = null;

const note = (msg: string, fields: Record<string, unknown> = {}): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg, proc: 'supervisor', ...fields })}\n`);
};

function start(): void {
  const startedAt = Date.now();
  const c = fork(agent.module, process.argv.slice(2), { execArgv: agent.execArgv, stdio: 'inherit' });
  child = c;
  c.on('exit', (code, signal) => {
    child = null;
    if (signalled) process.exit(code ?? 1);
    if (code === EXIT_REBOOT) {
      note('agent restarting on request');
      start();
      return;
    }
    if (code === EXIT_CONFIG) {
      note('agent refused its configuration; not restarting');
      process.exit(EXIT_CONFIG);
    }
    if (Date.now() - startedAt > STABLE_MS) crashes = 0;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(crashes, 6));
    crashes++;
    note('agent exited unexpectedly, restarting', { code, signal, delayMs: delay });
    restartTimer = setTimeout(() => {
      restartTimer = null;
      start();
    }, delay);
  });
}

const onSignal = (signal: NodeJS.Signals): void => {
  signalled = true;
  if (restartTimer) clearTimeout(restartTimer);
  if (child) child.kill(signal);
  else process.exit(0);
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

start();
