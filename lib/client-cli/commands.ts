/**
 * The client CLI's commands, one entry each: `npm run client -- <name> ...`.
 * A command names its arguments and options and runs against a
 * GatewayTarget (the local stack, or a deployed one by name) through the
 * same stores the functions use, so an admin API could call the same code.
 * A new command is one entry here.
 */
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { rotateWebhookSecret } from '../../functions/domain/rotate-webhook-secret';
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
  /** The arguments, as the usage shows them: `NAME`. */
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

export const COMMANDS: Readonly<Record<string, ClientCommand>> = {
  create: {
    args: ['NAME'],
    summary: 'creates a client and prints its id, API key and webhook secret (shown once: only the key\'s hash is stored)',
    run: async ({ args, target, print }) => {
      const clients = createClientStore({ client: target.documentClient, clientsTable: target.tableName('clients') });
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
      const clients = createClientStore({ client: target.documentClient, clientsTable: target.tableName('clients') });
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
};
