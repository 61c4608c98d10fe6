/**
 * Administering clients: the operator's use cases, as plain functions over
 * the ClientStore and UsageStore ports, so the client CLI
 * (lib/client-cli/commands.ts) and an admin API later run the same code.
 * Clients are named by their name or, when several share it, their id
 * (findClient).
 *
 * When a change takes effect: API Gateway caches the authorizer's verdict
 * on a key for authorizerCacheTtlSeconds (300 s by default) and the
 * authorizer keeps no cache of its own, so a revoked or dropped key is
 * refused at most that long after the command; a new key works at once;
 * a key replaced with an overlap is accepted for clientKeyOverlapSeconds
 * (24 h by default) after the rotation, and at most the cache's lifetime
 * more. Limits apply to the next submission (they are read inside its
 * transaction).
 */
import { invalid, notFound } from './errors';
import type { Client, ClientKey, ClientStore, RotatedKey, UsageStore } from './ports';
import { findClient } from './rotate-webhook-secret';
import type { LimitsState } from './usage';
import { usageReport, type UsageRange, type UsageReport } from './usage-report';

export interface ClientSummary {
  readonly client: Client;
  readonly keys: readonly ClientKey[];
  readonly limits: LimitsState;
}

/** Every client with its keys and its limits (with the counters they hold). */
export async function listClients(clients: Pick<ClientStore, 'list'>, usage: Pick<UsageStore, 'limits'>): Promise<ClientSummary[]> {
  const listed = await clients.list();
  const limits = await Promise.all(listed.map(({ client }) => usage.limits(client.clientId)));
  return listed.map((entry, i) => ({ ...entry, limits: limits[i] }));
}

/** Revokes a client: every key of it is deleted (refused within the authorizer's cache lifetime). */
export async function revokeClient(clients: Pick<ClientStore, 'get' | 'findByName' | 'revoke'>, nameOrId: string, at?: number) {
  const client = await findClient(clients, nameOrId);
  const revoked = await clients.revoke(client.clientId, at);
  if (revoked === undefined) throw notFound(`client ${client.clientId} no longer exists`);
  return { client, ...revoked };
}

/** A new API key for a client (shown once); the old one stays accepted for the overlap unless `keepOld` is false. */
export async function rotateClientKey(
  clients: Pick<ClientStore, 'get' | 'findByName' | 'rotateKey'>,
  nameOrId: string,
  options: { readonly keepOld: boolean; readonly at?: number },
): Promise<{ client: Client; rotated: RotatedKey }> {
  const client = await findClient(clients, nameOrId);
  const rotated = await clients.rotateKey(client.clientId, options);
  if (rotated === undefined) throw notFound(`client ${client.clientId} no longer exists`);
  return { client, rotated };
}

/** A limit as an operator gives it: a whole number from 0, or `none` (no limit). */
export function parseLimit(raw: string | undefined, what: string): number | null | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().toLowerCase();
  if (text === 'none') return null;
  if (!/^\d{1,9}$/.test(text)) throw invalid(`${what} must be a whole number from 0, or none (no limit); got ${JSON.stringify(raw)}`);
  return Number(text);
}

/** Sets (a number), removes (null) or keeps (undefined) each of a client's limits; the limits after. */
export async function setClientLimits(
  clients: Pick<ClientStore, 'get' | 'findByName'>,
  usage: Pick<UsageStore, 'setLimits' | 'limits'>,
  nameOrId: string,
  change: { readonly maxOpenTasks?: number | null; readonly maxTasksPerDay?: number | null },
  at: number,
): Promise<{ client: Client; limits: LimitsState }> {
  const client = await findClient(clients, nameOrId);
  const unchanged = change.maxOpenTasks === undefined && change.maxTasksPerDay === undefined;
  return { client, limits: unchanged ? await usage.limits(client.clientId) : await usage.setLimits(client.clientId, change, at) };
}

/** The usage report of one client (by name or id), or of every client. */
export async function clientUsage(
  clients: Pick<ClientStore, 'get' | 'findByName' | 'list'>,
  usage: Pick<UsageStore, 'days'>,
  nameOrId: string | undefined,
  range: UsageRange,
): Promise<{ client: Client; report: UsageReport }[]> {
  const chosen = nameOrId === undefined ? (await clients.list()).map((entry) => entry.client) : [await findClient(clients, nameOrId)];
  return Promise.all(chosen.map(async (client) => ({ client, report: await usageReport(usage, client.clientId, range) })));
}

