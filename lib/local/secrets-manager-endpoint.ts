/**
 * A minimal local AWS Secrets Manager endpoint for the local stack.
 *
 * The installed @aws-sdk/client-secrets-manager speaks the AWS JSON 1.1
 * protocol (AwsJson1_1Protocol, target prefix `secretsmanager`): every call is
 * `POST /` with `X-Amz-Target: secretsmanager.<Operation>` and
 * `Content-Type: application/x-amz-json-1.1`; errors are HTTP 400 with
 * `{"__type": "<Exception>", "message": ...}`. Point the SDK at it with
 * AWS_ENDPOINT_URL_SECRETS_MANAGER=<url>: the handlers then read the upstream
 * key exactly as they do in AWS.
 *
 * Operations: GetSecretValue, PutSecretValue (to simulate a rotation),
 * CreateSecret, DescribeSecret. Request signatures are not checked (local
 * dummy credentials). Secret values are never logged.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BodyTooLargeError, closeServer, listen, LOOPBACK, readBody, trackSockets } from './net';

export interface SecretsEndpointOptions {
  /** Initial secrets: name → SecretString. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** 0 (default) = a free port. */
  readonly port?: number;
  readonly region?: string;
  readonly accountId?: string;
}

export interface LocalSecretsEndpoint {
  readonly url: string;
  readonly port: number;
  /** Number of GetSecretValue calls answered (found or not), for measurements. */
  readonly getSecretValueCalls: number;
  readonly putSecretValueCalls: number;
  /** The ARN a secret has (or would have) here. */
  arnOf(name: string): string;
  /** Sets a secret's current value (creating it if needed), as PutSecretValue does. */
  putSecretValue(name: string, value: string): void;
  resetCounters(): void;
  stop(): Promise<void>;
}

interface SecretVersion {
  readonly versionId: string;
  readonly value: string;
  readonly createdDate: number;
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly createdDate: number;
  current: SecretVersion;
  previous?: SecretVersion;
}

const MAX_REQUEST_BYTES = 256 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startSecretsManagerEndpoint(options: SecretsEndpointOptions = {}): Promise<LocalSecretsEndpoint> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const secrets = new Map<string, StoredSecret>();
  let getCalls = 0;
  let putCalls = 0;

  // Real ARNs end with "-" and 6 random characters.
  const arnOf = (name: string) => secrets.get(name)?.arn ?? `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomUUID().slice(0, 6)}`;
  const nowSeconds = () => Date.now() / 1000;

  const find = (secretId: unknown): StoredSecret => {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new ServiceError('InvalidParameterException', 'SecretId is required.');
    }
    const byName = secrets.get(secretId);
    if (byName) return byName;
    for (const secret of secrets.values()) {
      // A full ARN, or a partial one without the random suffix.
      if (secret.arn === secretId || secretId === secret.arn.slice(0, -7)) return secret;
    }
    throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  };

  const put = (name: string, value: string, versionId: string = randomUUID()): StoredSecret => {
    const version = { versionId, value, createdDate: nowSeconds() };
    const existing = secrets.get(name);
    if (existing) {
      existing.previous = existing.current;
      existing.current = version;
      return existing;
    }
    const created: StoredSecret = { name, arn: arnOf(name), createdDate: version.createdDate, current: version };
    secrets.set(name, created);
    return created;
  };

  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetSecretValue: (input) => {
      getCalls += 1;
      const secret = find(input.SecretId);
      let version = secret.current;
      let stage = 'AWSCURRENT';
      if (input.VersionId !== undefined && input.VersionId !== secret.current.versionId) {
        if (secret.previous?.versionId !== input.VersionId) {
          throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId.");
        }
        version = secret.previous;
        stage = 'AWSPREVIOUS';
      } else if (input.VersionStage === 'AWSPREVIOUS') {
        if (!secret.previous) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS");
        version = secret.previous;
        stage = 'AWSPREVIOUS';
      } else if (input.VersionStage !== undefined && input.VersionStage !== 'AWSCURRENT') {
        throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${String(input.VersionStage)}`);
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        SecretString: version.value,
        VersionId: version.versionId,
        VersionStages: [stage],
        CreatedDate: version.createdDate,
      };
    },
    PutSecretValue: (input) => {
      putCalls += 1;
      const secret = find(input.SecretId);
      if (typeof input.SecretString !== 'string') throw new ServiceError('InvalidParameterException', 'SecretString is required (SecretBinary is not supported locally).');
      const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
      const updated = put(secret.name, input.SecretString, token);
      return { ARN: updated.arn, Name: updated.name, VersionId: updated.current.versionId, VersionStages: ['AWSCURRENT'] };
    },
    CreateSecret: (input) => {
      if (typeof input.Name !== 'string' || input.Name === '') throw new ServiceError('InvalidParameterException', 'Name is required.');
      if (secrets.has(input.Name)) throw new ServiceError('ResourceExistsException', `The operation failed because the secret ${input.Name} already exists.`);
      if (typeof input.SecretString !== 'string') throw new ServiceError('InvalidParameterException', 'SecretString is required (SecretBinary is not supported locally).');
      const created = put(input.Name, input.SecretString);
      return { ARN: created.arn, Name: created.name, VersionId: created.current.versionId };
    },
    DescribeSecret: (input) => {
      const secret = find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.current.createdDate,
        VersionIdsToStages: {
          [secret.current.versionId]: ['AWSCURRENT'],
          ...(secret.previous ? { [secret.previous.versionId]: ['AWSPREVIOUS'] } : {}),
        },
      };
    },
  };

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': String(Buffer.byteLength(text)),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (req.method !== 'POST') throw new ServiceError('UnknownOperationException', 'Only POST / is supported (AWS JSON 1.1 protocol).', 404);
      const target = String(req.headers['x-amz-target'] ?? '');
      const match = /^secretsmanager\.(\w+)$/.exec(target);
      const operation = match ? operations[match[1]] : undefined;
      if (!operation) throw new ServiceError('UnknownOperationException', `Operation ${target || '(no X-Amz-Target)'} is not supported by the local endpoint.`);
      let input: Record<string, unknown>;
      try {
        const text = (await readBody(req, MAX_REQUEST_BYTES)).toString('utf8');
        input = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw new ServiceError('InvalidRequestException', 'Request too large.', 413);
        throw new ServiceError('SerializationException', 'The request body is not valid JSON.');
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ServiceError('SerializationException', 'The request body must be a JSON object.');
      answer(res, 200, operation(input));
    } catch (error) {
      if (error instanceof ServiceError) {
        answer(res, error.status, { __type: error.type, message: error.message });
      } else {
        answer(res, 500, { __type: 'InternalServiceError', message: 'local endpoint failure' });
      }
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  const sockets = trackSockets(server);
  const port = await listen(server, options.port ?? 0, 'local Secrets Manager endpoint');

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    get getSecretValueCalls() {
      return getCalls;
    },
    get putSecretValueCalls() {
      return putCalls;
    },
    arnOf,
    putSecretValue: (name, value) => void put(name, value),
    resetCounters: () => {
      getCalls = 0;
      putCalls = 0;
    },
    stop: () => closeServer(server, sockets),
  };
}
