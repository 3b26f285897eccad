/**
 * Structured logging. The shape matches Powertools for AWS Lambda's Logger,
 * so on Lambda that logger is passed straight in; locally a JSON-lines logger is.
 */
export interface Logger {
  debug(message: string, ...extra: object[]): void;
  info(message: string, ...extra: object[]): void;
  warn(message: string, ...extra: object[]): void;
  error(message: string, ...extra: object[]): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
