/**
 * The kinds of value a setting can hold, each with one parser. A parser
 * takes what an environment variable or a CDK context key gives (a string
 * from the command line, a number or boolean from cdk.json) and returns the
 * typed value, or throws a message that names the setting and says what was
 * wrong. Every reader (handlers, the CDK stack, the local stack) parses
 * through these: one number parser, not three.
 */
export interface SettingKind<T> {
  /** What the value must be, for messages and the docs: "a whole number from 1". */
  readonly describe: string;
  /** Raw to typed; throws `Error(<what was wrong>)` (the caller adds the setting's name). */
  parse(raw: unknown): T;
  /** Typed to the text an environment variable carries. */
  format(value: T): string;
}

function asText(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new Error(`got ${JSON.stringify(raw)}`);
}

function bounds(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return min === 0 ? ' (0 or more)' : ` from ${min}`;
  return max !== undefined ? ` up to ${max}` : '';
}

function checkedNumber(raw: unknown, describe: string, options: { min?: number; max?: number; integer: boolean }): number {
  const text = asText(raw);
  const value = text === '' ? NaN : Number(text);
  const wrong = !Number.isFinite(value) || (options.integer && !Number.isInteger(value));
  if (wrong || (options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) {
    throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function integer(options: { min?: number; max?: number } = {}): SettingKind<number> {
  const describe = `a whole number${bounds(options.min, options.max)}`;
  return { describe, parse: (raw) => checkedNumber(raw, describe, { ...options, integer: true }), format: String };
}

/** A number above 0 (fractions allowed), for rates such as requests per second. */
export function positiveNumber(): SettingKind<number> {
  const describe = 'a number above 0';
  return {
    describe,
    parse: (raw) => {
      const value = checkedNumber(raw, describe, { integer: false });
      if (value <= 0) throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
      return value;
    },
    format: String,
  };
}

export function flag(): SettingKind<boolean> {
  return {
    describe: 'true or false',
    parse: (raw) => {
      const text = asText(raw).toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new Error(`must be true or false, got ${JSON.stringify(raw)}`);
    },
    format: String,
  };
}

export function text(options: { pattern?: RegExp; describe?: string } = {}): SettingKind<string> {
  const describe = options.describe ?? 'a text';
  return {
    describe,
    parse: (raw) => {
      const value = asText(raw);
      if (value === '' || (options.pattern && !options.pattern.test(value))) throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
      return value;
    },
    format: (value) => value,
  };
}

/** An absolute URL; trailing slashes are dropped so paths can be appended. */
export function url(options: { schemes: readonly ('http' | 'https')[] }): SettingKind<string> {
  const describe = `an ${options.schemes.join(' or ')} URL`;
  return {
    describe,
    parse: (raw) => {
      const value = asText(raw);
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
      }
      if (!options.schemes.includes(parsed.protocol.slice(0, -1) as 'http' | 'https')) throw new Error(`must be ${describe}, got ${value}`);
      return value.replace(/\/+$/, '');
    },
    format: (value) => value,
  };
}

export function oneOf<const T extends string | number>(values: readonly T[]): SettingKind<T> {
  const describe = `one of ${values.join(', ')}`;
  return {
    describe,
    parse: (raw) => {
      const text = asText(raw);
      const found = values.find((value) => String(value) === text);
      if (found === undefined) throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
      return found;
    },
    format: String,
  };
}

/** Comma-separated values of one kind, such as a retry schedule `0,60,300`. */
export function listOf<T>(item: SettingKind<T>, options: { minItems?: number } = {}): SettingKind<readonly T[]> {
  const describe = `a comma-separated list of ${item.describe.replace(/^an? /, '')}s`;
  return {
    describe,
    parse: (raw) => {
      const parts = Array.isArray(raw) ? raw : asText(raw).split(',').map((part) => part.trim()).filter((part) => part !== '');
      if (parts.length < (options.minItems ?? 0)) throw new Error(`must be ${describe} (at least ${options.minItems}), got ${JSON.stringify(raw)}`);
      return parts.map((part) => {
        try {
          return item.parse(part);
        } catch {
          throw new Error(`must be ${describe}, got ${JSON.stringify(raw)}`);
        }
      });
    },
    format: (values) => values.map((value) => item.format(value)).join(','),
  };
}

/** A kind, or the word `none` for "not set at all" (undefined). */
export function orNone<T>(kind: SettingKind<T>): SettingKind<T | undefined> {
  return {
    describe: `${kind.describe}, or none`,
    parse: (raw) => (asText(raw).toLowerCase() === 'none' ? undefined : kind.parse(raw)),
    format: (value) => (value === undefined ? 'none' : kind.format(value)),
  };
}

