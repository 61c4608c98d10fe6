/** POST /luma/generations: create a video. */
import type { Context } from 'aws-lambda';
import { apiHandler } from '#http/api-handler';
import type { JsonEvent } from '#http/middleware';
import { submit } from '#http/submission';

export const create = (event: JsonEvent, context: Context) => submit(event, context, undefined);

export const handler = apiHandler(create, { jsonBody: true });
