import { hookUrlProblem, isLoopbackAddress, isPublicAddress, publicUrlProblem } from '#domain/hook-url';

const NOT_PUBLIC = 'must not point at a private, loopback, link-local or metadata address';

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

  it('knows loopback only where the socket reaches this machine: not through NAT64, 6to4 or the IPv4-compatible form', () => {
    for (const ip of ['127.255.255.254', '[::1]', '::ffff:7f00:1']) expect(isLoopbackAddress(ip)).toBe(true);
    for (const ip of ['64:ff9b::7f00:1', '2002:7f00:1::', '::7f00:1', '::127.0.0.1', '::1%lo', 'localhost']) expect(isLoopbackAddress(ip)).toBe(false);
  });
});

describe('every range the replaced table refused is still refused (first and last address of each)', () => {
  it.each([
    ['0.0.0.0', '0.255.255.255'], ['10.0.0.0', '10.255.255.255'], ['100.64.0.0', '100.127.255.255'], ['127.0.0.0', '127.255.255.255'],
    ['169.254.0.0', '169.254.255.255'], ['172.16.0.0', '172.31.255.255'], ['192.0.0.0', '192.0.0.255'], ['192.0.0.192', '192.0.0.192'],
    ['192.0.2.0', '192.0.2.255'], ['192.88.99.0', '192.88.99.255'], ['192.168.0.0', '192.168.255.255'], ['198.18.0.0', '198.19.255.255'],
    ['198.51.100.0', '198.51.100.255'], ['203.0.113.0', '203.0.113.255'], ['224.0.0.0', '239.255.255.255'], ['240.0.0.0', '255.255.255.255'],
    ['::', '::'], ['::1', '::1'], ['64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'], ['100::', '100::ffff:ffff:ffff:ffff'],
    ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'], ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ])('%s to %s', (first, last) => {
    expect([isPublicAddress(first), isPublicAddress(last)]).toEqual([false, false]);
  });

  it.each(['100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '11.0.0.1', '169.253.255.255', '223.255.255.254', '2a05:d018::1'])(
    'the neighbour %s is public',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );
});

describe('IPv6 forms that carry an IPv4 address', () => {
  it.each([
    ['6to4 of 169.254.169.254 (metadata)', '2002:a9fe:a9fe::'],
    ['6to4 of 169.254.169.254, with a host part', '2002:a9fe:a9fe:1::1'],
    ['6to4 of 10.0.0.1', '2002:a00:1::'],
    ['6to4 of 127.0.0.1', '2002:7f00:1::1'],
    ['Teredo, server 10.0.0.1, client 169.254.169.254 (XOR 0xffffffff)', '2001:0:a00:1::5601:5601'],
    ['Teredo, server 169.254.169.254, client 192.168.1.1', '2001:0:a9fe:a9fe::3f57:fefe'],
    ['Teredo, client 127.0.0.1', '2001:0:808:808::80ff:fffe'],
    ['NAT64 of 10.0.0.1', '64:ff9b::a00:1'],
    ['NAT64 of 192.168.1.1, dotted', '64:ff9b::192.168.1.1'],
    ['NAT64 of 100.64.0.1 (CGNAT)', '64:ff9b::6440:1'],
    ['NAT64 of 127.0.0.1', '64:ff9b::7f00:1'],
    ['local-use NAT64, even of a public address', '64:ff9b:1::808:808'],
    ['mapped 10.0.0.1', '::ffff:10.0.0.1'],
    ['mapped 100.64.0.1, hex', '::ffff:6440:1'],
    ['mapped metadata, bracketed', '[::ffff:169.254.169.254]'],
    ['compatible 169.254.169.254', '::a9fe:a9fe'],
    ['compatible 169.254.169.254, dotted', '::169.254.169.254'],
    ['compatible 10.0.0.1', '::10.0.0.1'],
    ['translated (RFC 6145) 8.8.8.8', '::ffff:0:808:808'],
  ])('%s (%s) is not public', (_name, ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    ['6to4 of a public address', '2002:808:808::1'],
    ['Teredo with public server and client (8.8.8.8, 1.1.1.1)', '2001:0:808:808::fefe:fefe'],
    ['the RFC 4380 Teredo example', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['IPv4-compatible of a public address (ipaddr.js alone would read it as mapped)', '::8.8.8.8'],
  ])('%s (%s) is refused too: the form itself is refused, whatever it carries', (_name, ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([['mapped', '::ffff:1.1.1.1'], ['NAT64 (well-known prefix)', '64:ff9b::808:808'], ['NAT64, dotted', '64:ff9b::1.1.1.1']])(
    '%s of a public address (%s) is public',
    (_name, ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );

  it.each([
    ['documentation 3fff::/20', '3fff::1'], ['segment routing 5f00::/16', '5f00::1'], ['benchmarking', '2001:2::1'],
    ['unallocated, outside 2000::/3', '4000::1'], ['a zone on a link-local address', 'fe80::1%eth0'], ['a zone on a public address', '2606:4700:4700::1111%eth0'],
    ['an IPv4 in hex', '0x7f.0.0.1'], ['an IPv4 as one number', '2130706433'], ['an IPv4 with a leading zero (octal to some)', '010.0.0.1'], ['nothing', ''],
  ])('%s (%s) is not public', (_name, ip) => {
    expect(isPublicAddress(ip)).toBe(false);
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

  it.each([
    'https://metadata.google.internal./h', 'https://localhost./', 'https://LOCALHOST./', 'https://Metadata.Google.Internal./computeMetadata/v1/',
    'https://metadata./', 'https://instance-data.ec2.internal./', 'https://printer.local./', 'https://api.localhost./', 'https://intranet./',
    'https://127.0.0.1./', 'https://[2002:a9fe:a9fe::]/', 'https://[2001:0:a00:1::5601:5601]/', 'https://[64:ff9b::a00:1]/', 'https://[::169.254.169.254]/',
  ])('refuses %s (trailing dots and case normalised, embedded IPv4 unwrapped)', (url) => {
    expect(hookUrlProblem(url, deployed)).toBe(NOT_PUBLIC);
  });

  it.each(['https://./', 'https://../x', 'https://a..example.com/', 'https://.example.com/', 'https://example.com../', 'https://%2e/'])(
    'refuses the host with an empty label in %s',
    (url) => {
      expect(hookUrlProblem(url, deployed)).toMatch(/^must name a host without empty labels, got "/);
    },
  );

  it('accepts a public name written with its root dot', () => {
    expect(hookUrlProblem('https://hooks.example.com./luma', deployed)).toBeUndefined();
  });

  it('lets the local stack use loopback over http, written any way that reaches this machine', () => {
    const local = { allowLoopbackHttp: true };
    for (const url of ['http://localhost.:9000/x', 'http://LOCALHOST:9000/x', 'http://127.0.0.1:9000/x', 'http://[::ffff:127.0.0.1]:9000/x', 'http://[::1]/x']) {
      expect(hookUrlProblem(url, local)).toBeUndefined();
    }
    // Not this machine: refused as any other plain-http hook.
    for (const url of ['http://[::7f00:1]/x', 'http://[64:ff9b::7f00:1]/x', 'http://api.localhost/x']) expect(hookUrlProblem(url, local)).toBe('must be an https URL');
    expect(hookUrlProblem('https://[::7f00:1]/x', local)).toBe(NOT_PUBLIC);
  });
});

describe('publicUrlProblem: the rule hooks and images share', () => {
  const image = { allowHttp: true, policy: { allowLoopbackHttp: false }, alternatives: 'or a data:image/...;base64, URL' };

  it('allows plain http when told to, still only to public hosts', () => {
    expect(publicUrlProblem('http://img.example.com/a.png', image)).toBeUndefined();
    expect(publicUrlProblem('http://8.8.8.8/a.png', image)).toBeUndefined();
    expect(publicUrlProblem('http://169.254.169.254/latest/meta-data/', image)).toBe(NOT_PUBLIC);
    expect(publicUrlProblem('http://metadata.google.internal./computeMetadata/v1/', image)).toBe(NOT_PUBLIC);
    expect(publicUrlProblem('http://[::ffff:10.0.0.1]/a.png', image)).toBe(NOT_PUBLIC);
  });

  it('names the accepted forms when the form is wrong', () => {
    expect(publicUrlProblem('ftp://img.example.com/a.png', image)).toBe('must be an http(s) URL or a data:image/...;base64, URL');
    expect(publicUrlProblem('a.png', image)).toBe('must be an absolute http(s) URL or a data:image/...;base64, URL');
    expect(publicUrlProblem('http://img.example.com/a.png', { allowHttp: false, policy: { allowLoopbackHttp: false } })).toBe('must be an https URL');
    expect(publicUrlProblem('not a url', { allowHttp: false, policy: { allowLoopbackHttp: false } })).toBe('must be an absolute https URL');
  });

  it('refuses loopback when the policy does not allow it, over http and https', () => {
    for (const url of ['http://127.0.0.1:8080/a.png', 'https://localhost./a.png', 'http://[::1]/a.png']) expect(publicUrlProblem(url, image)).toBe(NOT_PUBLIC);
  });
});
