/**
 * Rotating a client's webhook secret (the CLI's rotate-webhook-secret, and
 * an admin API later): a new whsec_ secret, shown once; the old one keeps
 * signing beside it for the overlap (webhookSecretOverlapSeconds, read by
 * the functions that send), so the client can switch at its own pace.
 */
import { conflict, notFound } from './errors';
import type { Client, ClientStore, RotatedSecret } from './ports';

/** The client named by its id or, failing that, by its (unique) name. */
export async function findClient(clients: Pick<ClientStore, 'get' | 'findByName'>, nameOrId: string): Promise<Client> {
  const byId = /^[0-9a-f-]{36}$/.test(nameOrId) ? await clients.get(nameOrId) : undefined;
  if (byId) return byId;
  const named = await clients.findByName(nameOrId);
  if (named.length === 0) throw notFound(`no client is named ${nameOrId} (or has that id)`);
  if (named.length > 1) throw conflict(`${named.length} clients are named ${nameOrId}: pass one of their ids (${named.map((c) => c.clientId).join(', ')})`);
  return named[0];
}

export async function rotateWebhookSecret(
  clients: Pick<ClientStore, 'get' | 'findByName' | 'rotateWebhookSecret'>,
  nameOrId: string,
  at?: number,
): Promise<{ client: Client; rotated: RotatedSecret }> {
  const client = await findClient(clients, nameOrId);
  const rotated = await clients.rotateWebhookSecret(client.clientId, { at });
  if (rotated === undefined) throw notFound(`client ${client.clientId} no longer exists`);
  return { client, rotated };
}
