/**
 * Redocly CLI lints the committed OpenAPI document with redocly.yaml
 * (recommended rules, warnings as errors), offline: the CLI runs with
 * test/support/no-network.cjs preloaded, which refuses and reports any
 * socket or DNS attempt (its telemetry, were it on, would be one).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { OPENAPI_DOCUMENT_PATH } from '../../functions/openapi';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const NO_NETWORK = join(ROOT, 'test', 'support', 'no-network.cjs');

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--require', NO_NETWORK, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    timeout: 50_000,
  });
  const attempts = result.stderr.split('\n').filter((line) => line.startsWith('NETWORK-ATTEMPT'));
  return { ...result, attempts };
}

test('the network guard reports and refuses a connection attempt', () => {
  const probe = node(['-e', "fetch('http://192.0.2.1/').catch(() => undefined)"]);
  expect(probe.attempts).toEqual(['NETWORK-ATTEMPT connect 192.0.2.1:80']);
});

test('redocly lint: no errors, no warnings, and no network', () => {
  const lint = node([join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js'), 'lint', OPENAPI_DOCUMENT_PATH, '--format=json'], {
    // Also off in redocly.yaml; the update notice would ask the npm registry.
    REDOCLY_TELEMETRY: 'off',
    REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  });
  expect(lint.attempts).toEqual([]);
  const report = JSON.parse(lint.stdout);
  expect(report.problems).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  expect(lint.status).toBe(0);
});
