/**
 * The API's OpenAPI 3.1 document, generated from what the gateway is built
 * from: each route's contract in the route table (routes.ts), the views it
 * answers (domain/views.ts), the envelope (http/envelope-schema.ts) and the
 * error catalog (http/error-catalog.ts). `npm run openapi` writes it to
 * docs/openapi.json; the local stack serves it at GET /openapi.json; tests
 * hold the committed file to this function, lint it with Redocly, and
 * check every answer the e2e tests get against it.
 *
 * Not part of any Lambda: nothing under functions/<name>/ imports it.
 */
import { STATUS_CODES } from 'node:http';
import * as z from 'zod/mini';
import packageJson from '../package.json';
import { taskViewSchema } from './domain/views';
import { acceptedEnvelopeSchema, errorEnvelopeSchema, successEnvelopeSchema } from './http/envelope-schema';
import { CLIENT_ROUTE_ERRORS, errorCatalog, errorsOfStatus, EVERY_ROUTE_ERRORS } from './http/error-catalog';
import { SchemaComponents, type JsonSchema } from './openapi-schema';
import { frontOf, routes as allRoutes, MAX_BODY_BYTES, type RouteContract, type RouteDefinition } from './routes';

export const OPENAPI_DOCUMENT_PATH = 'docs/openapi.json';
/** Where the local stack serves the document. */
export const OPENAPI_LOCAL_PATH = '/openapi.json';

const JSON_MEDIA_TYPE = 'application/json';
const CLIENT_SECURITY_SCHEME = 'clientKey';

const DESCRIPTION = `Extend and create Luma Dream Machine videos through an upstream video API; every task is tracked to a true final state.

Every answer is one JSON envelope with the matching HTTP status: \`{"code": 0, "message": "success", "request_id": "…", "data": {…}}\`, or on error a non-zero \`code\`, a \`message\` that names what was wrong, and \`data: null\`.

A method or path not listed here is answered 404 with code 40400. Answers describe this version exactly (\`additionalProperties: false\`, which the gateway's tests hold it to); later versions may add fields, so ignore fields you do not know.`;

/** The README's error table, from the catalog: one row per status. */
function errorTable(): string {
  const statuses = [...new Set(errorCatalog.map((entry) => entry.status))];
  const rows = statuses.map((status) => {
    const entries = errorsOfStatus(status);
    return `| ${status} | ${entries.map((entry) => entry.code).join(' / ')} | ${entries.map((entry) => entry.when).join('; ')} |`;
  });
  return ['| status | code | when |', '|---|---|---|', ...rows].join('\n');
}

/** `get-task` → `getTask`. */
function operationId(route: RouteDefinition): string {
  return route.functionName.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Bad Request → BadRequest: the name of a status's shared response. */
function responseName(status: number): string {
  const phrase = STATUS_CODES[status];
  if (phrase === undefined) throw new Error(`no reason phrase for HTTP ${status}`);
  return phrase.replace(/[^A-Za-z0-9]+/g, '');
}

const headers = {
  'X-Request-Id': { description: "The request's id, as in the envelope's request_id.", required: true, schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying, when known.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: 'Bearer, when API Gateway refused the request for its key.', schema: { type: 'string' } },
} as const;

const HEADERS_OF_STATUS: Readonly<Record<number, readonly (keyof typeof headers)[]>> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
};

function errorResponse(status: number, components: SchemaComponents) {
  const entries = errorsOfStatus(status);
  if (entries.length === 0) throw new Error(`HTTP ${status} has no code in functions/http/error-catalog.ts`);
  const codes = entries.map((entry) => entry.code) as [number, ...number[]];
  const named = HEADERS_OF_STATUS[status] ?? [];
  return {
    description: [responseName(status), ...entries.map((entry) => `- \`${entry.code}\`: ${entry.when}`)].join('\n'),
    ...(named.length > 0 && { headers: Object.fromEntries(named.map((name) => [name, headers[name]])) }),
    content: { [JSON_MEDIA_TYPE]: { schema: components.convert(errorEnvelopeSchema(codes), 'output') } },
  };
}

/** Path, query and header parameters: one per property of the path and query schemas, one per header. */
function parameters(contract: RouteContract, components: SchemaComponents) {
  const parameter = (name: string, where: 'path' | 'query' | 'header', schema: z.ZodMiniType, required: boolean) => {
    const { description, ...json } = components.convert(schema, 'input');
    return { name, in: where, required, ...(typeof description === 'string' && { description }), schema: json };
  };
  const pathSchema = contract.pathParameters;
  const path = pathSchema ? Object.entries(pathSchema.shape as Record<string, z.ZodMiniType>).map(([name, schema]) => parameter(name, 'path', schema, true)) : [];
  const querySchema = contract.query;
  const query = querySchema
    ? Object.entries(querySchema.shape as Record<string, z.ZodMiniType>).map(([name, schema]) => {
        const optional = schema._zod.optin === 'optional';
        return parameter(name, 'query', optional ? ((schema as unknown as z.ZodMiniOptional).def.innerType as z.ZodMiniType) : schema, !optional);
      })
    : [];
  const header = Object.entries(contract.headers ?? {}).map(([name, schema]) => parameter(name, 'header', schema, false));
  return [...path, ...query, ...header];
}

function operation(route: RouteDefinition, components: SchemaComponents, usedErrors: Set<number>) {
  const contract = route.contract;
  if (contract === undefined) throw new Error(`route ${route.method} ${route.path} has no contract (functions/routes.ts)`);
  const declared = new Set((contract.pathParameters ? Object.keys(contract.pathParameters.shape) : []).sort());
  const inPath = new Set([...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort());
  if ([...declared].join() !== [...inPath].join()) {
    throw new Error(`route ${route.method} ${route.path}: its contract's path parameters (${[...declared].join(', ')}) are not the path's`);
  }
  const statuses = [...new Set([...contract.errors, ...EVERY_ROUTE_ERRORS, ...(route.auth === 'client' ? CLIENT_ROUTE_ERRORS : [])])].sort((a, b) => a - b);
  for (const status of statuses) usedErrors.add(status);
  const params = parameters(contract, components);
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(params.length > 0 && { parameters: params }),
    ...(contract.body && {
      requestBody: {
        required: true,
        description: `JSON, at most ${MAX_BODY_BYTES} bytes.`,
        content: { [JSON_MEDIA_TYPE]: { schema: components.convert(contract.body, 'input') } },
      },
    }),
    responses: {
      200: {
        description: 'Success: code 0 and the data.',
        headers: { 'X-Request-Id': headers['X-Request-Id'] },
        content: { [JSON_MEDIA_TYPE]: { schema: components.convert(successEnvelopeSchema(contract.data), 'output') } },
      },
      ...(contract.accepted && {
        202: {
          description: contract.accepted,
          headers: { 'X-Request-Id': headers['X-Request-Id'] },
          content: { [JSON_MEDIA_TYPE]: { schema: components.convert(acceptedEnvelopeSchema(contract.data), 'output') } },
        },
      }),
      ...Object.fromEntries(statuses.map((status) => [status, { $ref: `#/components/responses/${responseName(status)}` }])),
    },
    security: route.auth === 'client' ? [{ [CLIENT_SECURITY_SCHEME]: [] }] : [],
  };
}

/** The notification a client's notify_hook receives (README, Notifications). */
function taskChangedWebhook(components: SchemaComponents) {
  const signatureHeader = (name: string, description: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });
  return {
    post: {
      operationId: 'taskChanged',
      summary: 'A task of yours changed status: sent to its notify_hook',
      description:
        'The body is the task as GET returned it at that change, signed per Standard Webhooks with your whsec_ secret: verify it with the standardwebhooks library. ' +
        "Any 2xx answer means delivered; anything else, or no answer in time, is retried on the stage's schedule (8 attempts over about 27.6 h by default, Retry-After honoured), " +
        "at least once and in order per task; 410 disables your endpoint (see listEndpoints). Every attempt is listed by listDeliveries.",
      parameters: [
        signatureHeader('webhook-id', 'The same for every attempt and redelivery of one status change: deduplicate on it.'),
        signatureHeader('webhook-timestamp', 'Unix seconds of this attempt (signed).'),
        signatureHeader(
          'webhook-signature',
          'v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">; during a secret rotation\'s overlap, two of them, space-separated (the new secret\'s and the old one\'s): either verifies.',
        ),
      ],
      requestBody: { required: true, content: { [JSON_MEDIA_TYPE]: { schema: components.convert(taskViewSchema, 'output') } } },
      responses: {
        '2XX': { description: 'Delivered.' },
        default: { description: 'Any other status, or none in time: the attempt failed and is retried.' },
      },
      security: [],
    },
  };
}

export function openApiDocument(routes: readonly RouteDefinition[] = allRoutes) {
  const components = new SchemaComponents();
  const usedErrors = new Set<number>();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    const method = route.method.toLowerCase();
    if (item[method] !== undefined) throw new Error(`route ${route.method} ${route.path} is in the route table twice`);
    item[method] = operation(route, components, usedErrors);
    // Deployed, a function-url route is on its function's own host, not on the API's stage.
    if (frontOf(route) === 'function-url') {
      item.servers = [
        {
          url: 'https://{urlId}.lambda-url.{region}.on.aws',
          description: "The callback function's URL (the stack's CallbackBaseUrl output).",
          variables: { urlId: { default: 'url-id' }, region: { default: 'us-east-1' } },
        },
        { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start).' },
      ];
    }
  }
  const webhooks = { taskChanged: taskChangedWebhook(components) };
  const responses = Object.fromEntries([...usedErrors].sort((a, b) => a - b).map((status) => [responseName(status), errorResponse(status, components)]));
  return {
    openapi: '3.1.1',
    info: {
      title: 'luma-gateway',
      version: packageJson.version,
      description: `${DESCRIPTION}\n\n${errorTable()}`,
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: "A deployed stage (the stack's ApiUrl output).",
        variables: { apiId: { default: 'api-id' }, region: { default: 'us-east-1' }, stage: { default: 'dev' } },
      },
      { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start).' },
    ],
    paths,
    webhooks,
    components: {
      schemas: components.schemas as Record<string, JsonSchema>,
      responses,
      securitySchemes: {
        [CLIENT_SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description: 'Authorization: Bearer <client key> (lgw_…), from `npm run client -- create NAME`. Keys are stored only as hashes; a client sees only its own tasks.',
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** The document as committed: stable key order, two-space indent, a final newline. */
export function openApiText(document: unknown = openApiDocument()): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
