/**
 * Every stage's templates are valid against CloudFormation's own resource
 * schemas (the shared validator in ../shared/tools/cfn-schema: properties,
 * types, Ref/GetAtt targets, read-only properties), which neither cdk synth
 * nor cdk-nag checks. The validator needs its own `npm ci` (.ci/run does
 * it); without it this file skips, and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/gateway-function';
import { synthStack, type SynthOptions } from './helpers';

const TOOL = resolve(PROJECT_ROOT, '..', 'shared', 'tools', 'cfn-schema');
const ready = existsSync(join(TOOL, 'validate.js')) && existsSync(join(TOOL, 'node_modules', 'ajv'));
if (!ready) {
  console.warn(
    `SKIPPED: the CloudFormation schema validator is not installed at ${TOOL}; ` +
      `run (cd ${TOOL} && npm ci --no-audit --no-fund) to check the templates against CloudFormation's resource schemas`,
  );
}

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:luma/upstream-key-AbC123';

const stages: Record<string, SynthOptions['context']> = {
  dev: {},
  prod: { stage: 'prod', upstreamBaseUrl: 'https://api.upstream.example' },
  'staging (deletion protection, subscribers)': {
    stage: 'staging',
    deletionProtection: true,
    alarmEmails: 'oncall@example.com',
    alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:pager',
  },
  'prod (imported secret, WAF, no account stack, reserved reconciler)': {
    stage: 'prod',
    upstreamSecretArn: SECRET_ARN,
    webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/luma/0000',
    apiGatewayCloudWatchRole: false,
    reconcilerReservedConcurrency: 1,
  },
  'prod (callbacks on the function URL only, its concurrency reserved)': {
    stage: 'prod',
    upstreamBaseUrl: 'https://api.upstream.example',
    callbackRestRoute: false,
    callbackReservedConcurrency: 5,
  },
};

(ready ? describe : describe.skip).each(Object.entries(stages))('%s', (name, context) => {
  it('has no violation of the CloudFormation resource schemas', () => {
    const { app } = synthStack({ context });
    const assembly = app.synth();
    const templates = assembly.stacks.map((stack) => join(assembly.directory, stack.templateFile));
    expect(templates.length).toBeGreaterThan(0);
    const output = execFileSync(process.execPath, [join(TOOL, 'validate.js'), join(TOOL, 'schemas'), ...templates], { encoding: 'utf8' });
    const total = /TOTAL VIOLATIONS: (\d+)/.exec(output)?.[1];
    console.log(`cfn-schema ${name}: ${assembly.stacks.map((stack) => stack.stackName).join(', ')}: TOTAL VIOLATIONS: ${total}`);
    expect(output.split('\n').filter((line) => /\[(VIOLATION|READONLY-SET|BAD-REF|BAD-GETATT)\]/.test(line))).toEqual([]);
    expect(total).toBe('0');
  });
});
