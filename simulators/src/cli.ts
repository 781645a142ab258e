#!/usr/bin/env node
import { parseCliArgs, parseLanArgs, parsePanelsArgs, parseReceiverArgs, parseRtspArgs, runCli, runLan, runPanels, runReceiver, runRtsp, USAGE } from './cli-core.js';

const argv = process.argv.slice(2);
const start = (): { ok: true; run: () => Promise<{ ready: unknown; stop(): Promise<void> }> } | { ok: false; error: string } => {
  if (argv[0] === 'lan') {
    const spec = parseLanArgs(argv.slice(1));
    return spec.ok ? { ok: true, run: () => runLan(spec.value) } : spec;
  }
  if (argv[0] === 'panels') {
    const spec = parsePanelsArgs(argv.slice(1));
    return spec.ok ? { ok: true, run: () => runPanels(spec.value) } : spec;
  }
  if (argv[0] === 'receiver') {
    const opts = parseReceiverArgs(argv.slice(1));
    return opts.ok ? { ok: true, run: () => runReceiver(opts.value) } : opts;
  }
  if (argv[0] === 'rtsp') {
    const spec = parseRtspArgs(argv.slice(1));
    return spec.ok ? { ok: true, run: () => runRtsp(spec.value) } : spec;
  }
  const cmd = parseCliArgs(argv);
  return cmd.ok ? { ok: true, run: () => runCli(cmd.value) } : cmd;
};
const cmd = start();
if (!cmd.ok) {
  process.stderr.write(`vigil-sim: ${cmd.error}\n${USAGE}\n`);
  process.exit(2);
}

try {
  const running = await cmd.run();
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    process.off('SIGTERM', shutdown);
    process.off('SIGINT', shutdown);
    // With every socket closed the event loop empties and the process exits 0 by itself.
    running.stop().catch((e: unknown) => {
      process.stderr.write(`vigil-sim: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(`${JSON.stringify(running.ready)}\n`);
} catch (e) {
  process.stderr.write(`vigil-sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
