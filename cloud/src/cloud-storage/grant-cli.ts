#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { RETENTION_DAYS, type PackageOrderBody } from '@vigil/protocol/api';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { companies } from '../db/schema.js';
import { grantPackage } from './packages.js';

const USAGE = `usage: node cloud/dist/cloud-storage/grant-cli.js --company <company id> --channels <n> [--retention ${RETENTION_DAYS.join('|')}] [--term monthly|annual] [--mode event|continuous]
Grants a Cloud Storage package to a company (a key sold elsewhere, a promotion, a replacement), with the cloud's
own settings (DATABASE_URL, or VIGIL_DATA_DIR for its embedded database, which must not be open: stop the cloud).`;

export class UsageError extends Error {}

/** The package the arguments describe; a UsageError says what is wrong. */
export function grantSpec(argv: string[]): { companyId: string; spec: PackageOrderBody } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        company: { type: 'string' },
        channels: { type: 'string' },
        retention: { type: 'string', default: '30' },
        term: { type: 'string', default: 'annual' },
        mode: { type: 'string', default: 'event' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (!values.company || !/^[0-9a-f-]{36}$/i.test(values.company)) throw new UsageError('--company: expected the company id (a UUID)');
  const channels = Number(values.channels);
  if (!Number.isInteger(channels) || channels < 1 || channels > 1024) throw new UsageError('--channels: expected a whole number from 1 to 1024');
  const retentionDays = Number(values.retention);
  if (!(RETENTION_DAYS as readonly number[]).includes(retentionDays)) throw new UsageError(`--retention: expected one of ${RETENTION_DAYS.join(', ')}`);
  if (values.term !== 'monthly' && values.term !== 'annual') throw new UsageError('--term: expected monthly or annual');
  if (values.mode !== 'event' && values.mode !== 'continuous') throw new UsageError('--mode: expected event or continuous');
  return {
    companyId: values.company,
    spec: { channels, retentionDays: retentionDays as PackageOrderBody['retentionDays'], term: values.term, mode: values.mode },
  };
}

/** Grants the package and prints it as one JSON line; exit codes 64 usage, 78 configuration, 1 otherwise. */
export async function runGrant(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  let request;
  try {
    request = grantSpec(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out(`${err.message}\n${USAGE}`);
    return 64;
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out(err.message);
    return 78;
  }
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    const [company] = await database.db.select({ id: companies.id, name: companies.name }).from(companies).where(eq(companies.id, request.companyId));
    if (!company) {
      out(`no company ${request.companyId}`);
      return 1;
    }
    const granted = await grantPackage(database.db, company.id, request.spec);
    out(JSON.stringify({ company: company.name, package: granted }));
    return 0;
  } finally {
    await database.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runGrant(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`grant-cli: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
