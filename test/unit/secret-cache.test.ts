import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretCache, parseSecretValue } from '#adapters/secret-cache';

function fakeSecretsManager(values: string[]) {
  const calls: string[] = [];
  return {
    calls,
    // A fake is right here: Secrets Manager itself has no local engine to run in a unit test.
    send: async (command: GetSecretValueCommand) => {
      calls.push(command.input.SecretId!);
      return { SecretString: values[Math.min(calls.length - 1, values.length - 1)] };
    },
  };
}

describe('secret cache', () => {
  it('reads once within the TTL, then again after it', async () => {
    let now = 0;
    const sm = fakeSecretsManager(['k1', 'k2']);
    const cache = createSecretCache({ client: sm as never, secretId: 'upstream', ttlMs: 1000, now: () => now });
    expect(await cache.get()).toBe('k1');
    now = 999;
    expect(await cache.get()).toBe('k1');
    expect(sm.calls).toHaveLength(1);
    now = 1000;
    expect(await cache.get()).toBe('k2');
    expect(sm.calls).toHaveLength(2);
  });

  it('shares one request between concurrent readers', async () => {
    const sm = fakeSecretsManager(['k1']);
    const cache = createSecretCache({ client: sm as never, secretId: 'upstream', ttlMs: 1000 });
    await Promise.all(Array.from({ length: 20 }, () => cache.get()));
    expect(sm.calls).toHaveLength(1);
  });

  it('refresh() reads anew', async () => {
    const sm = fakeSecretsManager(['old', 'new']);
    const cache = createSecretCache({ client: sm as never, secretId: 'upstream', ttlMs: 60_000 });
    expect(await cache.get()).toBe('old');
    expect(await cache.refresh()).toBe('new');
    expect(await cache.get()).toBe('new');
    expect(sm.calls).toHaveLength(2);
  });

  it('accepts plain and JSON secrets', () => {
    expect(parseSecretValue(' key-1 \n')).toBe('key-1');
    expect(parseSecretValue('{"api_key":"key-2"}')).toBe('key-2');
    expect(parseSecretValue('{"apiKey":"key-3"}')).toBe('key-3');
    expect(parseSecretValue('{not json')).toBe('{not json');
    expect(() => parseSecretValue('{"other":"x"}')).toThrow('without an api_key field');
    expect(() => parseSecretValue('')).toThrow('empty');
  });
});
