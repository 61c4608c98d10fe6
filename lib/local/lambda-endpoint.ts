/**
 * A minimal local AWS Lambda endpoint: the Invoke API (REST-JSON,
 * `POST /2015-03-31/functions/{name}/invocations`) with InvocationType
 * `Event` only, as the functions use it (the task-changes consumer starts
 * the asset worker per task). It answers 202 at once and runs the handler
 * in this process afterwards (lambda-runtime.ts invokeFunction), as Lambda
 * queues an asynchronous invocation. Point the SDK at it with
 * AWS_ENDPOINT_URL_LAMBDA=<url>. Request signatures are not checked (local
 * dummy credentials); a function the stack does not run is a 404
 * ResourceNotFoundException, as Lambda answers.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { closeServer, listen, LOOPBACK, readBody, sendJson, trackSockets } from './net';

export interface LocalLambdaEndpoint {
  readonly url: string;
  /** Asynchronous invocations accepted, by function. */
  readonly accepted: Readonly<Record<string, number>>;
  /** Resolves once every accepted invocation has run. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's limit on an asynchronous invocation's payload. */
const MAX_EVENT_BYTES = 256 * 1024;

export async function startLambdaEndpoint({
  functions,
  invoke,
  onError,
}: {
  /** The functions it runs, by name. */
  readonly functions: readonly string[];
  readonly invoke: (functionName: string, event: unknown) => Promise<unknown>;
  readonly onError: (message: string) => void;
}): Promise<LocalLambdaEndpoint> {
  const accepted: Record<string, number> = {};
  const running = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    void (async () => {
      const match = INVOKE_PATH.exec((req.url ?? '/').split('?')[0]);
      if (req.method !== 'POST' || match === null) return sendJson(res, 404, { message: 'only Invoke is served here' }, { 'x-amzn-errortype': 'UnknownOperationException' });
      const name = decodeURIComponent(match[1]).split(':').at(-1)!;
      if (!functions.includes(name)) {
        return sendJson(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      }
      if (req.headers['x-amz-invocation-type'] !== 'Event') {
        return sendJson(res, 400, { Type: 'User', message: 'the local Lambda endpoint runs asynchronous invocations only (InvocationType Event)' }, { 'x-amzn-errortype': 'InvalidParameterValueException' });
      }
      let event: unknown;
      try {
        const body = await readBody(req, MAX_EVENT_BYTES);
        event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (error) {
        return sendJson(res, 400, { Type: 'User', message: `the payload is not JSON of at most ${MAX_EVENT_BYTES} bytes (${(error as Error).message})` }, { 'x-amzn-errortype': 'InvalidRequestContentException' });
      }
      accepted[name] = (accepted[name] ?? 0) + 1;
      res.writeHead(202, { 'content-length': '0', 'x-amzn-requestid': randomUUID() }).end();
      const run = invoke(name, event)
        .catch((error: unknown) => onError(`${name} (asynchronous invocation) failed: ${(error as Error)?.message ?? String(error)}`))
        .finally(() => running.delete(run));
      running.add(run);
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: (error as Error).message }, { 'x-amzn-errortype': 'ServiceException' });
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server, 0, 'local Lambda endpoint');
  return {
    url: `http://${LOOPBACK}:${port}`,
    accepted,
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    stop: async () => {
      await closeServer(server, sockets);
      await Promise.allSettled([...running]);
    },
  };
}
