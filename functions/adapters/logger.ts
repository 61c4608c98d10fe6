/**
 * One structured logger per container (Powertools Logger, JSON lines).
 * Events, bodies and headers are never logged whole: they carry keys,
 * tokens and images. Errors are logged as log-errors.ts has them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { errorReplacer } from './log-errors';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'luma-gateway', jsonReplacerFn: errorReplacer });
