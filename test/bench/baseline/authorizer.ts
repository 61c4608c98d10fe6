/** Baseline for the authorizer: hash the Bearer key, one GetItem; nothing else. */
import { createHash } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';

const db = new DynamoDBClient({});

export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const key = /^\s*Bearer\s+(\S{16,512})\s*$/i.exec(event.authorizationToken ?? '')?.[1];
  if (!key) throw new Error('Unauthorized');
  const pk = `key#${createHash('sha256').update(key).digest('hex')}`;
  const { Item } = await db.send(new GetItemCommand({ TableName: process.env.CLIENTS_TABLE!, Key: { pk: { S: pk } } }));
  const clientId = Item?.client_id?.S;
  if (!clientId) throw new Error('Unauthorized');
  const [apiArn, stage] = event.methodArn.split('/');
  return {
    principalId: clientId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${apiArn}/${stage}/*/*` }] },
    context: { clientId },
  };
}
