import { randomBytes, randomUUID } from 'node:crypto';
import type { SessionKey, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AwsEmulators,
  type RequestLog,
  recordRequests,
  startAwsEmulators,
} from '../../../test/support/aws-emulators.js';
import { describeSessionStoreContract } from '../../../test/support/session-store-contract.js';
import { DynamoSessionStore, type DynamoSessionStoreOptions } from './dynamo-session-store.js';

let aws: AwsEmulators;
let dynamoLog: RequestLog;
let s3Log: RequestLog;

beforeAll(async () => {
  aws = await startAwsEmulators();
  dynamoLog = recordRequests(aws.dynamo);
  s3Log = recordRequests(aws.s3);
});

afterAll(async () => {
  await aws?.stop();
});

function makeStore(options: Partial<DynamoSessionStoreOptions> = {}): DynamoSessionStore {
  return new DynamoSessionStore({
    client: aws.dynamo,
    tableName: aws.tableName,
    s3: { client: aws.s3, bucket: aws.bucket, prefix: 'transcripts/' },
    ...options,
  });
}

describeSessionStoreContract('DynamoSessionStore (DynamoDB + S3, defaults)', async () => ({
  store: makeStore(),
}));

// Most batches go to S3 here, so every contract case runs through the spill path.
describeSessionStoreContract('DynamoSessionStore (S3 spill above 256 bytes)', async () => ({
  store: makeStore({ spillThresholdBytes: 256 }),
}));

// And here every batch of more than a few hundred bytes is split across items.
describeSessionStoreContract('DynamoSessionStore (DynamoDB only, 300-byte parts)', async () => ({
  store: makeStore({ s3: undefined, maxItemPayloadBytes: 300 }),
}));

let counter = 0;
function entry(extra: Record<string, unknown> = {}): SessionStoreEntry {
  counter += 1;
  return { type: 'user', uuid: randomUUID(), message: { content: `message ${counter}` }, ...extra };
}

/** ~`bytes` of JSON that gzip cannot shrink, like a base64 tool output. */
function incompressibleEntry(bytes: number): SessionStoreEntry {
  return entry({ toolResult: randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64') });
}

function newKey(): SessionKey {
  return { projectKey: `project-${randomUUID()}`, sessionId: randomUUID() };
}

function items(key: SessionKey) {
  const doc = DynamoDBDocumentClient.from(aws.dynamo);
  return doc
    .send(
      new QueryCommand({
        TableName: aws.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: {
          ':pk': `T#${encodeURIComponent(key.projectKey)}#${encodeURIComponent(key.sessionId)}`,
        },
      }),
    )
    .then((result) => result.Items ?? []);
}

describe('DynamoSessionStore', () => {
  beforeEach(() => {
    dynamoLog.reset();
    s3Log.reset();
  });

  it('round-trips a 600 KB incompressible entry through S3', async () => {
    const store = makeStore();
    const key = newKey();
    const entries = [entry(), incompressibleEntry(600_000), entry()];
    await store.append(key, entries);

    expect(s3Log.byOperation.get('PutObject')).toBe(1);
    expect(await items(key)).toHaveLength(1);
    // A fresh instance (another container) reads it back.
    expect(await makeStore().load(key)).toStrictEqual(entries);

    await store.delete(key);
    const left = await aws.s3.send(
      new ListObjectsV2Command({
        Bucket: aws.bucket,
        Prefix: `transcripts/${encodeURIComponent(key.projectKey)}/`,
      }),
    );
    expect(left.KeyCount ?? 0).toBe(0);
  });

  it('round-trips a 900 KB incompressible entry split across items without S3', async () => {
    const store = makeStore({ s3: undefined });
    const key = newKey();
    const before = [entry()];
    const big = [incompressibleEntry(900_000)];
    const after = [entry()];
    await store.append(key, before);
    await store.append(key, big);
    await store.append(key, after);

    // gzip cannot shrink it below two 350 KB parts.
    expect((await items(key)).length).toBeGreaterThanOrEqual(2 + 2);
    expect(await makeStore({ s3: undefined }).load(key)).toStrictEqual([
      ...before,
      ...big,
      ...after,
    ]);
  });

  it('writes only what an append adds, in two DynamoDB requests', async () => {
    const store = makeStore();
    const key = newKey();
    await store.append(
      key,
      Array.from({ length: 40 }, () => incompressibleEntry(2_000)),
    );
    const turn = [entry({ text: 'x'.repeat(3_000) })];

    for (let i = 0; i < 3; i += 1) {
      dynamoLog.reset();
      await store.append(
        key,
        turn.map((e) => ({ ...e, uuid: randomUUID() })),
      );
      expect(Object.fromEntries(dynamoLog.byOperation)).toStrictEqual({
        UpdateItem: 1,
        PutItem: 1,
      });
      // The ~80 KB transcript is neither read nor rewritten.
      expect(dynamoLog.bytes).toBeLessThan(6_000);
    }
  });

  it('resumes with one Query page and one head read, and appends after it without extra reads', async () => {
    const writer = makeStore();
    const key = newKey();
    for (let i = 0; i < 50; i += 1) await writer.append(key, [entry(), entry()]);

    const reader = makeStore();
    dynamoLog.reset();
    expect(await reader.load(key)).toHaveLength(100);
    expect(Object.fromEntries(dynamoLog.byOperation)).toStrictEqual({ Query: 1, GetItem: 1 });

    dynamoLog.reset();
    await reader.append(key, [entry()]);
    expect(dynamoLog.count).toBe(2);
  });

  it('keeps order and every summary fold when two instances append in turn', async () => {
    const a = makeStore();
    const b = makeStore();
    const key = newKey();
    const batches = [
      [entry(), { type: 'custom-title', customTitle: 'from a' }],
      [entry(), { type: 'custom-title', customTitle: 'from b' }],
      [entry(), { type: 'tag', tag: 'from a again' }],
    ];
    await a.append(key, batches[0] as SessionStoreEntry[]);
    await b.append(key, batches[1] as SessionStoreEntry[]);
    // `a` still holds the head it wrote; its compare-and-set fails and it refolds on b's.
    await a.append(key, batches[2] as SessionStoreEntry[]);

    expect(await makeStore().load(key)).toStrictEqual(batches.flat());
    const [summary] = await makeStore().listSessionSummaries(key.projectKey);
    expect(summary?.data).toMatchObject({ customTitle: 'from b', tag: 'from a again' });
  });

  it('loses nothing when instances append to one session concurrently', async () => {
    const stores = [makeStore(), makeStore(), makeStore()];
    const key = newKey();
    const batches = Array.from({ length: 12 }, (_, i) => [entry({ i })]);
    await Promise.all(batches.map((batch, i) => stores[i % 3]?.append(key, batch)));

    const loaded = (await makeStore().load(key)) ?? [];
    expect(new Set(loaded.map((e) => e.uuid))).toStrictEqual(
      new Set(batches.flat().map((e) => e.uuid)),
    );
    expect(loaded).toHaveLength(12);
  });

  it('skips a batch whose parts did not all land', async () => {
    const store = makeStore({ s3: undefined, maxItemPayloadBytes: 300 });
    const key = newKey();
    const first = [entry()];
    await store.append(key, first);
    // A writer that died after the first of two parts.
    const doc = DynamoDBDocumentClient.from(aws.dynamo);
    await doc.send(
      new PutCommand({
        TableName: aws.tableName,
        Item: {
          pk: `T#${encodeURIComponent(key.projectKey)}#${encodeURIComponent(key.sessionId)}`,
          sk: 'M#000000000500',
          batch: 500,
          parts: 2,
          data: new Uint8Array([31, 139]),
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
        },
      }),
    );
    const last = [incompressibleEntry(1_000)];
    await store.append(key, last);

    expect(await store.load(key)).toStrictEqual([...first, ...last]);
  });

  it('never overwrites chunks when the session head was lost', async () => {
    const store = makeStore();
    const key = newKey();
    const first = Array.from({ length: 5 }, () => entry());
    for (const e of first) await store.append(key, [e]);
    const doc = DynamoDBDocumentClient.from(aws.dynamo);
    await doc.send(
      new DeleteCommand({
        TableName: aws.tableName,
        Key: {
          pk: `P#${encodeURIComponent(key.projectKey)}`,
          sk: `S#${encodeURIComponent(key.sessionId)}`,
        },
      }),
    );

    const second = [entry()];
    await makeStore().append(key, second);
    const third = [entry()];
    await store.append(key, third);

    expect(await makeStore().load(key)).toStrictEqual([...first, ...second, ...third]);
    expect((await makeStore().listSessions(key.projectKey)).map((s) => s.sessionId)).toStrictEqual([
      key.sessionId,
    ]);
  });

  it('keeps a session that is resumed now and then alive past its first expiry', async () => {
    let now = Date.UTC(2030, 0, 1);
    const day = 86_400_000;
    const options = {
      now: () => now,
      ttlSeconds: 10 * 86_400,
      refreshWindowSeconds: 2 * 86_400,
      spillThresholdBytes: 256,
    };
    const store = makeStore(options);
    const key = newKey();
    const old = [incompressibleEntry(1_000), entry()];
    await store.append(key, old);

    // Resumed every 5 days for 30 days, appended to every time.
    const added: SessionStoreEntry[] = [];
    for (let i = 0; i < 6; i += 1) {
      now += 5 * day;
      expect(await makeStore(options).load(key)).toStrictEqual([...old, ...added]);
      const batch = [entry()];
      await store.append(key, batch);
      added.push(...batch);
    }
    expect(s3Log.byOperation.get('CopyObject')).toBeGreaterThan(0);

    // Idle for longer than the ttl plus the refresh window: gone, everywhere.
    now += 13 * day;
    expect(await store.load(key)).toBeNull();
    expect(await store.listSessions(key.projectKey)).toStrictEqual([]);
  });

  it('refreshes each chunk at most once per refresh window', async () => {
    let now = Date.UTC(2030, 0, 1);
    const options = { now: () => now, ttlSeconds: 10 * 86_400, refreshWindowSeconds: 2 * 86_400 };
    const store = makeStore(options);
    const key = newKey();
    for (let i = 0; i < 30; i += 1) await store.append(key, [entry()]);

    now += 86_400_000;
    dynamoLog.reset();
    await store.load(key);
    expect(dynamoLog.byOperation.get('BatchWriteItem')).toBeUndefined();

    now += 2 * 86_400_000;
    dynamoLog.reset();
    await store.load(key);
    expect(dynamoLog.byOperation.get('BatchWriteItem')).toBe(2);

    dynamoLog.reset();
    await store.load(key);
    expect(dynamoLog.byOperation.get('BatchWriteItem')).toBeUndefined();
  });

  it('rejects an entry that is not JSON before writing anything', async () => {
    const store = makeStore();
    const key = newKey();
    const cyclic: Record<string, unknown> = { type: 'user' };
    cyclic.self = cyclic;
    await expect(store.append(key, [cyclic as SessionStoreEntry])).rejects.toThrow(TypeError);
    expect(dynamoLog.count).toBe(0);
    expect(await store.load(key)).toBeNull();
  });
});

describe('DynamoSessionStore against a DynamoDB that returns the item of a failed condition', () => {
  it('refolds onto the returned head without reading it again', async () => {
    const client = aws.dynamoReturningConditionItems();
    const log = recordRequests(client);
    const a = new DynamoSessionStore({ client, tableName: aws.tableName });
    const b = new DynamoSessionStore({ client, tableName: aws.tableName });
    const key = newKey();
    const batches = [
      [entry(), { type: 'custom-title', customTitle: 'from a' }],
      [entry(), { type: 'tag', tag: 'from b' }],
      [entry()],
    ];
    await a.append(key, batches[0] as SessionStoreEntry[]);
    await b.append(key, batches[1] as SessionStoreEntry[]);
    await a.append(key, batches[2] as SessionStoreEntry[]);

    expect(log.byOperation.get('GetItem')).toBeUndefined();
    expect(await a.load(key)).toStrictEqual(batches.flat());
    const [summary] = await a.listSessionSummaries(key.projectKey);
    expect(summary?.data).toMatchObject({ customTitle: 'from a', tag: 'from b' });
  });
});
