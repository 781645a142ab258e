import { describe, expect, it } from 'vitest';
import { checkOfflineDelay } from './access.js';

describe('offline delay bounds', () => {
  it('accepts 5 minutes to 24 hours, and null (inherit the site)', () => {
    for (const ok of [300, 3600, 86_400, null, undefined]) expect(() => checkOfflineDelay(ok, 300)).not.toThrow();
  });
  it('refuses anything shorter or longer, naming the bounds', () => {
    expect(() => checkOfflineDelay(299, 300)).toThrow('The offline delay must be from 5 minutes to 24 hours.');
    expect(() => checkOfflineDelay(86_401, 300)).toThrow(/24 hours/);
  });
});
