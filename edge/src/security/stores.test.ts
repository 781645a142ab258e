import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../store.js';
import { tempDir } from '../test/util.js';
import { Sealer, SecretKeyError } from './sealed.js';
import { leaked, rawDatabase, readDirectly, writeDirectly } from './test/at-rest.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function dir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

const SECRET = 'd6f1a0c4b9e8473f5a2c6e1d0b9f8a7c';
const creds = { edgeId: 'E1X', username: 'edge:E1X', password: SECRET };
const storedPassword = (d: string): Promise<unknown> => readDirectly(path.join(d, 'edge.sqlite'), 'SELECT password FROM credentials WHERE id = 1');

describe("the edge's MQTT secret at rest", () => {
  it('is sealed in edge.sqlite and read back at the next start', async () => {
    const d = await dir();
    const s = await Store.open(d);
    await s.setCredentials(creds);
    expect(await s.getCredentials()).toEqual(creds);
    expect(leaked(await rawDatabase(d, 'edge.sqlite'), [SECRET])).toEqual([]);
    expect(await storedPassword(d)).toMatch(/^v1\./);
    await s.close();
    const again = await Store.open(d);
    cleanups.push(() => again.close());
    expect(await again.getCredentials()).toEqual(creds);
  });

  it('is sealed at open when an older version stored it in plain text, with no copy left behind', async () => {
    const d = await dir();
    const file = path.join(d, 'edge.sqlite');
    await writeDirectly(file, [
      ['PRAGMA journal_mode=WAL', []],
      ['CREATE TABLE credentials (id INTEGER PRIMARY KEY CHECK (id = 1), edge_id TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL, stored_at INTEGER NOT NULL)', []],
      ['INSERT INTO credentials VALUES (1, ?, ?, ?, ?)', [creds.edgeId, creds.username, SECRET, Date.now()]],
    ]);
    expect(leaked(await rawDatabase(d, 'edge.sqlite'), [SECRET])).toEqual([SECRET]);
    const s = await Store.open(d);
    cleanups.push(() => s.close());
    expect(await s.getCredentials()).toEqual(creds);
    expect(await storedPassword(d)).toMatch(/^v1\./);
    expect(leaked(await rawDatabase(d, 'edge.sqlite'), [SECRET])).toEqual([]);
  });

  it('is refused with a clear error when the box key cannot open it, and kept for the right key', async () => {
    const d = await dir();
    const s = await Store.open(d);
    await s.setCredentials(creds);
    await s.close();
    const wrong = await Store.open(d, Sealer.fromKey(randomBytes(32)));
    const err: unknown = await wrong.getCredentials().catch((e: unknown) => e);
    await wrong.close();
    expect(err).toBeInstanceOf(SecretKeyError);
    expect((err as Error).message).toMatch(/edge\.sqlite: the stored MQTT secret cannot be opened.*restore the box's key/);
    expect((err as Error).message).not.toContain(SECRET);
    const again = await Store.open(d);
    cleanups.push(() => again.close());
    expect(await again.getCredentials()).toEqual(creds);
  });
});
