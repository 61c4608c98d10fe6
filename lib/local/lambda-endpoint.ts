/**
 * A minimal local AWS Lambda endpoint: the Invoke API (REST-JSON,
 * `POST /2015-03-31/functions/{name}/invocations`) with InvocationType
 * `Event` only, as the functions use it (the task-changes consumer starts
 * the asset worker per task). It answers 202 at once and runs the handler
 * in this process afterwards (lambda-runtime.ts invokeFunction), as Lambda
 * queues an asynchronous invocation. Point the SDK at it with
 * AWS_ENDPOINT_URL_LAMBDA=<url>. The request's Signature Version 4 is
 * checked against the stack's credentials, as the S3 endpoint checks its
 * own (its canonical request; the body's hash included), so a request
 * signed wrong is refused here as Lambda would refuse it (403); a function
 * the stack does not run is a 404 ResourceNotFoundException.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { closeServer, listen, LOOPBACK, readBody, sendJson, trackSockets } from './net';
import { expectedSignature, parseAuth, S3Failure } from './s3-endpoint';

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
  credentials,
  invoke,
  onError,
}: {
  /** The functions it runs, by name. */
  readonly functions: readonly string[];
  /** Secret access keys by access key id: the signatures it accepts. */
  readonly credentials: Readonly<Record<string, string>>;
  readonly invoke: (functionName: string, event: unknown) => Promise<unknown>;
  readonly onError: (message: string) => void;
}): Promise<LocalLambdaEndpoint> {
  const accepted: Record<string, number> = {};
  /** Why the request's signature is refused, or undefined when it is the one its credentials make. */
  const signatureProblem = (req: IncomingMessage, body: Buffer): string | undefined => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      const auth = parseAuth(req, new URLSearchParams(), Date.now());
      if (auth === undefined) return 'Missing Authentication Token';
      const secret = credentials[auth.accessKeyId];
      if (secret === undefined || auth.service !== 'lambda') return 'The security token included in the request is invalid.';
      if (auth.payloadHash !== createHash('sha256').update(body).digest('hex')) return 'The request body does not match its signed hash.';
      const expected = Buffer.from(expectedSignature(req, path, auth, secret));
      const given = Buffer.from(auth.signature);
      return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : 'The request signature we calculated does not match the signature you provided.';
    } catch (error) {
      return error instanceof S3Failure ? error.message : String(error);
    }
  };
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
        const refused = signatureProblem(req, body);
        if (refused !== undefined) return sendJson(res, 403, { message: refused }, { 'x-amzn-errortype': 'InvalidSignatureException' });
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
