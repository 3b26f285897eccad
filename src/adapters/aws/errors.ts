import { AgentError } from '../../domain/errors.js';

/** Base of the errors raised by the AWS storage adapters; the AWS SDK's error, if any, is the cause. */
export class AwsStorageError extends AgentError {
  static override readonly errorName: string = 'AwsStorageError';
}

/** A stored transcript item could not be read back (missing S3 object, bad payload). */
export class TranscriptCorruptError extends AwsStorageError {
  static override readonly errorName = 'TranscriptCorruptError';
}

/** Writers kept changing a session's head item; the append gave up after several tries. */
export class SessionContentionError extends AwsStorageError {
  static override readonly errorName = 'SessionContentionError';
}
