/**
 * DynamoDB Local as the local stack runs it (lib/local/dynamodb-local.ts and
 * its launcher, LoopbackDynamoDbLocal.java), a real java process: it listens
 * on 127.0.0.1 only, its telemetry is off, and a port something else holds
 * is refused with one line, never a Java stack trace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbLocalCommand, freePort, localDynamoClient, startDynamoDbLocal, type RunningDynamoDb } from '../../lib/local/dynamodb-local';
import { PortInUseError } from '../../lib/local/net';
import { portAnswers } from '../support/local-process';

jest.setTimeout(60_000);

/** A non-loopback address of this machine of one family (e.g. eth0's), or undefined when it has none. */
function externalAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  const addresses = Object.values(networkInterfaces()).flat();
  // Link-local IPv6 addresses need a zone to be dialled; any other address of the machine will do.
  return addresses.find((a) => a && !a.internal && a.family === family && !a.address.startsWith('fe80:'))?.address;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

function listenOn(host: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
const portOf = (server: Server) => (server.address() as { port: number }).port;
const closeAll = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

let dynamo: RunningDynamoDb;
let classLogDir: string;
let classLog: string;

beforeAll(async () => {
  // The JVM's class-loading log (JAVA_TOOL_OPTIONS reaches the java it starts): what ran, and what never did.
  classLogDir = mkdtempSync(join(tmpdir(), 'dynamodb-local-test-'));
  const previous = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = `-Xlog:class+load=info:file=${join(classLogDir, 'classes.log')}`;
  try {
    dynamo = await startDynamoDbLocal();
  } finally {
    if (previous === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = previous;
  }
  const client = localDynamoClient(dynamo.endpoint);
  await client.send(new ListTablesCommand({}));
  client.destroy();
  classLog = readFileSync(join(classLogDir, 'classes.log'), 'utf8');
});
afterAll(async () => {
  await dynamo?.stop();
  rmSync(classLogDir, { recursive: true, force: true });
});

const dynamoPort = () => Number(new URL(dynamo.endpoint).port);

describe('bound to 127.0.0.1 only', () => {
  test('it answers on 127.0.0.1', async () => {
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await connects('127.0.0.1', dynamoPort())).toBe(true);
  });

  for (const family of ['IPv4', 'IPv6'] as const) {
    const address = externalAddress(family);
    // Skipped only on a machine with no non-loopback address of that family: there is nothing to reach it from.
    (address ? test : test.skip)(
      `it is not reachable on this machine's non-loopback ${family} address (${address ?? 'none on this machine: skipped'}), where a server bound to every interface is`,
      async () => {
        // The control: the address does lead to this machine, so a refusal below means DynamoDB Local is not there.
        const everywhere = await listenOn(family === 'IPv4' ? '0.0.0.0' : '::');
        try {
          expect(await connects(address!, portOf(everywhere))).toBe(true);
        } finally {
          await closeAll([everywhere]);
        }
        expect(await connects(address!, dynamoPort())).toBe(false);
      },
    );
  }
});

describe('telemetry off', () => {
  test('java gets -disableTelemetry and DDB_LOCAL_TELEMETRY=0, the two switches the jar reads', async () => {
    expect(dynamo.process.spawnargs).toContain('-disableTelemetry');
    const { spawnOptions } = await dynamoDbLocalCommand(dynamoPort());
    expect(spawnOptions.env?.DDB_LOCAL_TELEMETRY).toBe('0');
    if (process.platform === 'linux') {
      // What the running process really has, not only what was asked for.
      const environ = readFileSync(`/proc/${dynamo.process.pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain('DDB_LOCAL_TELEMETRY=0');
    }
  });

  test("java never loads the telemetry's Cognito client, which the jar builds at start (and resolves AWS hostnames for) when telemetry is on", () => {
    // The log is real: the server it records did start.
    expect(classLog).toContain('org.eclipse.jetty.server.ServerConnector ');
    expect(classLog).toContain('LoopbackDynamoDbLocal ');
    expect(classLog).not.toMatch(/software\.amazon\.awssdk\.services\.cognitoidentity\./);
    expect(classLog).not.toMatch(/software\.amazon\.awssdk\.services\.pinpoint\.PinpointClient/);
  });
});

/** Resolves once the launcher's "listening on" line is on the process's stdout. */
function listening(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes('listening on 127.0.0.1:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening`)));
  });
}

const hasStrace = spawnSync('strace', ['-V']).status === 0;

describe('no DNS', () => {
  test('java resolves names from loopback.hosts only (jdk.net.hosts.file), never from the system resolver', () => {
    const hostsFile = dynamo.process.spawnargs.find((arg) => arg.startsWith('-Djdk.net.hosts.file='))?.split('=')[1];
    expect(hostsFile).toBeDefined();
    const names = readFileSync(hostsFile!, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(names).toEqual(['127.0.0.1 localhost', '::1 localhost']);
  });

  // Skipped only where strace is not installed: the switches above are then what is checked.
  (hasStrace ? test : test.skip)(
    `under strace, from start to stop, java opens no resolver file and connects to no network address${hasStrace ? '' : ' (skipped: no strace on this machine)'}`,
    async () => {
      const log = join(classLogDir, 'strace.log');
      const { command, args, spawnOptions } = await dynamoDbLocalCommand(await freePort());
      // Every connect() fails by injection: even if this test were to fail, nothing would leave the machine.
      const traced = spawn('strace', ['-f', '-qq', '-e', 'trace=connect,openat', '-e', 'inject=connect:error=ENETUNREACH', '-o', log, command, ...args], spawnOptions);
      const exited = new Promise((resolve) => traced.once('exit', resolve));
      traced.stderr!.resume();
      await listening(traced);
      traced.stdin!.end();
      await exited;
      const trace = readFileSync(log, 'utf8');
      // The trace is real: it saw java open DynamoDB Local's jar.
      expect(trace).toContain('DynamoDBLocal.jar');
      expect(trace.split('\n').filter((line) => /sa_family=AF_INET6?\b/.test(line))).toEqual([]);
      expect(trace.split('\n').filter((line) => /"\/etc\/(resolv\.conf|hosts)"/.test(line))).toEqual([]);
    },
  );
});

describe('a port something else holds', () => {
  const holders = [
    { name: 'a server on 0.0.0.0', host: '0.0.0.0' },
    { name: 'a server on [::] (every address, both families)', host: '::' },
    { name: 'a server on 127.0.0.1', host: '127.0.0.1' },
    // A client of localhost may reach [::1] first; only where the machine has IPv6 loopback.
    ...(Object.values(networkInterfaces()).flat().some((a) => a?.address === '::1') ? [{ name: 'a server on [::1] only', host: '::1' }] : []),
  ];

  test.each(holders)('held by $name: PortInUseError naming the port and DYNAMODB_LOCAL_PORT, and java is never started', async ({ host }) => {
    const holder = await listenOn(host);
    const port = portOf(holder);
    let spawned = false;
    try {
      const failure = await startDynamoDbLocal({ port, onSpawn: () => (spawned = true) }).then(
        (running) => (void running.stop(), undefined),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(PortInUseError);
      const { message } = failure as PortInUseError;
      expect(message.split('\n')).toHaveLength(1);
      expect(message).toContain(`DynamoDB Local: port ${port} is already in use`);
      expect(message).toContain(`DYNAMODB_LOCAL_PORT=${port + 1} npm start`);
      expect(spawned).toBe(false);
    } finally {
      await closeAll([holder]);
    }
  });

  test('held by another DynamoDB Local: refused, so two stacks never share one database', async () => {
    let spawned = false;
    const failure = await startDynamoDbLocal({ port: dynamoPort(), onSpawn: () => (spawned = true) }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PortInUseError);
    expect((failure as Error).message).toContain(`port ${dynamoPort()} is already in use (something answers on 127.0.0.1:${dynamoPort()})`);
    expect(spawned).toBe(false);
    expect(await portAnswers(dynamoPort())).toBe(true);
  });

  test('taken between the check and the bind: the launcher prints one line and exits 98, no Java stack trace', async () => {
    const holder = await listenOn('127.0.0.1');
    const port = portOf(holder);
    try {
      const { command, args, spawnOptions } = await dynamoDbLocalCommand(port);
      const java = spawn(command, args, spawnOptions);
      let stderr = '';
      java.stderr!.on('data', (chunk) => (stderr += chunk));
      java.stdout!.resume();
      const code = await new Promise<number | null>((resolve) => java.once('exit', resolve));
      expect(code).toBe(98);
      expect(stderr.trim().split('\n')).toEqual([`DynamoDB Local: port ${port} on 127.0.0.1 is already in use`]);
    } finally {
      await closeAll([holder]);
    }
  });
});
