import type { Node } from 'constructs';
import {
  defaultOf,
  formatSetting,
  parseSetting,
  settingNames,
  settingsReadBy,
  specOf,
  type ContextSettingName,
  type OptionalValue,
  type SettingName,
  type SettingValue,
} from '../functions/settings';

/**
 * Per-stage settings of the stack, read from CDK context (cdk.json or
 * `-c key=value`): every setting functions/settings.ts marks `context`,
 * under its own name, with its default. Settings without a default are
 * undefined when a stage does not set them.
 */
export type GatewayConfig = { readonly [N in Exclude<ContextSettingName, 'deletionProtection'>]: OptionalValue<N> } & {
  /** DynamoDB deletion protection (and RETAIN on stack deletion): always on for prod. */
  readonly deletionProtection: boolean;
};

export const contextSettingNames = settingNames.filter((name) => specOf(name).context) as ContextSettingName[];

function mustBeHttps(name: 'upstreamBaseUrl' | 'callbackBaseUrl', value: string | undefined): void {
  if (value !== undefined && !value.startsWith('https://')) throw new Error(`context ${name} must be an https URL, got ${value}`);
}

export function configFromContext(node: Node): GatewayConfig {
  const values = Object.fromEntries(contextSettingNames.map((name) => [name, parseSetting(name, node.tryGetContext(name), 'context', defaultOf(name))])) as Record<
    ContextSettingName,
    unknown
  >;
  const config = values as unknown as Omit<GatewayConfig, 'deletionProtection'> & { deletionProtection?: boolean };

  if (config.stage === 'prod' && config.deletionProtection === false) {
    throw new Error('deletionProtection cannot be turned off for stage prod: the task table is the system of record');
  }
  // Deployed, both are public URLs a third party calls or is called at.
  mustBeHttps('upstreamBaseUrl', contextIsSet(node, 'upstreamBaseUrl') ? config.upstreamBaseUrl : undefined);
  mustBeHttps('callbackBaseUrl', config.callbackBaseUrl);
  if (config.taskDeadlineSeconds <= config.reconcileAfterSeconds) {
    throw new Error(
      `context taskDeadlineSeconds (${config.taskDeadlineSeconds}) must be greater than reconcileAfterSeconds (${config.reconcileAfterSeconds}): ` +
        'a task must get a chance to be reconciled before it is failed',
    );
  }
  if (config.confirmDeadlineSeconds >= config.taskDeadlineSeconds) {
    throw new Error(
      `context confirmDeadlineSeconds (${config.confirmDeadlineSeconds}) must be less than taskDeadlineSeconds (${config.taskDeadlineSeconds}): ` +
        'an unconfirmed submission is given up long before a running generation',
    );
  }
  if (config.taskRetentionDays * 86_400 <= config.taskDeadlineSeconds) {
    throw new Error(`context taskRetentionDays (${config.taskRetentionDays}) must keep tasks longer than taskDeadlineSeconds (${config.taskDeadlineSeconds})`);
  }
  return { ...config, deletionProtection: config.stage === 'prod' ? true : (config.deletionProtection ?? false) };
}

/** Whether a stage set this context key (as opposed to taking the default). */
export function contextIsSet(node: Node, name: ContextSettingName): boolean {
  const raw = node.tryGetContext(name);
  return raw !== undefined && raw !== null && raw !== '';
}

/** Setting values that come from the stack's own resources (the secret's id, the API's URL), by setting name. */
export type StackProvidedValues = { readonly [N in SettingName]?: () => string };

/**
 * The settings one function reads (`readBy` in functions/settings.ts), as
 * its environment: the stage's value, else what the stack provides (for the
 * settings it provides), else the default. Settings only the local stack
 * sets are never written.
 */
export function settingsEnvironment(functionName: string, config: GatewayConfig, provided: StackProvidedValues): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of settingsReadBy(functionName)) {
    const spec = specOf(name);
    if (spec.localOnly || spec.env === undefined) continue;
    const staged = spec.context ? ((config as Record<string, unknown>)[name] as SettingValue<typeof name> | undefined) : undefined;
    const provide = provided[name];
    if (staged === undefined && provide !== undefined) {
      environment[spec.env] = provide();
      continue;
    }
    const value = staged ?? (spec.default as SettingValue<typeof name> | undefined);
    if (value === undefined) throw new Error(`functions/${functionName} reads ${name} (${spec.env}), which has no value: set context ${name}`);
    environment[spec.env] = formatSetting(name, value);
  }
  return environment;
}
