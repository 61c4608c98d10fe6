/**
 * `npm run client -- <command> [arguments] [--stack NAME [--region R]]`
 *
 * Administers the gateway's clients (lib/client-cli/commands.ts has the
 * commands). The target: a deployed stack by its name (its CloudFormation
 * outputs name the tables; your AWS credentials), or, with no flag, the
 * local stack `npm start` is running (lib/client-cli/target.ts).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isDomainError } from '../functions/domain/errors';
import { COMMANDS } from '../lib/client-cli/commands';
import { describeAwsFailure, resolveTarget, TargetError, UsageError } from '../lib/client-cli/target';
import { localDefault } from '../lib/local/local-stack';
import { stateFilePath } from '../lib/local/state-file';
import { parseSetting } from '../functions/settings';

const GLOBAL_OPTIONS = {
  stack: { type: 'string', value: 'NAME', description: 'a deployed stack, by name (LumaGateway-<stage>); without it, the running local stack' },
  region: { type: 'string', value: 'R', description: "the deployed stack's region (default: AWS_REGION, your profile's)" },
  help: { type: 'boolean', description: 'this text' },
} as const;

const optionLine = (option: string, spec: { type: string; value?: string; description: string }) =>
  `--${option}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`.padEnd(16) + spec.description;

function usage(): string {
  const commands = Object.entries(COMMANDS).map(([name, command]) => {
    const options = Object.entries(command.options ?? {}).map(([option, spec]) => `\n      ${optionLine(option, spec)}`);
    return `  ${[name, ...command.args].join(' ')}\n      ${command.summary}${options.join('')}`;
  });
  const options = Object.entries(GLOBAL_OPTIONS).map(([option, spec]) => `  ${optionLine(option, spec)}`);
  return [
    'usage: npm run client -- <command> [arguments] [--stack NAME [--region R]]',
    '',
    'commands:',
    ...commands,
    '',
    'options:',
    ...options,
    '',
    'Local stack (npm start running):  npm run client -- create my-app',
    'Deployed stack:                   npm run client -- create my-app --stack LumaGateway-prod --region eu-west-1',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? console.error : console.log)(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command: ${name}`);

  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options = { ...GLOBAL_OPTIONS, ...command.options } as ParseArgsConfig['options'];
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) {
    console.log(usage());
    return 0;
  }
  const required = command.args.filter((arg) => !arg.startsWith('[')).length;
  if (parsed.positionals.length < required || parsed.positionals.length > command.args.length) {
    const takes = command.args.length === 0 ? 'no argument' : command.args.join(' ');
    throw new UsageError(`${name} takes ${takes}, got ${parsed.positionals.length === 0 ? 'nothing' : parsed.positionals.join(' ')}`);
  }
  for (const option of ['stack', 'region'] as const) {
    if (parsed.values[option] === '') throw new UsageError(`--${option} needs a value`);
  }

  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const target = await resolveTarget({
    stack: parsed.values.stack as string | undefined,
    region: parsed.values.region as string | undefined,
    stateFile: stateFilePath(parseSetting('stateFile', process.env.LOCAL_STATE_FILE, 'env', localDefault('stateFile'))!),
  });
  try {
    await command.run({ args: parsed.positionals, options: parsed.values as Record<string, string | boolean | undefined>, target, print: (line) => console.log(line) });
  } catch (error) {
    if (error instanceof UsageError || error instanceof TargetError) throw error;
    // A refusal of the gateway's own rules (no such client, a name shared by two): its message says what to do.
    if (isDomainError(error)) throw new TargetError(`${name}: ${error.message}`);
    throw new TargetError(`${name} failed: ${describeAwsFailure(error, target.description)}`);
  } finally {
    target.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${usage()}`);
      process.exitCode = 2;
    } else {
      console.error(error instanceof TargetError ? error.message : `unexpected failure: ${(error as Error)?.message ?? String(error)}`);
      process.exitCode = 1;
    }
  },
);
