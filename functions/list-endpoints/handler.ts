/** GET /luma/endpoints: the caller's endpoints (its notify_hook URLs) and whether the gateway still sends to each. */
import { listEndpoints } from '#domain/redeliver';
import { endpointStore } from '#functions/wiring';
import { apiHandler, callerId } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';

export async function listCallersEndpoints(event: JsonEvent) {
  return { endpoints: await listEndpoints(endpointStore(), callerId(event)) };
}

export const handler = apiHandler(listCallersEndpoints, { jsonBody: false });
