import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Package } from '@vigil/protocol/api';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { runGrant } from './grant-cli.js';

let cloud: TestCloud;
let dataDir: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-grant-'));
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function grant(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runGrant(argv, { DATABASE_URL: cloud.ctx.config.databaseUrl!, VIGIL_DATA_DIR: dataDir }, (l) => out.push(l));
  return { code, out };
}

describe('granting a Cloud Storage package from the command line', () => {
  it('grants the package, which the company then holds', async () => {
    const company = await registerCompany(cloud.api);
    const { code, out } = await grant(['--company', company.companyId, '--channels', '8', '--retention', '7', '--term', 'annual']);
    expect(code, out.join('\n')).toBe(0);
    const printed = JSON.parse(out[0]!) as { package: Package };
    expect(printed.package).toMatchObject({ retentionDays: 7, term: 'annual', mode: 'event', origin: 'granted', channels: 8, used: 0 });
    const held = await company.client.get<{ items: Package[] }>('/cloud-storage/packages');
    expect(held.body.items.map((p) => p.id)).toEqual([printed.package.id]);
  });

  it('refuses bad arguments and an unknown company, granting nothing', async () => {
    const company = await registerCompany(cloud.api);
    for (const argv of [
      ['--channels', '8'],
      ['--company', company.companyId, '--channels', '0'],
      ['--company', company.companyId, '--channels', '2', '--retention', '14'],
      ['--company', company.companyId, '--channels', '2', '--term', 'weekly'],
      ['--company', company.companyId, '--channels', '2', '--colour', 'blue'],
    ]) {
      const r = await grant(argv);
      expect(r.code, argv.join(' ')).toBe(64);
      expect(r.out.join('\n')).toMatch(/usage:/);
    }
    expect((await grant(['--company', '00000000-0000-4000-8000-000000000000', '--channels', '2'])).code).toBe(1);
    expect((await company.client.get<{ items: Package[] }>('/cloud-storage/packages')).body.items).toEqual([]);
  });
});
