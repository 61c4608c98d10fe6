/** POST /luma/endpoints/{endpoint_id}/enable: re-enables one of the caller's endpoints. */
import { endpointIdPathSchema } from '#domain/notification-requests';
import { enableEndpoint } from '#domain/redeliver';
import { endpointStore } from '#functions/wiring';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { parseOrThrow } from '#http/validation';

export async function enableCallersEndpoint(event: JsonEvent) {
  const { endpoint_id } = parseOrThrow(endpointIdPathSchema, event.pathParameters ?? {}, 'path');
  return enableEndpoint(endpointStore(), callerId(event), endpoint_id);
}

export const handler = apiHandler(enableCallersEndpoint, { jsonBody: false });
