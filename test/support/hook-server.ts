/** A client's notify_hook: a real HTTP server on loopback that records what it receives. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAtMs: number;
}

export interface HookServer {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedNotification[];
  /** Status codes for the next requests; then 200. */
  answers: number[];
  /** Resolves once `count` notifications have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedNotification[]>;
  close(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const received: ReceivedNotification[] = [];
  const hook: HookServer = {
    url: '',
    port: 0,
    received,
    answers: [],
    waitFor: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} notifications, got ${received.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received.slice(0, count);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body, receivedAtMs: Date.now() });
      const status = hook.answers.shift() ?? 200;
      res.writeHead(status, status >= 300 && status < 400 ? { Location: 'http://169.254.169.254/latest/meta-data' } : {});
      res.end();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(hook, { url: `http://127.0.0.1:${port}/hook`, port });
  return hook;
}
