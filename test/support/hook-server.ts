/** A client's notify_hook: a real HTTP server on loopback that records what it receives and answers as told. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAtMs: number;
  /** The HTTP status answered (undefined while hanging, or when the sender gave up first). */
  status?: number;
  /** When the sender closed a request the hook never answered. */
  abandonedAtMs?: number;
}

/** How the hook answers one request: a status (with headers), or no answer at all until the sender gives up. */
export type HookAnswer = number | { readonly status: number; readonly headers?: Readonly<Record<string, string>> } | 'hang';

export interface HookServer {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedNotification[];
  /** Answers for the next requests, in turn; then `defaultAnswer`. */
  answers: HookAnswer[];
  /** What every request gets once `answers` is used up (200). */
  defaultAnswer: HookAnswer;
  /** Resolves once `count` notifications have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedNotification[]>;
  close(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const received: ReceivedNotification[] = [];
  const hanging = new Set<ServerResponse>();
  const hook: HookServer = {
    url: '',
    port: 0,
    received,
    answers: [],
    defaultAnswer: 200,
    waitFor: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} notifications, got ${received.length}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const entry: ReceivedNotification = { path: req.url ?? '', headers: req.headers, body, receivedAtMs: Date.now() };
      received.push(entry);
      const answer = hook.answers.shift() ?? hook.defaultAnswer;
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => {
          hanging.delete(res);
          entry.abandonedAtMs = Date.now();
        });
        return;
      }
      const { status, headers = {} } = typeof answer === 'number' ? { status: answer } : answer;
      entry.status = status;
      res.writeHead(status, status >= 300 && status < 400 ? { Location: 'http://169.254.169.254/latest/meta-data', ...headers } : headers);
      res.end();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(hook, { url: `http://127.0.0.1:${port}/hook`, port });
  return hook;
}
