/** Delivery-time SSRF defence and outcomes, against a real hook on loopback. */
import { createServer, type AddressInfo } from 'node:net';
import { deliverToHook } from '#adapters/hook-delivery';
import { startHookServer, type HookServer } from '../support/hook-server';

let hook: HookServer;
beforeAll(async () => {
  hook = await startHookServer();
});
afterAll(() => hook.close());
beforeEach(() => {
  hook.received.length = 0;
  hook.answers = [];
});

const deployed = { allowLoopbackHttp: false };
const local = { allowLoopbackHttp: true };
const send = (url: string, policy = local, resolve?: (host: string) => Promise<{ address: string; family: number }[]>) =>
  deliverToHook({ url, headers: { 'webhook-id': 'msg_1' }, body: '{"a":1}', timeoutMs: 1000, policy, resolve });

it('delivers to a loopback hook only in the local stack', async () => {
  expect(await send(hook.url)).toMatchObject({ outcome: 'delivered', httpStatus: 200 });
  expect(hook.received[0]).toMatchObject({ body: '{"a":1}', headers: expect.objectContaining({ 'webhook-id': 'msg_1', 'content-type': 'application/json' }) });
  expect(await send(hook.url, deployed)).toMatchObject({ outcome: 'refused' });
  expect(hook.received).toHaveLength(1);
});

it.each([
  ['127.0.0.1'], ['10.0.0.7'], ['169.254.169.254'], ['::1'], ['fd00:ec2::254'], ['::ffff:127.0.0.1'],
])('never contacts a host that resolves to %s', async (address) => {
  const resolve = async () => [{ address, family: address.includes(':') ? 6 : 4 }];
  const result = await send(`https://hooks.example.test:${hook.port}/hook`, deployed, resolve);
  expect(result).toMatchObject({ outcome: 'refused', error: 'the hook\'s host hooks.example.test resolves to a private, loopback, link-local or metadata address' });
  expect(hook.received).toHaveLength(0);
});

it.each([
  ['6to4 embedding 169.254.169.254', '2002:a9fe:a9fe::'],
  ['Teredo embedding 10.0.0.1 and 169.254.169.254', '2001:0:a00:1::5601:5601'],
  ['NAT64 of 192.168.1.1', '64:ff9b::c0a8:101'],
  ['local-use NAT64', '64:ff9b:1::808:808'],
  ['IPv4-mapped 10.0.0.7', '::ffff:a00:7'],
  ['IPv4-compatible 169.254.169.254', '::a9fe:a9fe'],
])('never contacts a host that resolves to %s (%s), in either policy', async (_name, address) => {
  const resolve = async () => [{ address, family: 6 }];
  for (const policy of [deployed, local]) {
    const result = await send(`https://hooks.example.test:${hook.port}/hook`, policy, resolve);
    expect(result).toMatchObject({ outcome: 'refused', error: "the hook's host hooks.example.test resolves to a private, loopback, link-local or metadata address" });
  }
  expect(hook.received).toHaveLength(0);
});

it.each(['https://metadata.google.internal./h', 'https://localhost./h', 'https://LocalHost./h'])(
  'refuses %s before any lookup (trailing dot normalised), even if its name resolved to a public address',
  async (url) => {
    let lookups = 0;
    const resolve = async () => {
      lookups += 1;
      return [{ address: '93.184.216.34', family: 4 }];
    };
    expect(await send(url, deployed, resolve)).toMatchObject({ outcome: 'refused', error: 'notify_hook must not point at a private, loopback, link-local or metadata address' });
    expect(lookups).toBe(0);
  },
);

it('refuses a host when any of its addresses is private (DNS rebinding)', async () => {
  const resolve = async () => [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }];
  expect((await send(`https://hooks.example.test:${hook.port}/hook`, deployed, resolve)).outcome).toBe('refused');
});

it('connects to the address it checked, not to a second lookup', async () => {
  // The resolver says loopback (allowed locally); the name itself resolves nowhere.
  const resolve = async () => [{ address: '127.0.0.1', family: 4 }];
  expect(await send(`http://localhost:${hook.port}/pinned`, local, resolve)).toMatchObject({ outcome: 'delivered' });
  expect(hook.received[0].path).toBe('/pinned');
});

it('does not follow redirects', async () => {
  hook.answers = [302];
  expect(await send(hook.url)).toMatchObject({ outcome: 'failed', httpStatus: 302, error: 'the hook answered a redirect; redirects are not followed' });
  expect(hook.received).toHaveLength(1);
});

it('reports error answers, refused connections and unresolvable hosts', async () => {
  hook.answers = [500];
  expect(await send(hook.url)).toMatchObject({ outcome: 'failed', httpStatus: 500 });
  expect(await send('http://127.0.0.1:1/closed')).toMatchObject({ outcome: 'failed', error: 'could not reach the hook (ECONNREFUSED)' });
  const nowhere = async () => Promise.reject(Object.assign(new Error('lookup failed'), { code: 'EAI_AGAIN' }));
  expect(await send('https://nowhere.example.test/x', deployed, nowhere)).toMatchObject({
    outcome: 'failed',
    error: "the hook's host nowhere.example.test does not resolve (EAI_AGAIN)",
  });
});

it('gives up on a hook that does not answer in time', async () => {
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  try {
    const result = await deliverToHook({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}', timeoutMs: 200, policy: local });
    expect(result).toMatchObject({ outcome: 'failed', error: 'the hook did not answer within 200 ms' });
    expect(result.durationMs).toBeLessThan(2000);
  } finally {
    silent.close();
  }
});
