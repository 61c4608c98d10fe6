/** Synthesises the stack for infrastructure tests and reads the template. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addGatewayStacks } from '../../lib/app';
import type { RouteDefinition } from '../../functions/routes';
import { settingNames, specOf } from '../../functions/settings';
import { TABLES, tableRoles } from '../../functions/tables';

/**
 * Environment variable names, by setting name (functions/settings.ts) and
 * `<role>Table` for the table names (functions/tables.ts).
 */
export const ENV: Readonly<Record<string, string>> = {
  ...Object.fromEntries(settingNames.flatMap((name) => (specOf(name).env ? [[name, specOf(name).env!]] : []))),
  ...Object.fromEntries(tableRoles.map((role) => [`${role}Table`, TABLES[role].env])),
};

export interface SynthOptions {
  readonly context?: Record<string, unknown>;
  /** Run esbuild (slow-ish); off: the functions get a placeholder asset. */
  readonly bundle?: boolean;
  readonly routes?: readonly RouteDefinition[];
}

/** The app as bin/luma-gateway.ts builds it (lib/app.ts): the stage's stack and, by default, the account stack. */
export function synthStack({ context = {}, bundle = false, routes }: SynthOptions = {}) {
  const app = new App({
    context: {
      stage: 'dev',
      // CDK skips asset bundling for stacks not listed here.
      ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const { gateway: stack, account } = addGatewayStacks(app, { routes });
  return { app, stack, template: Template.fromStack(stack), account };
}

type Resources = Record<string, { Type: string; Properties?: any; DeletionPolicy?: string }>;

export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Full path of an API Gateway resource, rebuilt from PathPart/ParentId. */
export function resourcePath(template: Template, resourceId: unknown): string {
  const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
  const parts: string[] = [];
  let current = resourceId as { Ref?: string } | undefined;
  while (current?.Ref && resources[current.Ref]) {
    const resource = resources[current.Ref];
    parts.unshift(resource.Properties.PathPart);
    current = resource.Properties.ParentId;
  }
  return `/${parts.join('/')}`;
}

/** Methods as { 'POST /luma/...': properties }. */
export function methodsByRoute(template: Template): Record<string, any> {
  const methods: Record<string, any> = {};
  for (const method of Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'))) {
    methods[`${method.Properties.HttpMethod} ${resourcePath(template, method.Properties.ResourceId)}`] = method.Properties;
  }
  return methods;
}

/** The Lambda function whose logical id starts with Fn<name>Function. */
export function functionNamed(template: Template, functionName: string): { id: string; properties: any } {
  const prefix = `Fn${functionName.replace(/[^A-Za-z0-9]/g, '')}Function`;
  const matches = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one function ${functionName}, found ${matches.length}`);
  return { id: matches[0][0], properties: matches[0][1].Properties };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every policy statement in the template: inline policies, AWS::IAM::Policy and managed policies. */
export function allStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of Object.values(resourcesOf(template, type))) statements.push(...policy.Properties.PolicyDocument.Statement);
  }
  for (const role of Object.values(resourcesOf(template, 'AWS::IAM::Role'))) {
    for (const policy of role.Properties.Policies ?? []) statements.push(...policy.PolicyDocument.Statement);
  }
  return statements;
}

/** Statements granted to the execution role of a function. */
export function statementsOfFunction(template: Template, functionName: string): Statement[] {
  const roleId = functionNamed(template, functionName).properties.Role['Fn::GetAtt'][0];
  const statements: Statement[] = [];
  for (const policy of Object.values(resourcesOf(template, 'AWS::IAM::Policy'))) {
    if (policy.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleId)) {
      statements.push(...policy.Properties.PolicyDocument.Statement);
    }
  }
  const role = resourcesOf(template, 'AWS::IAM::Role')[roleId];
  for (const policy of role.Properties.Policies ?? []) statements.push(...policy.PolicyDocument.Statement);
  if (role.Properties.ManagedPolicyArns?.length) throw new Error(`${functionName} role has managed policies`);
  return statements;
}

export function actionsOf(statements: Statement[]): string[] {
  return statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action));
}

export { asArray };
