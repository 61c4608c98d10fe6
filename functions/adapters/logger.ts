/** One structured logger per container. Events are never logged whole: they carry keys and tokens. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'luma-gateway' });
