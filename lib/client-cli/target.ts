/**
 * Which gateway the client CLI administers, and how it reaches its tables:
 *
 * - `--stack NAME [--region R]`: a deployed stack, found by its name; its
 *   CloudFormation outputs name the tables (ClientsTableName, ...: one per
 *   table, functions/tables.ts's tableOutputName), reached with your AWS
 *   credentials;
 * - no flag: the local stack `npm start` is running, found through the state
 *   file it writes at start (lib/local/state-file.ts).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tableOutputName, tableRoles, type TableRole } from '../../functions/tables';
import { localDynamoClient } from '../local/dynamodb-local';
import { readStackState } from '../local/state-file';

export interface GatewayTarget {
  /** For messages: "the local stack (DynamoDB at ...)", "stack LumaGateway-prod in eu-west-1". */
  readonly description: string;
  readonly documentClient: DynamoDBDocumentClient;
  /** A table's name; throws, naming the missing output, when the target has none for the role. */
  tableName(role: TableRole): string;
  close(): void;
}

/** A problem with what the user asked for: shown with the usage, exit code 2. */
export class UsageError extends Error {}

/** The target cannot be reached as asked (no local stack, no such stack): exit code 1. */
export class TargetError extends Error {}

function documentClientOf(raw: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
}

function target(description: string, raw: DynamoDBClient, tables: Partial<Record<TableRole, string>>, missing: (role: TableRole) => string): GatewayTarget {
  return {
    description,
    documentClient: documentClientOf(raw),
    tableName: (role) => {
      const name = tables[role];
      if (name === undefined) throw new TargetError(missing(role));
      return name;
    },
    close: () => raw.destroy(),
  };
}

export interface TargetOptions {
  readonly stack?: string;
  readonly region?: string;
  /** The local stack's state file (the `stateFile` setting's path). */
  readonly stateFile: string;
}

export async function resolveTarget(options: TargetOptions): Promise<GatewayTarget> {
  if (options.stack !== undefined) return deployedStack(options.stack, options.region);
  if (options.region !== undefined) throw new UsageError('--region goes with --stack NAME (the local stack needs neither)');
  const state = readStackState(options.stateFile);
  if (state === undefined) {
    throw new TargetError(`no local stack is running (start one with npm start), and no --stack NAME was given for a deployed one`);
  }
  return target(`the local stack (DynamoDB ${state.dynamoEndpoint})`, localDynamoClient(state.dynamoEndpoint, state.region), state.tables, (role) => `the local stack has no ${role} table`);
}

async function deployedStack(stackName: string, region: string | undefined): Promise<GatewayTarget> {
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  let outputs: Map<string, string>;
  let resolvedRegion: string;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = new Map((Stacks?.[0]?.Outputs ?? []).flatMap((output) => (output.OutputKey && output.OutputValue ? [[output.OutputKey, output.OutputValue] as const] : [])));
    resolvedRegion = await cloudFormation.config.region();
  } catch (error) {
    throw new TargetError(describeAwsFailure(error, `stack ${stackName}`));
  } finally {
    cloudFormation.destroy();
  }
  const tables = Object.fromEntries(tableRoles.flatMap((role) => (outputs.has(tableOutputName(role)) ? [[role, outputs.get(tableOutputName(role))!]] : [])));
  return target(`stack ${stackName} in ${resolvedRegion}`, new DynamoDBClient({ region: resolvedRegion }), tables, (role) => `stack ${stackName} has no ${tableOutputName(role)} output (deployed by an older version?)`);
}

/** An AWS SDK failure as one line a person can act on. */
export function describeAwsFailure(error: unknown, what: string): string {
  const failure = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const code = failure?.code ?? failure?.cause?.code;
  if (failure?.name === 'ValidationError' && /does not exist/.test(failure.message ?? '')) return `${what} does not exist in this region (pass --region?)`;
  if (failure?.name === 'CredentialsProviderError') return 'no AWS credentials found: configure them (aws configure, AWS_PROFILE)';
  if (/region/i.test(failure?.message ?? '') && /missing/i.test(failure?.message ?? '')) return 'no AWS region: pass --region R (or set AWS_REGION)';
  if (failure?.name === 'ResourceNotFoundException') return `${what} was not found`;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(failure?.message))) return `cannot reach ${what} (connection refused)`;
  return `${what}: ${failure?.name ? `${failure.name}: ` : ''}${failure?.message ?? String(error)}`;
}
