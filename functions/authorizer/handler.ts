/**
 * The client authorizer (API Gateway TOKEN authorizer, cached by API Gateway
 * for authorizerCacheTtlSeconds; it keeps no cache of its own). Looks the
 * Bearer key's hash up in the clients table; the key itself is never stored
 * or logged. A key a rotation replaced is accepted for clientKeyOverlapSeconds
 * after the rotation; a revoked client's keys are deleted, so unknown.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import { keyStillAccepted } from '#domain/credentials';
import type { ClientStore } from '#domain/ports';
import { clientStore, nowSeconds, settings } from '#functions/wiring';

/** API Gateway answers 401 when an authorizer throws exactly this. */
const UNAUTHORIZED = 'Unauthorized';

/** The key from an Authorization header value, or undefined when it is not a Bearer credential. */
export function bearerKey(header: string | undefined): string | undefined {
  const match = /^\s*Bearer\s+([\x21-\x7e]{16,512})\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Allow every route of this API stage, so the cached answer for this key
 * serves all routes: the handlers check ownership of each task themselves.
 */
export function stageWildcard(methodArn: string): string {
  // arn:aws:execute-api:region:account:api-id/stage/METHOD/path...
  const [apiArn, stage] = methodArn.split('/');
  return `${apiArn}/${stage}/*/*`;
}

export interface AuthorizeOptions {
  /** How long a key replaced by a rotation stays accepted (clientKeyOverlapSeconds). */
  readonly keyOverlapSeconds: number;
  readonly now: () => number;
}

export async function authorize(clients: Pick<ClientStore, 'keyOf'>, event: APIGatewayTokenAuthorizerEvent, options: AuthorizeOptions): Promise<APIGatewayAuthorizerResult> {
  const key = bearerKey(event.authorizationToken);
  if (key === undefined) throw new Error(UNAUTHORIZED);
  const found = await clients.keyOf(key);
  if (found === undefined) {
    logger.info('unknown client key');
    throw new Error(UNAUTHORIZED);
  }
  if (!keyStillAccepted(found.replacedAt, options.now(), options.keyOverlapSeconds)) {
    logger.info('client key replaced by a rotation, past its overlap', { client_id: found.clientId });
    throw new Error(UNAUTHORIZED);
  }
  const clientId = found.clientId;
  return {
    principalId: clientId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcard(event.methodArn) }],
    },
    context: { clientId },
  };
}

/**
 * Not wrapped in middy (the cheapest, most frequent cold start there is): the
 * Logger gets the Lambda context by hand, and the function emits no metric.
 */
export const handler = (event: APIGatewayTokenAuthorizerEvent, context?: Context) => {
  if (context) logger.addContext(context);
  return authorize(clientStore(), event, { keyOverlapSeconds: settings().clientKeyOverlapSeconds, now: nowSeconds });
};
