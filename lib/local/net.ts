/**
 * Small node:http helpers shared by the local servers (front, simulator,
 * Secrets Manager endpoint). Everything listens on 127.0.0.1 only.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly what: string,
    /** The environment variable that chooses this port, named in the message. */
    readonly setting?: string,
    /** How it was found in use. */
    readonly evidence = `bound on ${LOOPBACK}`,
  ) {
    const advice = setting ? `set ${setting} to another port, e.g. ${setting}=${port + 1} npm start (${setting}=0 picks a free one)` : 'choose another port';
    super(`${what}: port ${port} is already in use (${evidence}). Stop what is using it, or ${advice}.`);
    this.name = 'PortInUseError';
  }
}

/** Whether something accepts connections at host:port (a refusal or an unreachable address: no). */
function answersAt(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    // A listener that never accepts (backlog full) still holds the port.
    socket.setTimeout(timeoutMs, () => done(true));
    // A connect to a free ephemeral port can meet itself (TCP simultaneous open): nobody answered.
    socket.once('connect', () => done(socket.localPort !== port));
    socket.once('error', () => done(false));
  });
}

/** Whether 127.0.0.1:port can be bound now (the probe is closed at once). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    probe.listen(port, LOOPBACK, () => probe.close(() => resolve(true)));
  });
}

/**
 * Fails with PortInUseError when anything holds the port: something answers
 * on it at either loopback address, or 127.0.0.1:port cannot be bound. The
 * bind probe alone misses listeners a loopback bind does not conflict with
 * (0.0.0.0 on BSD/macOS, [::1], [::] with IPV6_V6ONLY), yet clients of
 * 127.0.0.1 or localhost would reach them. 0 (any free port) passes.
 */
export async function refuseTakenPort(port: number, what: string, setting?: string): Promise<void> {
  if (port === 0) return;
  for (const host of [LOOPBACK, '::1']) {
    if (await answersAt(host, port)) throw new PortInUseError(port, what, setting, `something answers on ${host.includes(':') ? `[${host}]` : host}:${port}`);
  }
  if (!(await bindable(port))) throw new PortInUseError(port, what, setting);
}

/** Listens on 127.0.0.1:port (0 = a free port) and resolves with the port actually bound; refuses a port anything answers on. */
export async function listen(server: Server, port: number, what: string, setting?: string): Promise<number> {
  await refuseTakenPort(port, what, setting);
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, what, setting) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, LOOPBACK);
  });
}

/** Tracks open sockets so close() never waits on a hanging or kept-alive connection. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

export function closeServer(server: Server, sockets?: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of sockets ?? []) socket.destroy();
  });
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request body, failing as soon as it exceeds maxBytes (declared
 * Content-Length or bytes actually received) without buffering the rest.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new BodyTooLargeError(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        req.off('data', onData);
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.once('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

/**
 * After answering early (413), read and discard what the client is still
 * sending so it gets to see the answer; give up on absurd amounts.
 */
export function discardRest(req: IncomingMessage, capBytes = 64 * 1024 * 1024): void {
  let seen = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > capBytes) req.socket.destroy();
  });
  req.resume();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
