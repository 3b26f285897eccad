/**
 * Protocol emulators for the AWS storage adapters: dynalite (DynamoDB) and
 * s3rver (S3), each on a random loopback port, with clients configured for
 * them. Start once per test file (beforeAll) or per benchmark; `stop()` closes
 * both and removes s3rver's data directory.
 *
 * Known gaps of the emulators: dynalite has no TTL deletion and no
 * transactions; s3rver rejects the flexible checksums the SDK now sends by
 * default, hence `requestChecksumCalculation: 'WHEN_REQUIRED'`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { storageTableDefinition } from '../../src/adapters/aws/table.js';

// Neither package ships type declarations; these are the parts used here.
type DynaliteFactory = (options: { createTableMs?: number; deleteTableMs?: number }) => Server;
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string; configs: never[] }>;
}) => S3rverInstance;

const require = createRequire(import.meta.url);

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
// s3rver only knows its own built-in dummy key pair.
const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const region = 'us-east-1';

export interface AwsEmulators {
  dynamo: DynamoDBClient;
  s3: S3Client;
  /** A table created with `storageTableDefinition` (pk/sk, the expiry index). */
  tableName: string;
  bucket: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** Create another table of the same shape (for isolation between tests), ready for use. */
  createTable(name: string): Promise<void>;
  deleteTable(name: string): Promise<void>;
  /**
   * A second DynamoDB client that, like the real service and unlike dynalite,
   * attaches the current item (raw attribute values) to a failed condition
   * when the request asked for `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`.
   */
  dynamoReturningConditionItems(): DynamoDBClient;
  stop(): Promise<void>;
}

export async function startAwsEmulators(
  options: { tableName?: string; bucket?: string } = {},
): Promise<AwsEmulators> {
  const tableName = options.tableName ?? 'agent-storage';
  const bucket = options.bucket ?? 'agent-transcripts';

  const dynalite = require('dynalite') as DynaliteFactory;
  const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynaliteServer.once('error', reject);
    dynaliteServer.listen(0, '127.0.0.1', () => resolve());
  });
  const dynamoEndpoint = `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`;

  const S3rver = require('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const s3Address = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;

  const dynamo = new DynamoDBClient({ region, credentials, endpoint: dynamoEndpoint });
  const s3 = new S3Client({
    region,
    credentials: s3rverCredentials,
    endpoint: s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  const createTable = async (name: string): Promise<void> => {
    await dynamo.send(new CreateTableCommand(storageTableDefinition(name)));
    for (;;) {
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: name }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const deleteTable = async (name: string): Promise<void> => {
    await dynamo.send(new DeleteTableCommand({ TableName: name }));
  };
  await createTable(tableName);
  const extraClients: DynamoDBClient[] = [];

  return {
    dynamo,
    s3,
    tableName,
    bucket,
    dynamoEndpoint,
    s3Endpoint,
    createTable,
    deleteTable,
    dynamoReturningConditionItems() {
      const client = new DynamoDBClient({ region, credentials, endpoint: dynamoEndpoint });
      const reader = new DynamoDBClient({ region, credentials, endpoint: dynamoEndpoint });
      extraClients.push(client, reader);
      client.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            const input = args.input as {
              TableName?: string;
              Key?: GetItemCommand['input']['Key'];
              Item?: NonNullable<GetItemCommand['input']['Key']>;
              ReturnValuesOnConditionCheckFailure?: string;
            };
            if (
              error instanceof Error &&
              error.name === 'ConditionalCheckFailedException' &&
              input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD'
            ) {
              const current = await reader.send(
                new GetItemCommand({
                  TableName: input.TableName,
                  // A put names its key in the item.
                  Key: input.Key ?? {
                    pk: input.Item?.pk ?? { S: '' },
                    sk: input.Item?.sk ?? { S: '' },
                  },
                  ConsistentRead: true,
                }),
              );
              Object.assign(error, { Item: current.Item });
            }
            throw error;
          }
        },
        // After the document client's marshalling: the input holds raw attribute values.
        { step: 'build', name: 'conditionFailureItem' },
      );
      return client;
    },
    async stop() {
      for (const client of extraClients) client.destroy();
      dynamo.destroy();
      s3.destroy();
      await s3rver.close();
      await new Promise<void>((resolve) => dynaliteServer.close(() => resolve()));
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Requests a client sent since the last reset, counted once per command (retries excluded). */
export interface RequestLog {
  count: number;
  /** Request body bytes (JSON for DynamoDB, object bodies for S3). */
  bytes: number;
  byOperation: Map<string, number>;
  reset(): void;
}

type Handler = (args: { request?: unknown }) => Promise<unknown>;
interface MiddlewareHost {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'build'; name: string },
    ): void;
  };
}

export function recordRequests(client: DynamoDBClient | S3Client): RequestLog {
  const log: RequestLog = {
    count: 0,
    bytes: 0,
    byOperation: new Map(),
    reset() {
      log.count = 0;
      log.bytes = 0;
      log.byOperation.clear();
    },
  };
  // The two clients' stacks are typed for their own inputs; this middleware reads only the request.
  (client as unknown as MiddlewareHost).middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      log.count += 1;
      log.byOperation.set(operation, (log.byOperation.get(operation) ?? 0) + 1);
      log.bytes += bodyBytes((args.request as { body?: unknown } | undefined)?.body);
      return next(args);
    },
    { step: 'build', name: `requestRecorder${Math.random()}` },
  );
  return log;
}

function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}
