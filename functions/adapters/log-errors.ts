/**
 * How an error appears in a log line (the Logger's JSON replacer,
 * functions/adapters/logger.ts): what an operator needs, and nothing else.
 *
 * - An expected error (a DomainError: a refused upstream, DynamoDB
 *   unavailable, a client's mistake) is its name, kind and message: its
 *   cause is what the operator looks at, never a stack.
 * - Any other error is a defect: its name, message, code, the AWS SDK's
 *   status and request id, and its stack, at most STACK_FRAMES frames, with
 *   paths relative to the project (`functions/domain/submit-generation.ts:233:11`,
 *   through the source maps): the same in Lambda and on a developer's
 *   machine, with no home directory or build path in it.
 *
 * Errors never carry secrets by construction (messages name fields, not
 * values; the upstream's text is cleaned): the scrub test
 * (test/e2e/observability.e2e.test.ts) holds that.
 */
import { isDomainError } from '#domain/errors';

const STACK_FRAMES = 12;
const MAX_CAUSE_DEPTH = 3;

/** A path in a stack frame from where the project's own folders begin: everything before it is the machine's. */
const PROJECT_PATH = /(^|[\s(])(?:[^\s()]*?\/)?((?:functions|lib|bin|test|node_modules)\/[^\s()]+)/g;
/** Any other absolute path (the bundle itself, /var/task/index.mjs): its file name only. */
const OTHER_PATH = /(^|[\s(])(?:file:\/\/)?\/(?:[^\s()/]+\/)*([^\s()/]+)/g;

export function relativeStack(stack: string): string {
  const [head, ...frames] = stack.split('\n');
  return [head, ...frames.slice(0, STACK_FRAMES)]
    .map((line, index) => (index === 0 ? line : line.replace(PROJECT_PATH, '$1$2').replace(OTHER_PATH, '$1$2')))
    .join('\n');
}

export type LoggedError = Record<string, unknown>;

export function loggedError(error: Error, depth = 0): LoggedError {
  const cause = (error as { cause?: unknown }).cause;
  const loggedCause = depth < MAX_CAUSE_DEPTH && cause instanceof Error ? loggedError(cause, depth + 1) : undefined;
  if (isDomainError(error)) {
    return { name: error.name, kind: error.kind, message: error.message, ...(loggedCause && { cause: loggedCause }) };
  }
  const { code, $fault, $metadata } = error as { code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } };
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' && { code }),
    ...(typeof $fault === 'string' && { fault: $fault }),
    ...($metadata && { http_status: $metadata.httpStatusCode, aws_request_id: $metadata.requestId, attempts: $metadata.attempts }),
    ...(typeof error.stack === 'string' && { stack: relativeStack(error.stack) }),
    ...(loggedCause && { cause: loggedCause }),
  };
}

/** The Logger's JSON replacer: every Error, wherever it sits in a line, as loggedError() has it. */
export function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? loggedError(value) : value;
}
