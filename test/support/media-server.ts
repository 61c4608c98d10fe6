/** An upstream's media host for tests: a real HTTP server on loopback whose paths answer as each test scripts them, streaming. */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface MediaAnswer {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** The body, sent in 64 KiB writes (with back-pressure); undefined: none. */
  readonly body?: Buffer;
  /** Sent without Content-Length (chunked). */
  readonly chunked?: boolean;
  /** Declares this Content-Length whatever the body is (a lie, when it differs). */
  readonly declaredLength?: number;
  /** Close the connection after this many body bytes. */
  readonly cutAfter?: number;
  /** Never answer. */
  readonly hang?: boolean;
}

export interface MediaServer {
  readonly url: string;
  /** Answers by path ('/video.mp4'). */
  readonly routes: Map<string, MediaAnswer | (() => MediaAnswer)>;
  /** Requests received, by path. */
  readonly hits: string[];
  /** Body bytes written for each path, summed (how far a download went before it was dropped). */
  readonly sent: Map<string, number>;
  close(): Promise<void>;
}

export async function startMediaServer(): Promise<MediaServer> {
  const routes = new Map<string, MediaAnswer | (() => MediaAnswer)>();
  const hits: string[] = [];
  const sent = new Map<string, number>();
  const sockets = new Set<Socket>();
  const write = (res: ServerResponse, path: string, body: Buffer, limit: number) =>
    new Promise<void>((resolve) => {
      let offset = 0;
      const next = () => {
        while (offset < Math.min(body.length, limit)) {
          const chunk = body.subarray(offset, Math.min(offset + 65_536, limit));
          offset += chunk.length;
          sent.set(path, (sent.get(path) ?? 0) + chunk.length);
          if (!res.write(chunk)) return void res.once('drain', next);
        }
        resolve();
      };
      res.once('close', resolve);
      next();
    });
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    hits.push(path);
    const route = routes.get(path);
    const answer = typeof route === 'function' ? route() : (route ?? { status: 404 });
    if (answer.hang) return;
    const body = answer.body ?? Buffer.alloc(0);
    const headers: Record<string, string> = { ...answer.headers };
    if (!answer.chunked) headers['Content-Length'] = String(answer.declaredLength ?? body.length);
    res.writeHead(answer.status ?? 200, headers);
    await write(res, path, body, answer.cutAfter ?? body.length);
    if (answer.cutAfter !== undefined) res.socket?.destroy();
    else res.end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    hits,
    sent,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
