import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AwsStorageError } from './errors.js';

export type Item = Record<string, unknown>;

export function isConditionalCheckFailed(error: unknown): error is Error & { Item?: unknown } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The item DynamoDB returns with a failed condition
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), as plain values. The
 * document client does not unmarshall errors, so this does, as the document
 * client would. Undefined when the service sent none (emulators do not).
 */
export function conditionFailureItem(error: { Item?: unknown }): Item | undefined {
  const raw = error.Item;
  if (typeof raw !== 'object' || raw === null) return undefined;
  return unmarshall(raw as Parameters<typeof unmarshall>[0]);
}

/** Every page of a query, in key order. */
export async function queryAll(
  doc: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Item[]> {
  const items: Item[] = [];
  // A copy: the paginator writes each page's start key into the input it gets.
  for await (const page of paginateQuery({ client: doc }, { ...input })) {
    items.push(...((page.Items ?? []) as Item[]));
  }
  return items;
}

const BATCH_WRITE_LIMIT = 25;
const BATCH_WRITE_ATTEMPTS = 8;

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/**
 * BatchWriteItem in groups of 25, resubmitting unprocessed items (throttling)
 * with backoff. Batches are independent: a failure may leave earlier groups written.
 */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: WriteRequest[],
): Promise<void> {
  for (let offset = 0; offset < requests.length; offset += BATCH_WRITE_LIMIT) {
    let pending = requests.slice(offset, offset + BATCH_WRITE_LIMIT);
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt === BATCH_WRITE_ATTEMPTS) {
        throw new AwsStorageError(`${pending.length} batch writes stayed unprocessed`);
      }
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const result = await doc.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
