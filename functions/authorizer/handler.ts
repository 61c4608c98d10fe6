/**
 * The client authorizer (API Gateway TOKEN authorizer, cached by API Gateway).
 * Looks the Bearer key's hash up in the clients table; the key itself is
 * never stored or logged.
 */
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent, Context } from 'aws-lambda';
import { logger } from '#adapters/logger';
import type { ClientStore } from '#domain/ports';
import { clientStore } from '#functions/wiring';

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

export async function authorize(clients: ClientStore, event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const key = bearerKey(event.authorizationToken);
  if (key === undefined) throw new Error(UNAUTHORIZED);
  const clientId = await clients.clientIdForKey(key);
  if (clientId === undefined) {
    logger.info('unknown client key');
    throw new Error(UNAUTHORIZED);
  }
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
  return authorize(clientStore(), event);
};
