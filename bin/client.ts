/**
 * `npm run client -- create NAME [--table TABLE] [--endpoint URL] [--region REGION]`
 * `npm run client -- rotate-webhook-secret NAME [--table TABLE] [--endpoint URL] [--region REGION]`
 *
 * create: registers a client of the gateway: prints its id, API key and
 * webhook signing secret ONCE (only the key's hash is stored).
 * rotate-webhook-secret: issues the client (by name or id) a new webhook
 * secret, printed once; notifications carry both signatures for the overlap.
 *   table:    --table, else CLIENTS_TABLE, else the local stack's table (local_Clients) when the endpoint is local
 *   endpoint: --endpoint, else DYNAMODB_ENDPOINT; without one, DynamoDB of your AWS credentials and region
 *             (the deployed stack: --table is its ClientsTableName output)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createClientStore } from '../functions/adapters/dynamodb/client-store';
import { isDomainError } from '../functions/domain/errors';
import { rotateWebhookSecret } from '../functions/domain/rotate-webhook-secret';
import { SETTINGS } from '../functions/settings';
import { localDynamoClient, tableNames } from '../lib/local/dynamodb-local';
import { localDefault } from '../lib/local/local-stack';

const DEFAULT_TABLE_PREFIX = localDefault('tablePrefix')!;

const COMMANDS = ['create', 'rotate-webhook-secret'] as const;

const USAGE = `usage: npm run client -- create NAME [--table TABLE] [--endpoint URL] [--region REGION]
       npm run client -- rotate-webhook-secret NAME [--table TABLE] [--endpoint URL] [--region REGION]

  create                 creates a client and prints its id, API key and webhook secret (shown once)
  rotate-webhook-secret  issues the client (NAME, or its id) a new webhook secret (shown once); notifications are
                         signed with the old one too for webhookSecretOverlapSeconds (${SETTINGS.webhookSecretOverlapSeconds.default} s by default)
  --table     clients table (default: CLIENTS_TABLE, or ${tableNames(DEFAULT_TABLE_PREFIX).clients} with a local endpoint)
  --endpoint  DynamoDB endpoint (default: DYNAMODB_ENDPOINT; none = AWS, with your credentials)
  --region    AWS region (default: AWS_REGION)

  Local stack:    npm run client -- create my-app --endpoint http://127.0.0.1:8000
  Deployed stack: npm run client -- create my-app --table <ClientsTableName output>`;

function usage(problem?: string): never {
  if (problem) console.error(`${problem}\n`);
  console.error(USAGE);
  process.exit(2);
}

function parse(argv: string[]) {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    process.exit(0);
  }
  if (!(COMMANDS as readonly (string | undefined)[]).includes(command)) usage(command === undefined ? 'missing command' : `unknown command: ${command}`);
  const flags: { table?: string; endpoint?: string; region?: string } = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    const flag = /^--(table|endpoint|region)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? rest[++i];
      if (value === undefined || value === '' || value.startsWith('--')) usage(`--${flag[1]} needs a value`);
      flags[flag[1] as keyof typeof flags] = value;
    } else if (arg.startsWith('-')) {
      usage(`unknown option: ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) usage(positional.length === 0 ? 'missing NAME' : `one NAME only, got: ${positional.join(' ')}`);
  const name = positional[0].trim();
  if (!/^[\w .@-]{1,100}$/.test(name)) usage('NAME: 1 to 100 letters, digits, spaces or . _ @ -');
  return { command: command as (typeof COMMANDS)[number], name, ...flags };
}

const isLoopback = (endpoint: string) => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  } catch {
    return false;
  }
};

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const endpoint = args.endpoint ?? (process.env.DYNAMODB_ENDPOINT || undefined);
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) usage(`--endpoint must be an http(s) URL, got ${endpoint}`);
  const local = endpoint !== undefined && isLoopback(endpoint);
  const table = args.table ?? (process.env.CLIENTS_TABLE || undefined) ?? (local ? tableNames(DEFAULT_TABLE_PREFIX).clients : undefined);
  if (table === undefined) usage('which clients table? pass --table (the deployed stack\'s ClientsTableName output) or set CLIENTS_TABLE');
  if (args.region) process.env.AWS_REGION = args.region;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const raw = local ? localDynamoClient(endpoint!) : new DynamoDBClient(endpoint ? { endpoint } : {});
  try {
    const clients = createClientStore({ client: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }), clientsTable: table });
    if (args.command === 'rotate-webhook-secret') {
      const { client, rotated } = await rotateWebhookSecret(clients, args.name);
      console.log(
        [
          `Webhook secret of client "${client.name}" (${client.clientId}) rotated in ${table}${endpoint ? ` at ${endpoint}` : ''}.`,
          '',
          `  webhook secret  ${rotated.webhookSecret}`,
          '',
          'Store it now: it is shown only this once. Notifications carry a signature with the old secret too, for the',
          "stage's webhookSecretOverlapSeconds after now; switch your verification to the new secret within it.",
        ].join('\n'),
      );
      return;
    }
    const created = await clients.create(args.name);
    console.log(
      [
        `Client "${created.name}" created in ${table}${endpoint ? ` at ${endpoint}` : ''}.`,
        '',
        `  client id       ${created.clientId}`,
        `  API key         ${created.apiKey}`,
        `  webhook secret  ${created.webhookSecret}`,
        '',
        'Store the API key and the webhook secret now: they are shown only this once (the key is stored as a hash).',
        'Send the key as "Authorization: Bearer <key>"; verify notifications with the secret (Standard Webhooks).',
      ].join('\n'),
    );
  } catch (error) {
    const cause = (error as { cause?: { name?: string; message?: string; code?: string } }).cause ?? (error as Error);
    const name = cause?.name ?? '';
    const code = (cause as { code?: string })?.code ?? (cause as { cause?: { code?: string } })?.cause?.code;
    if (isDomainError(error) && (error.kind === 'not-found' || error.kind === 'conflict')) {
      console.error(error.message);
    } else if (name === 'ResourceNotFoundException') {
      console.error(`Table ${table} does not exist${endpoint ? ` at ${endpoint}` : ''}.${local ? ' Is the local stack running (npm start)?' : ''}`);
    } else if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(cause?.message))) {
      console.error(`Cannot reach DynamoDB at ${endpoint}.${local ? ' Is the local stack running (npm start)? It prints its DynamoDB endpoint.' : ''}`);
    } else if (name === 'CredentialsProviderError') {
      console.error('No AWS credentials found: configure them (aws configure / AWS_PROFILE), or pass --endpoint for a local DynamoDB.');
    } else {
      console.error(`Could not create the client: ${name ? `${name}: ` : ''}${cause?.message ?? String(error)}`);
    }
    process.exitCode = 1;
  } finally {
    raw.destroy();
  }
}

void main();
