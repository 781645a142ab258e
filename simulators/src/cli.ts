#!/usr/bin/env node
import { parseCliArgs, runCli, USAGE } from './cli-core.js';

const cmd = parseCliArgs(process.argv.slice(2));
if (!cmd.ok) {
  process.stderr.write(`vigil-sim: ${cmd.error}\n${USAGE}\n`);
  process.exit(2);
}

try {
  const running = await runCli(cmd.value);
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
