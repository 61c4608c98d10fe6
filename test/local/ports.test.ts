/**
 * A port already in use is refused before Java starts, with one line that
 * names the port and the variable to change, never a stack trace: a second
 * `npm start` on the first one's ports (it would otherwise share the first
 * one's database), and the API port held by a server on every interface.
 */
import { createServer, type Server } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { startLocalStack } from '../../lib/local/local-stack';
import { PortInUseError } from '../../lib/local/net';
import { bannerPorts, launch, portAnswers, READY_BANNER, stackEnv } from '../support/local-process';

jest.setTimeout(60_000);

/** How a second start ended and what it printed; one that starts anyway is stopped after 20 s (a failed test, not a stray stack). */
async function refusedStart(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const second = launch('npm', stackEnv(env));
  const timer = setTimeout(() => process.kill(-second.root.pid!, 'SIGKILL'), 20_000);
  const code = await second.exited();
  clearTimeout(timer);
  return { code, lines: second.output().trim().split('\n').filter((line) => line.trim() !== '') };
}

describe('a second npm start on the ports of a running one', () => {
  test('is refused with one line naming DYNAMODB_LOCAL_PORT, then PORT; the first stack is unharmed', async () => {
    const first = launch('npm');
    try {
      const banner = await first.waitForOutput(READY_BANNER, 30_000);
      const apiPort = Number(/API\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)![1]);
      const dynamoPort = Number(/DynamoDB\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)![1]);

      const sameDynamo = await refusedStart({ DYNAMODB_LOCAL_PORT: String(dynamoPort) });
      expect(sameDynamo).toEqual({
        code: 1,
        lines: [
          `DynamoDB Local: port ${dynamoPort} is already in use (something answers on 127.0.0.1:${dynamoPort}). ` +
            `Stop what is using it, or set DYNAMODB_LOCAL_PORT to another port, e.g. DYNAMODB_LOCAL_PORT=${dynamoPort + 1} npm start (DYNAMODB_LOCAL_PORT=0 picks a free one).`,
        ],
      });

      const sameApi = await refusedStart({ PORT: String(apiPort) });
      expect(sameApi.code).toBe(1);
      expect(sameApi.lines).toEqual([expect.stringMatching(new RegExp(`^API \\(local HTTP front\\): port ${apiPort} is already in use .*PORT=${apiPort + 1} npm start`))]);

      for (const port of bannerPorts(banner)) expect(await portAnswers(port)).toBe(true);
      const health = await fetch(`http://127.0.0.1:${apiPort}/luma/generations/x`);
      expect(health.status).toBe(401);
    } finally {
      first.root.kill('SIGTERM');
      await first.exited();
    }
  });
});

describe('the API port held by another process', () => {
  const holders = ['0.0.0.0', '::', '127.0.0.1'];

  test.each(holders)('on %s: PortInUseError naming PORT, before DynamoDB Local is started', async (host) => {
    const holder: Server = await new Promise((resolve, reject) => {
      const server = createServer((socket) => socket.end());
      server.once('error', reject);
      server.listen(0, host, () => resolve(server));
    });
    const port = (holder.address() as { port: number }).port;
    const children: ChildProcess[] = [];
    try {
      const failure = await startLocalStack({ port, dynamoPort: 0, background: false, onChildProcess: (child) => children.push(child) }).then(
        async (stack) => (await stack.stop(), undefined),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(PortInUseError);
      expect((failure as Error).message).toMatch(new RegExp(`^API \\(local HTTP front\\): port ${port} is already in use \\(.*\\)\\. .*set PORT to another port`));
      expect((failure as Error).message).not.toContain('\n');
      expect(children).toEqual([]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
