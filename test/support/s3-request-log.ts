/**
 * S3 clients for tests and benchmarks of the workspace store: one that
 * records every request (command, key, bytes sent and received), and a shim
 * that gives s3rver the conditional writes real S3 has (`If-Match`,
 * `If-None-Match: *` on PutObject), which s3rver ignores.
 */
import { HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { AwsEmulators } from './aws-emulators.js';

export interface S3Request {
  command: string;
  key: string | undefined;
  /** Body bytes sent (PutObject). */
  sentBytes: number;
  /** Body bytes received (GetObject's ContentLength). */
  receivedBytes: number;
}

export interface RecordingS3 {
  client: S3Client;
  requests: S3Request[];
  /** Forget what was recorded so far. */
  clear(): void;
  /** Requests of one command. */
  of(command: string): S3Request[];
  /** Make the next requests that match throw (a crash at that point, as the store sees it). */
  failWhen(match: ((request: S3Request) => boolean) | undefined): void;
  destroy(): void;
}

/** A new client on the emulator that records its requests and honours conditional puts. */
export function recordingS3(aws: Pick<AwsEmulators, 's3Endpoint'>): RecordingS3 {
  const options = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    endpoint: aws.s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  } as const;
  const client = new S3Client(options);
  const heads = new S3Client(options);
  const requests: S3Request[] = [];
  let failing: ((request: S3Request) => boolean) | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        Bucket?: string;
        Key?: string;
        Body?: unknown;
        IfMatch?: string;
        IfNoneMatch?: string;
      };
      const request: S3Request = {
        command: context.commandName ?? 'unknown',
        key: input.Key,
        sentBytes: byteLength(input.Body),
        receivedBytes: 0,
      };
      requests.push(request);
      if (failing?.(request)) throw new Error(`injected failure of ${request.command}`);
      if (request.command === 'PutObjectCommand' && (input.IfMatch || input.IfNoneMatch)) {
        const current = await heads
          .send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }))
          .then((head) => head.ETag)
          .catch(() => undefined);
        const refused =
          (input.IfNoneMatch === '*' && current !== undefined) ||
          (input.IfMatch !== undefined && input.IfMatch !== current);
        if (refused) {
          throw new S3ServiceException({
            name: 'PreconditionFailed',
            $fault: 'client',
            $metadata: { httpStatusCode: 412 },
            message: 'At least one of the pre-conditions you specified did not hold',
          });
        }
      }
      const result = await next(args);
      const output = result.output as { ContentLength?: number };
      if (request.command === 'GetObjectCommand') request.receivedBytes = output.ContentLength ?? 0;
      return result;
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  return {
    client,
    requests,
    clear: () => {
      requests.length = 0;
    },
    of: (command) => requests.filter((request) => request.command === command),
    failWhen: (match) => {
      failing = match;
    },
    destroy: () => {
      client.destroy();
      heads.destroy();
    },
  };
}

function byteLength(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}
