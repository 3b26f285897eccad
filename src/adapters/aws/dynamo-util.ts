import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { AwsStorageError } from './errors.js';

export type Item = Record<string, unknown>;

export function isConditionalCheckFailed(error: unknown): error is Error & { Item?: unknown } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The item DynamoDB returns with a failed condition
 * (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`), as plain values. The
 * document client does not unmarshall errors, so this reads the raw
 * attribute values of the flat items used here (S, N, B, BOOL, NULL).
 * Undefined when the service sent none (emulators do not).
 */
export function conditionFailureItem(error: { Item?: unknown }): Item | undefined {
  const raw = error.Item;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const item: Item = {};
  for (const [name, value] of Object.entries(raw as Record<string, Record<string, unknown>>)) {
    if ('S' in value) item[name] = value.S;
    else if ('N' in value) item[name] = Number(value.N);
    else if ('B' in value) item[name] = value.B;
    else if ('BOOL' in value) item[name] = value.BOOL;
    else if ('NULL' in value) item[name] = null;
  }
  return item;
}

/** Every page of a query, in key order. */
export async function queryAll(
  doc: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as Item[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
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
