import { tick } from 'svelte';
import { PASSWORD_MAX, PASSWORD_MIN, passwordProblem } from '@vigil/protocol/api';
import { ApiError, errorMessage } from './api';

export { EMAIL_RE } from '@vigil/protocol/api';

export type FieldErrors = Record<string, string>;

/**
 * The field a validation message is about, as a slash path below the body ("admin/email"), from
 * messages such as `body/admin/email must match format "email"` or `body must have required property 'name'`.
 */
export function validationPath(message: string): { path: string; rest: string } | null {
  const m = /^(?:body|querystring|params)((?:\/[A-Za-z0-9_]+)*)\s+(.*)$/s.exec(message);
  if (!m) return null;
  let path = (m[1] ?? '').replace(/^\//, '');
  const rest = m[2] ?? '';
  const required = /required property '([^']+)'/.exec(rest);
  if (required) path = path ? `${path}/${required[1]}` : (required[1] ?? '');
  return path ? { path, rest } : null;
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * Splits a refusal into errors shown next to fields and a banner for the rest.
 * `fields` maps the API's body path to the form's field key; `codes` maps error codes to field keys.
 */
export function splitError(
  error: unknown,
  fields: Record<string, string>,
  codes: Record<string, string> = {},
): { fields: FieldErrors; banner: string | null } {
  if (error instanceof ApiError) {
    const byCode = codes[error.code];
    if (byCode) return { fields: { [byCode]: error.message }, banner: null };
    if (error.code === 'VALIDATION_FAILED') {
      const found = validationPath(error.message);
      const key = found ? fields[found.path] : undefined;
      if (found && key) return { fields: { [key]: sentence(found.rest) }, banner: null };
    }
  }
  return { fields: {}, banner: errorMessage(error) };
}

/** Moves focus to the first field of the form that is marked invalid, so its error is announced. */
export async function focusFirstInvalid(form: HTMLElement | null | undefined): Promise<void> {
  await tick();
  form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}

/** The account password policy, as the forms that set a password state it. */
export const PASSWORD_POLICY_TEXT = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters with at least three of: upper-case letters, lower-case letters, digits, other characters. It must not contain the name part of your email address.`;

/** Adds the errors of a new password and its confirmation to `errors` (the policy is the server's, from protocol). */
export function checkNewPassword(errors: FieldErrors, password: string, confirm: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (!password) errors.password = 'Choose a password.';
  else if (problem) errors.password = problem;
  if (!confirm) errors.confirm = 'Enter the password again.';
  else if (confirm !== password) errors.confirm = 'The passwords do not match.';
}
