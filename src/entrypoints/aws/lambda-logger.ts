import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import type { Logger } from '../../ports/logger.js';

export interface LambdaLogger extends Logger {
  /** Attach the invocation's request id and function details to what follows. */
  addContext(context: Context): void;
}

/**
 * The port's Logger on Powertools Logger: JSON lines with the Lambda context,
 * level from the function's log configuration (AWS_LAMBDA_LOG_LEVEL).
 */
export function lambdaLogger(serviceName: string): LambdaLogger {
  const logger = new PowertoolsLogger({ serviceName });
  // The port passes plain objects; Powertools types them as attribute maps.
  const attributes = (extra: object[]) => extra as LogAttributes[];
  return {
    debug: (message, ...extra) => logger.debug(message, ...attributes(extra)),
    info: (message, ...extra) => logger.info(message, ...attributes(extra)),
    warn: (message, ...extra) => logger.warn(message, ...attributes(extra)),
    error: (message, ...extra) => logger.error(message, ...attributes(extra)),
    addContext: (context) => logger.addContext(context),
  };
}
