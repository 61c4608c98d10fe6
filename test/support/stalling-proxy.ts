/**
 * A TCP proxy on loopback in front of a real server (DynamoDB Local), which
 * can stall: while stalled it accepts connections and bytes but forwards
 * nothing either way, as a dependency that has stopped answering does. The
 * real part cannot be made to stall on demand; this forces that fault only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface StallingProxy {
  readonly url: string;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startStallingProxy(target: string): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  let stalled = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      if (!stalled) to.write(chunk);
      else held.push(() => to.destroyed || to.write(chunk));
    });
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    relay(client, upstream);
    relay(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    stall: () => void (stalled = true),
    // What was held is dropped, not replayed: the callers gave up on it long ago.
    resume: () => {
      stalled = false;
      held.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
