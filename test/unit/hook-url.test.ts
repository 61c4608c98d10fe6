import { hookUrlProblem, isLoopbackAddress, isPublicAddress } from '#domain/hook-url';

describe('address classification', () => {
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '[::1]', 'not-an-ip',
  ])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it('knows loopback', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });
});

describe('notify_hook rule', () => {
  const deployed = { allowLoopbackHttp: false };
  it.each([
    'https://0x7f.1/', 'https://2130706433/', 'https://017700000001/', 'https://localhost/', 'https://api.localhost/',
    'https://metadata.google.internal/', 'https://printer.local/', 'https://intranet/', 'https://[::ffff:a9fe:a9fe]/',
  ])('refuses %s', (url) => {
    expect(hookUrlProblem(url, deployed)).toBe('must not point at a private, loopback, link-local or metadata address');
  });

  it('refuses credentials in the URL and other schemes', () => {
    expect(hookUrlProblem('https://user:pass@hooks.example.com/', deployed)).toBe('must not contain credentials');
    expect(hookUrlProblem('ftp://hooks.example.com/', deployed)).toBe('must be an https URL');
    expect(hookUrlProblem(`https://hooks.example.com/${'a'.repeat(3000)}`, deployed)).toMatch(/at most/);
  });

  it('accepts public https hooks with ports and paths', () => {
    expect(hookUrlProblem('https://hooks.example.com:8443/luma?x=1', deployed)).toBeUndefined();
    expect(hookUrlProblem('https://8.8.8.8/hook', deployed)).toBeUndefined();
  });
});
