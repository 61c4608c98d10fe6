/** The settings declaration (functions/settings.ts) and the one parser each kind has. */
import { App } from 'aws-cdk-lib';
import { functionNames } from '../../functions/background';
import { flag, integer, listOf, orNone, positiveNumber, url } from '../../functions/setting-kinds';
import { EVERY_FUNCTION, readSettings, settingNames, settingsReadBy, specOf, SETTINGS } from '../../functions/settings';
import { configFromContext, settingsEnvironment } from '../../lib/config';
import { resolveLocalSettings } from '../../lib/local/local-stack';

describe('the declaration', () => {
  it('names only functions that exist, and gives every setting a function reads a variable', () => {
    for (const name of settingNames) {
      const spec = specOf(name);
      for (const reader of spec.readBy ?? []) expect(functionNames).toContain(reader);
      if (spec.readBy) expect(spec.env).toMatch(/^[A-Z][A-Z0-9_]+$/);
    }
  });

  it('uses each environment variable once', () => {
    const variables = settingNames.map((name) => specOf(name).env).filter(Boolean);
    expect(new Set(variables).size).toBe(variables.length);
  });

  it('holds defaults its own kinds accept', () => {
    for (const name of settingNames) {
      const { kind, default: value } = specOf(name);
      if (value !== undefined) expect(kind.parse(kind.format(value as never))).toEqual(value);
    }
  });
});

describe('kinds', () => {
  it('parses whole numbers within bounds, from text or numbers', () => {
    const kind = integer({ min: 1, max: 10 });
    expect(kind.parse('7')).toBe(7);
    expect(kind.parse(7)).toBe(7);
    for (const bad of ['0', '11', '1.5', 'x', '', true]) expect(() => kind.parse(bad)).toThrow('must be a whole number from 1 to 10');
  });

  it('parses flags, lists, `none`, rates and URLs', () => {
    expect(flag().parse('TRUE')).toBe(true);
    expect(flag().parse(false)).toBe(false);
    expect(() => flag().parse('yes')).toThrow('true or false');
    expect(listOf(integer({ min: 0 })).parse('0, 60,300')).toEqual([0, 60, 300]);
    expect(() => listOf(integer({ min: 0 })).parse('1,-2')).toThrow('comma-separated');
    expect(orNone(integer({ min: 1 })).parse('none')).toBeUndefined();
    expect(orNone(integer({ min: 1 })).parse('3')).toBe(3);
    expect(positiveNumber().parse('0.5')).toBe(0.5);
    expect(() => positiveNumber().parse('0')).toThrow('above 0');
    expect(url({ schemes: ['https'] }).parse('https://x.example/a//')).toBe('https://x.example/a');
    expect(() => url({ schemes: ['https'] }).parse('http://x.example')).toThrow('https URL');
  });
});

describe('handlers read their environment through it', () => {
  it('applies defaults, parses values, and names the variable when one is wrong or missing', () => {
    const settings = readSettings({ RECONCILE_AFTER_SECONDS: '45', WEBHOOK_RETRY_SCHEDULE: '0,2,4,8', ALLOW_LOOPBACK_HOOKS: 'true' });
    expect(settings.reconcileAfterSeconds).toBe(45);
    expect(settings.taskDeadlineSeconds).toBe(SETTINGS.taskDeadlineSeconds.default);
    expect(settings.webhookRetrySchedule).toEqual([0, 2, 4, 8]);
    expect(settings.allowLoopbackHooks).toBe(true);
    expect(() => readSettings({ UPSTREAM_TIMEOUT_MS: '-5' }).upstreamTimeoutMs).toThrow('environment variable UPSTREAM_TIMEOUT_MS must be a whole number');
    expect(() => readSettings({}).upstreamSecretId).toThrow('environment variable UPSTREAM_SECRET_ID is required');
  });
});

describe('the deployed stack writes each function the settings it reads', () => {
  const config = configFromContext(new App({ context: { reconcileAfterSeconds: '120', callbackBaseUrl: 'https://hooks.example.com/luma' } }).node);
  const provided = {
    upstreamSecretId: () => 'secret-id',
    callbackBaseUrl: () => 'https://api.example.com/dev',
    assetBucket: () => 'asset-bucket',
    assetWorkerFunction: () => 'asset-worker-fn',
  };

  it.each(functionNames)('%s: exactly its settings, with the stage value, the stack value or the default', (functionName) => {
    const environment = settingsEnvironment(functionName, config, provided);
    const expected = settingsReadBy(functionName).filter((name) => !specOf(name).localOnly);
    expect(Object.keys(environment).sort()).toEqual(expected.map((name) => specOf(name).env).sort());
    if (expected.includes('reconcileAfterSeconds')) expect(environment.RECONCILE_AFTER_SECONDS).toBe('120');
    if (expected.includes('callbackBaseUrl')) expect(environment.CALLBACK_BASE_URL).toBe('https://hooks.example.com/luma');
    if (expected.includes('upstreamSecretId')) expect(environment.UPSTREAM_SECRET_ID).toBe('secret-id');
    if (expected.includes('notifyTimeoutMs')) expect(environment.NOTIFY_TIMEOUT_MS).toBe('5000');
    if (expected.includes('assetBucket')) expect(environment.ASSET_BUCKET).toBe('asset-bucket');
  });
});

describe('the local stack reads npm start settings through it', () => {
  it('takes an option over the variable over the local default, each checked by its kind', () => {
    const env = { RECONCILE_AFTER_SECONDS: '12', PORT: '4000', LOCAL_ACCESS_LOG: 'json' };
    const settings = resolveLocalSettings({ port: 0 }, env);
    expect(settings).toMatchObject({ port: 0, reconcileAfterSeconds: 12, accessLogFormat: 'json', tablePrefix: 'local_', upstreamBaseUrl: undefined });
    expect(resolveLocalSettings({}, {}).reconcileAfterSeconds).toBe(30);
    expect(() => resolveLocalSettings({}, { LOCAL_CLIENT_KEY: 'short' })).toThrow('environment variable LOCAL_CLIENT_KEY must be 16 to 512');
    expect(() => resolveLocalSettings({ port: 70_000 }, {})).toThrow('option port must be a whole number from 0 to 65535');
  });
});

describe('settings every function reads', () => {
  it('name every function of the stack (a new function is added to EVERY_FUNCTION)', () => {
    expect([...EVERY_FUNCTION].sort()).toEqual([...functionNames].sort());
    expect(settingsReadBy('authorizer')).toContain('stage');
  });
});
