/**
 * `npm run client` as the README and docs/operations.md show it, run as a
 * process: against the running local stack with no flag (it finds the
 * stack through the state file `npm start` writes), and against a deployed
 * stack by its name (a CloudFormation endpoint on loopback answers
 * DescribeStacks with the outputs, DynamoDB Local holds the tables). The
 * key it prints is one the API accepts. Nothing printed here holds a key.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClientStore } from '../../functions/adapters/dynamodb/client-store';
import { tableOutputName, tableRoles } from '../../functions/tables';
import { checkResponsesFrom } from '../support/api-responses';
import { startCloudFormationEndpoint, type CloudFormationEndpoint } from '../support/cloudformation-endpoint';
import { createTestTables, type TestTables } from '../support/dynamo';
import { runClientCli } from '../support/client-cli';
import { launch, READY_BANNER, stackEnv, type LocalProcess } from '../support/local-process';

jest.setTimeout(90_000);

const stateDir = mkdtempSync(join(tmpdir(), 'luma-cli-'));
const stateFile = join(stateDir, 'stack.json');

/** `npm run client -- ...args` against this file's state file (the running local stack), or with the given environment. */
const client = (args: string[], env: NodeJS.ProcessEnv = {}) => runClientCli(args, { LOCAL_STATE_FILE: stateFile, ...env });

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe('against the running local stack, with no flag', () => {
  let local: LocalProcess;
  let stack: { url: string };

  beforeAll(async () => {
    local = launch('tsx', stackEnv({ LOCAL_STATE_FILE: stateFile }));
    const banner = await local.waitForOutput(READY_BANNER, 60_000);
    stack = { url: /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1] };
    checkResponsesFrom(stack.url);
  });
  afterAll(async () => {
    if (local.root.exitCode === null) {
      process.kill(-local.root.pid!, 'SIGKILL');
      await local.exited();
    }
  });

  it('creates a client whose key the API accepts', async () => {
    const created = await client(['create', 'cli-e2e']);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toContain('Client "cli-e2e" created in the local stack');
    const read = (key: string) => fetch(`${stack.url}/luma/generations/${randomUUID()}`, { headers: { Authorization: `Bearer ${key}` } });
    expect((await read(created.key!)).status).toBe(404);
    expect((await read(`lgw_${randomUUID().replace(/-/g, '')}`)).status).toBe(401);
  });

  it('refuses a wrong use with the usage (exit 2)', async () => {
    for (const args of [['create'], ['create', 'a', 'b'], ['frobnicate', 'x'], ['create', 'x', '--region', 'eu-west-1'], ['create', 'x', '--tabel', 't']]) {
      const refused = await client(args);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('usage: npm run client');
    }
  });

  it('once the stack has stopped, its state file is gone and the CLI says so (exit 1)', async () => {
    process.kill(-local.root.pid!, 'SIGINT');
    await local.exited();
    expect(existsSync(stateFile)).toBe(false);
    const after = await client(['create', 'too-late']);
    expect(after.status).toBe(1);
    expect(after.stderr).toContain('no local stack is running');
  });
});

describe('against a deployed stack, by its name', () => {
  let tables: TestTables;
  let cloudFormation: CloudFormationEndpoint;
  const stackName = `LumaGateway-cli${randomUUID().slice(0, 6)}`;
  const aws = () => ({
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
    AWS_ENDPOINT_URL_DYNAMODB: tables.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });

  beforeAll(async () => {
    tables = await createTestTables();
    cloudFormation = await startCloudFormationEndpoint({
      [stackName]: Object.fromEntries(tableRoles.map((role) => [tableOutputName(role), tables.names[role]])),
    });
  });
  afterAll(async () => {
    await cloudFormation?.stop();
    tables?.destroy();
  });

  it('finds the clients table in the outputs and creates the client there', async () => {
    const created = await client(['create', 'acme', '--stack', stackName, '--region', 'eu-west-1'], aws());
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toContain(`created in stack ${stackName} in eu-west-1`);
    expect(cloudFormation.described).toContain(stackName);
    const stored = await createClientStore({ client: tables.doc, clientsTable: tables.names.clients }).clientIdForKey(created.key!);
    expect(stored).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('says when the stack does not exist (exit 1)', async () => {
    const missing = await client(['create', 'acme', '--stack', 'LumaGateway-nope', '--region', 'eu-west-1'], aws());
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('stack LumaGateway-nope does not exist in this region');
  });
});
