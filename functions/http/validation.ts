/**
 * Validation at the edge: a zod/mini schema's issues as one sentence that
 * names every field that was wrong and how (the 400's message).
 */
import * as z from 'zod/mini';
import { invalid } from '#domain/errors';

type Issue = z.core.$ZodIssue;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function describeIssue(issue: Issue, where: string): string {
  const field = [where, ...issue.path.map(String)].filter(Boolean).join('.');
  const subject = field === '' ? 'the body' : field;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `${subject} is required`;
      return `${subject} must be ${issue.expected === 'object' ? 'a JSON object' : `a ${issue.expected}`}, got ${typeName(issue.input)}`;
    case 'unrecognized_keys':
      return `${subject === 'the body' ? 'the body has' : `${subject} has`} unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
    case 'too_small':
    case 'too_big':
      return issue.message !== 'Invalid input' ? `${subject} ${issue.message}` : `${subject} has an invalid length`;
    default:
      return `${subject} ${issue.message}`;
  }
}

/** One sentence naming every field that was wrong and how (issues parsed with reportInput). */
export function describeIssues(issues: readonly Issue[], where = ''): string {
  return issues.map((issue) => describeIssue(issue, where)).join('; ');
}

export type Validation<T> = { ok: true; data: T } | { ok: false; message: string };

/** Validates a value; on failure, says which fields were wrong and how. */
export function validate<S extends z.ZodMiniType>(schema: S, value: unknown, where = ''): Validation<z.infer<S>> {
  const result = schema.safeParse(value, { reportInput: true });
  return result.success ? { ok: true, data: result.data } : { ok: false, message: describeIssues(result.error.issues, where) };
}


/** Parses a part of the request, or fails with `invalid` (400) naming each wrong field. */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = validate(schema, value, where);
  if (!result.ok) throw invalid(result.message);
  return result.data;
}
