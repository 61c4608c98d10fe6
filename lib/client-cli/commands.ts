/**
 * The client CLI's commands, one entry each: `npm run client -- <name> ...`.
 * A command names its arguments and options and runs against a
 * GatewayTarget (the local stack, or a deployed one by name) through the
 * same stores the functions use, so an admin API could call the same code.
 * A new command is one entry here.
 */
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { createUsageStore } from '../../functions/adapters/dynamodb/usage-store';
import { clientUsage, listClients, parseLimit, revokeClient, rotateClientKey, setClientLimits } from '../../functions/domain/client-admin';
import { isDomainError } from '../../functions/domain/errors';
import type { ClientKey } from '../../functions/domain/ports';
import { rotateWebhookSecret } from '../../functions/domain/rotate-webhook-secret';
import { utcDay, type LimitsState } from '../../functions/domain/usage';
import { BILLING_RULE, usageRange, type UsageCounts } from '../../functions/domain/usage-report';
import { SETTINGS } from '../../functions/settings';
import { UsageError, type GatewayTarget } from './target';

export interface CommandOption {
  readonly type: 'string' | 'boolean';
  /** How the usage names a string option's value: `N`. */
  readonly value?: string;
  readonly description: string;
}

export interface CommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly target: GatewayTarget;
  /** Prints a line on stdout. */
  readonly print: (line: string) => void;
}

export interface ClientCommand {
  /** The arguments, as the usage shows them: `NAME`; `[NAME]` for an optional one (last). */
  readonly args: readonly string[];
  readonly summary: string;
  /** This command's own options (besides --stack and --region). */
  readonly options?: Readonly<Record<string, CommandOption>>;
  run(input: CommandInput): Promise<void>;
}

const CLIENT_NAME = /^[\w .@-]{1,100}$/;

/** A client's name, as given: 1 to 100 letters, digits, spaces or . _ @ - */
export function clientName(raw: string): string {
  const name = raw.trim();
  if (!CLIENT_NAME.test(name)) throw new UsageError('NAME: 1 to 100 letters, digits, spaces or . _ @ -');
  return name;
}

const clientsOf = (target: GatewayTarget) => createClientStore({ client: target.documentClient, clientsTable: target.tableName('clients') });
// The CLI only reads usage and sets limits: it writes no day's usage, so it needs no retention.
const usageOf = (target: GatewayTarget) =>
  createUsageStore({ client: target.documentClient, usageTable: target.tableName('usage'), retentionDays: () => SETTINGS.usageRetentionDays.default });
const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** A limit and the counter it holds: `3/10`, `3` without a limit. */
function limitText(value: number, max: number | undefined): string {
  return max === undefined ? `${value} (no limit)` : `${value}/${max}`;
}

function limitsText(limits: LimitsState, now: number): string {
  const today = limits.day === utcDay(now) ? limits.submittedToday : 0;
  return `open tasks ${limitText(Math.max(0, limits.openTasks), limits.maxOpenTasks)}, today ${limitText(today, limits.maxTasksPerDay)}`;
}

function keysText(keys: readonly ClientKey[]): string {
  const current = keys.filter((key) => key.replacedAt === undefined).length;
  const replaced = keys.filter((key) => key.replacedAt !== undefined).map((key) => `replaced ${iso(key.replacedAt!)}`);
  return [`${current} current key${current === 1 ? '' : 's'}`, ...replaced.map((text) => `1 ${text} (accepted during the overlap)`)].join(', ');
}

const COUNT_COLUMNS: readonly (keyof UsageCounts)[] = ['submitted', 'completed', 'failed_upstream', 'failed_deadline', 'refused', 'billable'];

/** A day's or a total's counts as aligned columns. */
const countsRow = (label: string, counts: UsageCounts) => [label.padEnd(12), ...COUNT_COLUMNS.map((column) => String(counts[column]).padStart(column.length))].join('  ');

/** A string option's value, trimmed ('' is refused as no value). */
function stringOption(options: CommandInput['options'], name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} needs a value`);
  return value.trim();
}

/** A rule of the gateway refused what was asked (a bad limit, a day): shown with the usage. */
async function asUsage<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isDomainError(error) && error.kind === 'invalid') throw new UsageError(error.message);
    throw error;
  }
}

export const COMMANDS: Readonly<Record<string, ClientCommand>> = {
  create: {
    args: ['NAME'],
    summary: 'creates a client and prints its id, API key and webhook secret (shown once: only the key\'s hash is stored)',
    run: async ({ args, target, print }) => {
      const clients = clientsOf(target);
      const created = await clients.create(clientName(args[0]));
      print(
        [
          `Client "${created.name}" created in ${target.description}.`,
          '',
          `  client id       ${created.clientId}`,
          `  API key         ${created.apiKey}`,
          `  webhook secret  ${created.webhookSecret}`,
          '',
          'Store the API key and the webhook secret now: they are shown only this once (the key is stored as a hash).',
          'Send the key as "Authorization: Bearer <key>"; verify notifications with the secret (Standard Webhooks).',
        ].join('\n'),
      );
    },
  },
  'rotate-webhook-secret': {
    args: ['NAME'],
    summary: "issues the client (NAME, or its id) a new webhook secret (shown once); notifications are signed with the old one too for the stage's webhookSecretOverlapSeconds",
    run: async ({ args, target, print }) => {
      const clients = clientsOf(target);
      const { client, rotated } = await rotateWebhookSecret(clients, args[0].trim());
      print(
        [
          `Webhook secret of client "${client.name}" (${client.clientId}) rotated in ${target.description}.`,
          '',
          `  webhook secret  ${rotated.webhookSecret}`,
          '',
          'Store it now: it is shown only this once. Notifications carry a signature with the old secret too, for the',
          "stage's webhookSecretOverlapSeconds after now; switch your verification to the new secret within it.",
        ].join('\n'),
      );
    },
  },
  list: {
    args: [],
    summary: 'lists every client: id, state (active or revoked), keys, limits and the counters they hold (open tasks, submitted today)',
    run: async ({ target, print }) => {
      const summaries = await listClients(clientsOf(target), usageOf(target));
      const now = nowSeconds();
      print(`${summaries.length} client${summaries.length === 1 ? '' : 's'} in ${target.description}.`);
      for (const { client, keys, limits } of summaries) {
        print('');
        print(`  ${client.name}  (${client.clientId})`);
        print(`      created ${iso(client.createdAt)}; ${client.revokedAt === undefined ? 'active' : `revoked ${iso(client.revokedAt)}`}`);
        print(`      ${keysText(keys)}${client.keyRotatedAt === undefined ? '' : `; key rotated ${iso(client.keyRotatedAt)}`}`);
        print(`      ${limitsText(limits, now)}`);
      }
    },
  },
  revoke: {
    args: ['NAME'],
    summary: "revokes the client (NAME, or its id): deletes every key of it; requests with them are refused within the stage's authorizerCacheTtlSeconds (300 s by default)",
    run: async ({ args, target, print }) => {
      const revoked = await revokeClient(clientsOf(target), args[0].trim());
      print(
        [
          revoked.already
            ? `Client "${revoked.client.name}" (${revoked.client.clientId}) was already revoked (${iso(revoked.revokedAt)}) in ${target.description}; ${revoked.keysDeleted} key(s) deleted now.`
            : `Client "${revoked.client.name}" (${revoked.client.clientId}) revoked in ${target.description}: ${revoked.keysDeleted} key(s) deleted.`,
          '',
          "Its keys are refused as soon as API Gateway's cached verdict on each expires: within the stage's authorizerCacheTtlSeconds",
          '(300 s by default; the authorizer keeps no cache of its own). Its tasks already open run to their end.',
        ].join('\n'),
      );
    },
  },
  'rotate-key': {
    args: ['NAME'],
    summary: "issues the client (NAME, or its id) a new API key (shown once); the old key stays accepted for the stage's clientKeyOverlapSeconds (24 h by default)",
    options: {
      'no-overlap': { type: 'boolean', description: 'delete the old key(s) at once (a leaked key): refused within authorizerCacheTtlSeconds' },
    },
    run: async ({ args, options, target, print }) => {
      const keepOld = options['no-overlap'] !== true;
      const { client, rotated } = await rotateClientKey(clientsOf(target), args[0].trim(), { keepOld });
      print(
        [
          `API key of client "${client.name}" (${client.clientId}) rotated in ${target.description}.`,
          '',
          `  API key  ${rotated.apiKey}`,
          '',
          'Store it now: it is shown only this once (the key is stored as a hash). It works at once.',
          keepOld
            ? `The old key stays accepted for the stage's clientKeyOverlapSeconds (${SETTINGS.clientKeyOverlapSeconds.default} s by default) after now, ` +
              "and is refused within authorizerCacheTtlSeconds after that; switch within it." +
              (rotated.deleted > 0 ? ` ${rotated.deleted} key(s) an earlier rotation had replaced were deleted now.` : '')
            : `The old key(s) (${rotated.deleted}) were deleted: refused within the stage's authorizerCacheTtlSeconds (300 s by default).`,
        ].join('\n'),
      );
    },
  },
  limits: {
    args: ['NAME'],
    summary: 'shows, or sets, the limits of the client (NAME, or its id): tasks open at once, tasks per UTC day (a number, or none)',
    options: {
      'open-tasks': { type: 'string', value: 'N', description: 'tasks of the client open at once, at most (none: no limit)' },
      'tasks-per-day': { type: 'string', value: 'N', description: 'tasks the client may submit per UTC day (none: no limit)' },
    },
    run: async ({ args, options, target, print }) => {
      const change = await asUsage(() => ({
        maxOpenTasks: parseLimit(stringOption(options, 'open-tasks'), '--open-tasks'),
        maxTasksPerDay: parseLimit(stringOption(options, 'tasks-per-day'), '--tasks-per-day'),
      }));
      const now = nowSeconds();
      const { client, limits } = await setClientLimits(clientsOf(target), usageOf(target), args[0].trim(), change, now);
      const changed = change.maxOpenTasks !== undefined || change.maxTasksPerDay !== undefined;
      const shown = (value: number | undefined) => (value === undefined ? 'none' : String(value));
      print(
        [
          `Limits of client "${client.name}" (${client.clientId})${changed ? ' set' : ''} in ${target.description}:`,
          '',
          `  open tasks      ${shown(limits.maxOpenTasks).padEnd(6)} (${Math.max(0, limits.openTasks)} open now)`,
          `  tasks per day   ${shown(limits.maxTasksPerDay).padEnd(6)} (${limits.day === utcDay(now) ? limits.submittedToday : 0} submitted today, UTC)`,
          '',
          changed
            ? 'They apply from the next submission; one beyond a limit is refused with 429 (42902 open tasks, 42903 tasks per day) and Retry-After.'
            : 'Set them with --open-tasks N and --tasks-per-day N (none: no limit).',
        ].join('\n'),
      );
    },
  },
  usage: {
    args: ['[NAME]'],
    summary: 'the usage of the client (NAME, or its id), or of every client, per UTC day: submitted, completed, failed, refused, billable',
    options: {
      from: { type: 'string', value: 'YYYY-MM-DD', description: 'first UTC day (default: 29 days before --to)' },
      to: { type: 'string', value: 'YYYY-MM-DD', description: 'last UTC day, included (default: today)' },
    },
    run: async ({ args, options, target, print }) => {
      const range = await asUsage(() => usageRange(stringOption(options, 'from'), stringOption(options, 'to'), nowSeconds()));
      const reports = await clientUsage(clientsOf(target), usageOf(target), args[0]?.trim(), range);
      print(`Usage from ${range.from} to ${range.to} (UTC days) in ${target.description}. ${BILLING_RULE}`);
      for (const { client, report } of reports) {
        print('');
        print(`  ${client.name}  (${client.clientId})`);
        print(`  ${'day'.padEnd(12)}  ${COUNT_COLUMNS.join('  ')}`);
        for (const day of report.days) print(`  ${countsRow(day.day, day)}`);
        print(`  ${countsRow('total', report.totals)}`);
      }
    },
  },
};
