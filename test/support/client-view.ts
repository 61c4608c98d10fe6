/**
 * How a client sees a failure: the domain throws errors by kind, the API
 * maps each onto an HTTP status, envelope code and headers
 * (functions/http/errors.ts). Tests of the domain assert what the client is
 * told through the same mapping.
 */
import { httpErrorOf } from '#http/errors';

/** A caught error as the client is told of it (non-domain errors as they are). */
export const clientView = (error: unknown): any => httpErrorOf(error) ?? error;

/** The promise, with its rejection as the client is told of it. */
export const asClientSees = <T>(promise: Promise<T>): Promise<T> =>
  promise.catch((error: unknown) => {
    throw clientView(error);
  });
