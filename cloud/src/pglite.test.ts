import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startCloud } from './server.js';
import { ApiClient, registerCompany } from './testing/cloud.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-pglite-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('runs on the embedded database when no DATABASE_URL is given, and keeps its data across restarts', async () => {
  const config = loadConfig({ VIGIL_HTTP_PORT: '0', VIGIL_DATA_DIR: dataDir, VIGIL_LOG_LEVEL: 'silent' });
  let cloud = await startCloud(config);
  const { email, password } = await registerCompany(`${cloud.url}/api/v1`);
  const client = new ApiClient(`${cloud.url}/api/v1`);
  await client.post('/auth/login', { email, password });
  expect((await client.post('/sites', { name: 'Kept', type: 'team', timeZone: 'Asia/Tokyo' })).status).toBe(201);
  await cloud.close();

  cloud = await startCloud(config);
  try {
    const again = new ApiClient(`${cloud.url}/api/v1`);
    expect((await again.post('/auth/login', { email, password })).status).toBe(200);
    const sites = await again.get<{ items: { name: string }[] }>('/sites');
    expect(sites.body.items.map((s) => s.name)).toEqual(['Kept']);
  } finally {
    await cloud.close();
  }
}, 120_000);
