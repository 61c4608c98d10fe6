/**
 * A real HTTP server on loopback that answers as scripted, for tests that
 * need one exact upstream answer (the local stack's simulator covers
 * realistic behaviour). Records what it received.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedAnswer {
  status?: number;
  /** A value, or a function of the request (to echo an id, say). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering (ms). */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface ScriptedUpstream {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  script(...answers: ScriptedAnswer[]): void;
  fallback: ScriptedAnswer;
  close(): Promise<void>;
}

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const queue: ScriptedAnswer[] = [];
  const received: ReceivedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const upstream = {
    url: '',
    received,
    script: (...answers: ScriptedAnswer[]) => void queue.push(...answers),
    fallback: { status: 200, body: {} } as ScriptedAnswer,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep the text
      }
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const answer = queue.shift() ?? upstream.fallback;
      setTimeout(() => {
        if (answer.reset) {
          req.socket.destroy();
          return;
        }
        const body = typeof answer.body === 'function' ? answer.body(received[received.length - 1]) : answer.body;
        const payload = typeof body === 'string' ? body : JSON.stringify(body ?? {});
        res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json', ...answer.headers });
        res.end(payload);
      }, answer.delayMs ?? 0);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}
