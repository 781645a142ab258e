import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeEnvelope } from './index.js';
import { wireFixtures } from './fixtures.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('wire fixtures', () => {
  for (const f of wireFixtures) {
    it(`${f.valid ? 'accepts' : 'rejects'}: ${f.name}`, () => {
      const r = decodeMessage(f.topic, bytes(f.payload));
      expect(r.ok).toBe(f.valid);
      if (r.ok) {
        // Re-encoding gives back the very same bytes: key order and number formatting are fixed.
        expect(new TextDecoder().decode(encodeEnvelope(r.value.envelope))).toBe(f.payload);
      } else {
        expect(r.error.length).toBeGreaterThan(0);
      }
    });
  }
});
