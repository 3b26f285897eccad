/** Base of the errors raised by the AWS storage adapters; the AWS SDK's error, if any, is the cause. */
export class AwsStorageError extends Error {
  override readonly name: string = 'AwsStorageError';
}

/** A stored transcript item could not be read back (missing S3 object, bad payload). */
export class TranscriptCorruptError extends AwsStorageError {
  override readonly name = 'TranscriptCorruptError';
}

/** Writers kept changing a session's head item; the append gave up after several tries. */
export class SessionContentionError extends AwsStorageError {
  override readonly name = 'SessionContentionError';
}
