import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { fail, ok, type Result } from './result.js';

export interface Decoder<T extends TSchema> {
  readonly schema: T;
  decode(value: unknown): Result<Static<T>>;
}

/** Compiles a schema once and returns a decoder whose errors name the first bad field. */
export function decoder<T extends TSchema>(schema: T): Decoder<T> {
  const validator = Compile(schema);
  return {
    schema,
    decode(value) {
      if (validator.Check(value)) return ok(value as Static<T>);
      const first = validator.Errors(value)[0];
      if (!first) return fail('invalid value');
      const where = first.instancePath === '' ? 'value' : first.instancePath;
      return fail(`${where}: ${first.message}`);
    },
  };
}
