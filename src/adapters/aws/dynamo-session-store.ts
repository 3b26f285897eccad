/**
 * DynamoSessionStore: the Claude Agent SDK's `SessionStore` on DynamoDB, with
 * large batches spilled to S3. Usable by any SDK user:
 *
 *   const store = new DynamoSessionStore({
 *     client: new DynamoDBClient({}),
 *     tableName: 'agent-sessions',
 *     s3: { client: new S3Client({}), bucket: 'agent-transcripts', prefix: 'transcripts/' },
 *   });
 *   query({ prompt, options: { sessionStore: store, resume: sessionId } });
 *
 * ## Table (see `storageTableDefinition`: pk S, sk S; TTL on `expiresAt`)
 *
 * Key parts are URI-encoded (`enc`), so a `#` inside a project key, session id
 * or subpath never reads as a separator.
 *
 * | item | pk | sk | attributes |
 * | --- | --- | --- | --- |
 * | session head (main transcript) | `P#<enc projectKey>` | `S#<enc sessionId>` | sessionId, seq, mtime, hver, summary?, expiresAt |
 * | subagent head | `T#<enc projectKey>#<enc sessionId>` | `H#<enc subpath>` | subpath, seq, mtime, expiresAt |
 * | main chunk | `T#<enc projectKey>#<enc sessionId>` | `M#<seq, 12 digits>` | batch, parts, data \| obj, expiresAt |
 * | subagent chunk | `T#<enc projectKey>#<enc sessionId>` | `S#<enc subpath>#<seq>` | batch, parts, data \| obj, expiresAt |
 *
 * - One `append()` batch becomes one chunk: the batch's entries as a gzipped
 *   JSON array in `data` (B). A batch whose compressed size passes
 *   `spillThresholdBytes` goes to S3 as one object and the chunk holds its key
 *   (`obj`); without S3 it is split into `parts` items of at most
 *   `maxItemPayloadBytes` each. `batch` is the first sequence number of the
 *   batch, so a batch whose parts did not all land (a crash between puts) is
 *   recognised and skipped on load: appends are all-or-nothing without transactions.
 * - Order comes from the head's `seq` counter, never from a clock: an append
 *   reserves its sequence numbers with one atomic `ADD seq :n` and then puts
 *   its chunk items at those numbers (conditionally, so nothing is ever
 *   overwritten). Per-turn cost is two small writes plus what the turn added;
 *   the transcript is never read back or rewritten on append.
 * - Resume is one strongly consistent Query over the transcript's chunks
 *   (1 MB per page; gzip keeps a 10 MB transcript to a few pages), one GetItem
 *   of the head alongside it, and a GET per spilled batch, in parallel.
 * - The session head is also the `listSessions` index (one Query per project)
 *   and holds the SDK's session summary (`foldSessionSummary`), updated by
 *   compare-and-set on `hver` in the same request that reserves the sequence
 *   numbers, so concurrent writers cannot lose each other's fold.
 * - `mtime` is the writer's clock (epoch ms), never moved backwards.
 *
 * ## Expiry
 *
 * Every item carries `expiresAt` (epoch seconds) = write time + `ttlSeconds` +
 * `refreshWindowSeconds`. Chunks are immutable, so a long-lived session would
 * lose its oldest chunks first; `load()` therefore rewrites the expiry of
 * chunks with less than `ttlSeconds` left (and copies their S3 objects onto
 * themselves, restarting the bucket's lifecycle clock). Each item is
 * refreshed at most once per `refreshWindowSeconds`, and after any load or
 * append a whole session lives at least `ttlSeconds` more. Items past
 * `expiresAt` that DynamoDB has not yet deleted are treated as gone. Set the
 * bucket's lifecycle expiration to `sessionStoreRetentionDays(options)`.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  foldSessionSummary,
  type SessionKey,
  type SessionStore,
  type SessionStoreEntry,
  type SessionSummaryEntry,
} from '@anthropic-ai/claude-agent-sdk';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  batchWrite,
  conditionFailureItem,
  type Item,
  isConditionalCheckFailed,
  mapLimit,
  queryAll,
} from './dynamo-util.js';
import { SessionContentionError, TranscriptCorruptError } from './errors.js';
import { keyPart } from './table.js';

const DAY_SECONDS = 86_400;

export interface DynamoSessionStoreOptions {
  /** The DynamoDB client; the store wraps it in a document client (its middleware applies). */
  client: DynamoDBClient;
  tableName: string;
  /** Where batches too big for an item go. Without it they are split across items. */
  s3?: {
    client: S3Client;
    bucket: string;
    /** Key prefix of the transcript objects, e.g. `transcripts/` (default ''). */
    prefix?: string;
  };
  /**
   * Compressed batch size (bytes) above which a batch is written to S3, when S3
   * is configured. Default 64 KiB: an S3 PUT costs about as much as 4 KB of
   * DynamoDB writes, so big batches are far cheaper there, while keeping the
   * common small batches in DynamoDB keeps resume to a few Query pages.
   */
  spillThresholdBytes?: number;
  /** Largest payload in one item when a batch is split (default 350 000; items stop at 400 KB). */
  maxItemPayloadBytes?: number;
  /** A session lives at least this long after its last load or append (default 25 days). */
  ttlSeconds?: number;
  /** How long an item's expiry may lag before `load()` refreshes it (default 5 days). */
  refreshWindowSeconds?: number;
  /** Parallel S3 requests within one call (default 16). */
  s3Concurrency?: number;
  /** Storage clock for `mtime` and expiry, epoch ms (injectable for tests). Never used for order. */
  now?: () => number;
}

/** Days the S3 lifecycle rule must keep transcript objects (ttl + refresh window, rounded up). */
export function sessionStoreRetentionDays(
  options: Pick<DynamoSessionStoreOptions, 'ttlSeconds' | 'refreshWindowSeconds'> = {},
): number {
  const { ttl, window } = expiryOptions(options);
  return Math.ceil((ttl + window) / DAY_SECONDS);
}

/** What this process last knew of a main transcript's head (for compare-and-set). */
interface HeadState {
  hver: number;
  mtime: number;
  summary: SessionSummaryEntry | undefined;
}

interface Chunk {
  pk: string;
  sk: string;
  batch: number;
  parts: number;
  data?: Uint8Array;
  obj?: string;
  expiresAt: number;
}

/** The SDK's summary is opaque and unbounded; one too big for the head item is not kept. */
const MAX_SUMMARY_BYTES = 64 * 1024;
/** Sessions whose head this instance remembers (a few hundred bytes each). */
const MAX_CACHED_HEADS = 10_000;
/** Appends that lose a compare-and-set race retry this often before giving up. */
const MAX_HEAD_ATTEMPTS = 10;

export class DynamoSessionStore implements SessionStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #s3: DynamoSessionStoreOptions['s3'];
  readonly #prefix: string;
  readonly #spillThreshold: number;
  readonly #maxPart: number;
  readonly #ttl: number;
  readonly #window: number;
  readonly #s3Concurrency: number;
  readonly #now: () => number;
  /** Main transcripts' heads as last written or read by this instance. */
  readonly #heads = new Map<string, HeadState>();
  /** Appends to one transcript run one after another, so they persist in call order. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(options: DynamoSessionStoreOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
    this.#s3 = options.s3;
    this.#prefix = options.s3?.prefix ?? '';
    this.#spillThreshold = options.spillThresholdBytes ?? 64 * 1024;
    this.#maxPart = options.maxItemPayloadBytes ?? 350_000;
    const { ttl, window } = expiryOptions(options);
    this.#ttl = ttl;
    this.#window = window;
    this.#s3Concurrency = options.s3Concurrency ?? 16;
    this.#now = options.now ?? Date.now;
    if (this.#maxPart <= 0 || this.#maxPart > 390_000) {
      throw new RangeError('maxItemPayloadBytes must be between 1 and 390000');
    }
  }

  async append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Serialise first: an entry that cannot become JSON fails the batch before any write.
    const payload = gzipSync(JSON.stringify(entries));
    const id = transcriptId(key);
    const previous = this.#tails.get(id) ?? Promise.resolve();
    const run = previous.then(
      () => this.#appendPayload(key, entries, payload),
      () => this.#appendPayload(key, entries, payload),
    );
    this.#tails.set(id, run);
    try {
      await run;
    } finally {
      if (this.#tails.get(id) === run) this.#tails.delete(id);
    }
  }

  async #appendPayload(
    key: SessionKey,
    entries: SessionStoreEntry[],
    payload: Buffer,
  ): Promise<void> {
    // The S3 object goes first under a fresh name, so a chunk never points at
    // an object that is not there; an object orphaned by a failure after this
    // is left to the bucket's lifecycle.
    let obj: string | undefined;
    if (this.#s3 && payload.length > this.#spillThreshold) {
      obj = `${this.#prefix}${keyPart(key.projectKey)}/${keyPart(key.sessionId)}/${randomUUID()}.json.gz`;
      await this.#s3.client.send(
        new PutObjectCommand({
          Bucket: this.#s3.bucket,
          Key: obj,
          Body: payload,
          ContentType: 'application/gzip',
        }),
      );
    }
    const parts: Array<{ data?: Uint8Array; obj?: string }> = obj
      ? [{ obj }]
      : splitBytes(payload, this.#maxPart).map((data) => ({ data }));

    for (let attempt = 0; ; attempt += 1) {
      const last = await this.#reserve(key, parts.length, entries);
      const batch = last - parts.length + 1;
      const expiresAt = this.#expiresAt();
      try {
        await Promise.all(
          parts.map((part, i) =>
            this.#doc.send(
              new PutCommand({
                TableName: this.#table,
                Item: {
                  pk: transcriptPk(key),
                  sk: chunkSk(key, batch + i),
                  batch,
                  parts: parts.length,
                  ...part,
                  expiresAt,
                },
                // Never overwrite: a taken number means the counter fell
                // behind the chunks (its head expired or was deleted while
                // chunks remained), handled below.
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            ),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error) || attempt >= 2) throw error;
        await this.#skipPastChunks(key);
      }
    }
  }

  /** Reserve `count` sequence numbers; returns the last. Main transcripts fold the summary too. */
  async #reserve(key: SessionKey, count: number, entries: SessionStoreEntry[]): Promise<number> {
    const now = Math.floor(this.#now());
    const expiresAt = this.#expiresAt();
    if (key.subpath !== undefined) {
      const result = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: subHeadKey(key),
          UpdateExpression:
            'SET subpath = :subpath, mtime = :mtime, expiresAt = :expiresAt ADD seq :count',
          ExpressionAttributeValues: {
            ':subpath': key.subpath,
            ':mtime': now,
            ':expiresAt': expiresAt,
            ':count': count,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes?.seq);
    }

    const id = transcriptId(key);
    let head = this.#heads.get(id);
    for (let attempt = 0; attempt < MAX_HEAD_ATTEMPTS; attempt += 1) {
      const mtime = Math.max(now, head?.mtime ?? 0);
      const summary = foldSessionSummary(head?.summary, key, entries, { mtime });
      const summaryJson = JSON.stringify(summary.data);
      const keepSummary = Buffer.byteLength(summaryJson) <= MAX_SUMMARY_BYTES;
      const hver = (head?.hver ?? 0) + 1;
      try {
        const result = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: mainHeadKey(key),
            UpdateExpression: `SET sessionId = :sessionId, mtime = :mtime, expiresAt = :expiresAt, hver = :hver, ${
              keepSummary ? 'summary = :summary' : 'summary = :none'
            } ADD seq :count`,
            ConditionExpression: head ? 'hver = :expected' : 'attribute_not_exists(pk)',
            ExpressionAttributeValues: {
              ':sessionId': key.sessionId,
              ':mtime': mtime,
              ':expiresAt': expiresAt,
              ':hver': hver,
              ...(keepSummary ? { ':summary': summaryJson } : { ':none': null }),
              ':count': count,
              ...(head ? { ':expected': head.hver } : {}),
            },
            ReturnValues: 'UPDATED_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        this.#remember(id, { hver, mtime, summary: keepSummary ? summary : undefined });
        return Number(result.Attributes?.seq);
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Another writer moved the head: fold onto what it wrote. DynamoDB
        // returns the current item with the failure; emulators may not.
        const current = conditionFailureItem(error);
        head = current ? parseHead(key, current) : await this.#readHead(key);
      }
    }
    throw new SessionContentionError(
      `session ${key.sessionId}: head kept changing over ${MAX_HEAD_ATTEMPTS} attempts`,
    );
  }

  /** Move the counter past the last chunk present (head lost while chunks remained). */
  async #skipPastChunks(key: SessionKey): Promise<void> {
    const found = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': transcriptPk(key), ':prefix': chunkPrefix(key) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const lastChunk = found.Items?.[0] as Chunk | undefined;
    if (!lastChunk) return;
    const lastSeq = lastChunk.batch + lastChunk.parts - 1;
    const sub = key.subpath !== undefined;
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: sub ? subHeadKey(key) : mainHeadKey(key),
        // ADD only grows the counter, so racing writers cannot move it back.
        UpdateExpression: sub
          ? 'SET subpath = :name, mtime = if_not_exists(mtime, :now), expiresAt = :expiresAt ADD seq :skip'
          : 'SET sessionId = :name, mtime = if_not_exists(mtime, :now), expiresAt = :expiresAt, hver = if_not_exists(hver, :zero) ADD seq :skip',
        ExpressionAttributeValues: {
          ':name': sub ? key.subpath : key.sessionId,
          ':now': Math.floor(this.#now()),
          ':expiresAt': this.#expiresAt(),
          ':skip': lastSeq,
          ...(sub ? {} : { ':zero': 0 }),
        },
      }),
    );
    if (!sub) this.#heads.delete(transcriptId(key));
  }

  async load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    const [items] = await Promise.all([
      queryAll(this.#doc, {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': transcriptPk(key), ':prefix': chunkPrefix(key) },
        ConsistentRead: true,
      }),
      // Read alongside, so the appends of the turn that follows a resume can
      // compare-and-set the head without a read of their own.
      key.subpath === undefined ? this.#readHead(key) : undefined,
    ]);
    const nowSeconds = this.#nowSeconds();
    const chunks = (items as unknown as Chunk[]).filter((chunk) => chunk.expiresAt > nowSeconds);
    const batches = completeBatches(chunks);
    if (batches.length === 0) return null;

    const payloads = await mapLimit(batches, this.#s3Concurrency, (batch) =>
      this.#payloadOf(batch),
    );
    // Idempotency by uuid is applied here, on read: the first occurrence wins
    // and later ones (a replayed or retried batch) are skipped. Checking on
    // write would need a read or a conditional marker item per entry on every
    // append, while duplicates are rare (SDK retries, importSessionToStore)
    // and cost only their own bytes until then. Entries without uuid are kept.
    const seen = new Set<string>();
    const entries: SessionStoreEntry[] = [];
    for (const payload of payloads) {
      for (const entry of parsePayload(payload)) {
        if (typeof entry.uuid === 'string') {
          if (seen.has(entry.uuid)) continue;
          seen.add(entry.uuid);
        }
        entries.push(entry);
      }
    }

    await this.#refreshExpiry(key, chunks, nowSeconds);
    return entries;
  }

  async #payloadOf(batch: Chunk[]): Promise<Uint8Array> {
    const [first] = batch;
    if (first?.obj !== undefined) {
      if (!this.#s3) {
        throw new TranscriptCorruptError(`chunk ${first.sk} is in S3, but no bucket is configured`);
      }
      try {
        const object = await this.#s3.client.send(
          new GetObjectCommand({ Bucket: this.#s3.bucket, Key: first.obj }),
        );
        if (!object.Body) throw new Error('empty response body');
        return await object.Body.transformToByteArray();
      } catch (error) {
        throw new TranscriptCorruptError(`transcript object ${first.obj} could not be read`, {
          cause: error,
        });
      }
    }
    return Buffer.concat(batch.map((part) => part.data ?? new Uint8Array()));
  }

  /** Give chunks (and their S3 objects) that have less than the ttl left a fresh expiry. */
  async #refreshExpiry(key: SessionKey, chunks: Chunk[], nowSeconds: number): Promise<void> {
    const stale = chunks.filter((chunk) => chunk.expiresAt < nowSeconds + this.#ttl);
    if (stale.length === 0) return;
    const expiresAt = this.#expiresAt();
    const s3 = this.#s3;
    if (s3) {
      // Copying an object onto itself restarts its lifecycle age.
      await mapLimit(
        stale.filter((chunk) => chunk.obj !== undefined),
        this.#s3Concurrency,
        (chunk) =>
          s3.client.send(
            new CopyObjectCommand({
              Bucket: s3.bucket,
              Key: chunk.obj,
              CopySource: `${s3.bucket}/${(chunk.obj ?? '').split('/').map(encodeURIComponent).join('/')}`,
              MetadataDirective: 'REPLACE',
              ContentType: 'application/gzip',
              Metadata: { refreshed: String(nowSeconds) },
            }),
          ),
      );
    }
    // Chunks are immutable, so putting them back whole is safe; a batch of 25
    // puts costs far fewer requests than an UpdateItem per chunk. (A delete
    // racing with this may leave some chunks behind, unlisted, for the TTL.)
    await batchWrite(
      this.#doc,
      this.#table,
      stale.map((chunk) => ({ PutRequest: { Item: { ...chunk, expiresAt } } })),
    );
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key.subpath === undefined ? mainHeadKey(key) : subHeadKey(key),
          UpdateExpression: 'SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':expiresAt': expiresAt },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async listSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    return (await this.#liveHeads(projectKey)).map((item) => ({
      sessionId: String(item.sessionId),
      mtime: Number(item.mtime),
    }));
  }

  async listSessionSummaries(projectKey: string): Promise<SessionSummaryEntry[]> {
    return (await this.#liveHeads(projectKey))
      .filter((item) => typeof item.summary === 'string')
      .map((item) => ({
        sessionId: String(item.sessionId),
        mtime: Number(item.mtime),
        data: JSON.parse(String(item.summary)) as Record<string, unknown>,
      }));
  }

  async #liveHeads(projectKey: string): Promise<Item[]> {
    const nowSeconds = this.#nowSeconds();
    const items = await queryAll(this.#doc, {
      TableName: this.#table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `P#${keyPart(projectKey)}`, ':prefix': 'S#' },
      ConsistentRead: true,
    });
    return items.filter(
      (item) => Number(item.expiresAt) > nowSeconds && typeof item.mtime === 'number',
    );
  }

  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    const nowSeconds = this.#nowSeconds();
    const items = await queryAll(this.#doc, {
      TableName: this.#table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': transcriptPk(key), ':prefix': 'H#' },
      ProjectionExpression: 'subpath, expiresAt',
      ConsistentRead: true,
    });
    return items
      .filter((item) => Number(item.expiresAt) > nowSeconds)
      .map((item) => String(item.subpath));
  }

  /** A main key removes the whole session (subagents, summary); a subpath only itself. */
  async delete(key: SessionKey): Promise<void> {
    const main = key.subpath === undefined;
    if (main) {
      // The head goes first: a delete cut short leaves unlisted leftovers for
      // the TTL, never a listed session with half a transcript.
      this.#heads.delete(transcriptId(key));
      await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: mainHeadKey(key) }));
    }
    const items = await queryAll(this.#doc, {
      TableName: this.#table,
      KeyConditionExpression: main ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': transcriptPk(key),
        ...(main ? {} : { ':prefix': chunkPrefix(key) }),
      },
      ProjectionExpression: 'pk, sk, obj',
      ConsistentRead: true,
    });
    const keys = items.map((item) => ({ pk: item.pk, sk: item.sk }));
    if (!main) keys.unshift(subHeadKey(key));
    await batchWrite(
      this.#doc,
      this.#table,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
    );
    const objects = items.flatMap((item) => (typeof item.obj === 'string' ? [item.obj] : []));
    const s3 = this.#s3;
    if (s3 && objects.length > 0) {
      for (let offset = 0; offset < objects.length; offset += 1000) {
        await s3.client.send(
          new DeleteObjectsCommand({
            Bucket: s3.bucket,
            Delete: {
              Objects: objects.slice(offset, offset + 1000).map((Key) => ({ Key })),
              Quiet: true,
            },
          }),
        );
      }
    }
  }

  async #readHead(key: SessionKey): Promise<HeadState | undefined> {
    const result = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: mainHeadKey(key), ConsistentRead: true }),
    );
    const head = result.Item ? parseHead(key, result.Item) : undefined;
    const id = transcriptId(key);
    if (head) this.#remember(id, head);
    else this.#heads.delete(id);
    return head;
  }

  /** The cache only saves a read; bounded, oldest first out, for long-lived processes. */
  #remember(id: string, head: HeadState): void {
    this.#heads.delete(id);
    this.#heads.set(id, head);
    if (this.#heads.size > MAX_CACHED_HEADS) {
      const oldest = this.#heads.keys().next().value;
      if (oldest !== undefined) this.#heads.delete(oldest);
    }
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #expiresAt(): number {
    return this.#nowSeconds() + this.#ttl + this.#window;
  }
}

function expiryOptions(
  options: Pick<DynamoSessionStoreOptions, 'ttlSeconds' | 'refreshWindowSeconds'>,
): { ttl: number; window: number } {
  return {
    ttl: options.ttlSeconds ?? 25 * DAY_SECONDS,
    window: options.refreshWindowSeconds ?? 5 * DAY_SECONDS,
  };
}

function parseHead(key: SessionKey, item: Item): HeadState | undefined {
  if (typeof item.hver !== 'number') return undefined;
  const mtime = typeof item.mtime === 'number' ? item.mtime : 0;
  return {
    hver: item.hver,
    mtime,
    summary:
      typeof item.summary === 'string'
        ? { sessionId: key.sessionId, mtime, data: JSON.parse(item.summary) }
        : undefined,
  };
}

/**
 * Chunks grouped into their batches, in order, leaving out batches with a
 * part missing (a writer that failed half-way; its retry wrote a whole copy).
 */
function completeBatches(chunks: Chunk[]): Chunk[][] {
  const batches: Chunk[][] = [];
  let current: Chunk[] = [];
  for (const chunk of chunks) {
    if (current.length > 0 && current[0]?.batch !== chunk.batch) {
      batches.push(current);
      current = [];
    }
    current.push(chunk);
  }
  if (current.length > 0) batches.push(current);
  return batches.filter((batch) => batch.length === batch[0]?.parts);
}

function parsePayload(payload: Uint8Array): SessionStoreEntry[] {
  const parsed: unknown = JSON.parse(gunzipSync(payload).toString('utf8'));
  if (!Array.isArray(parsed)) throw new TranscriptCorruptError('transcript chunk is not an array');
  return parsed as SessionStoreEntry[];
}

function splitBytes(bytes: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    parts.push(bytes.subarray(offset, offset + size));
  }
  return parts;
}

function transcriptId(key: SessionKey): string {
  return `${transcriptPk(key)}|${key.subpath === undefined ? '' : keyPart(key.subpath)}`;
}

function transcriptPk(key: { projectKey: string; sessionId: string }): string {
  return `T#${keyPart(key.projectKey)}#${keyPart(key.sessionId)}`;
}

function mainHeadKey(key: SessionKey): { pk: string; sk: string } {
  return { pk: `P#${keyPart(key.projectKey)}`, sk: `S#${keyPart(key.sessionId)}` };
}

function subHeadKey(key: SessionKey): { pk: string; sk: string } {
  return { pk: transcriptPk(key), sk: `H#${keyPart(key.subpath ?? '')}` };
}

function chunkPrefix(key: SessionKey): string {
  return key.subpath === undefined ? 'M#' : `S#${keyPart(key.subpath)}#`;
}

function chunkSk(key: SessionKey, seq: number): string {
  return `${chunkPrefix(key)}${String(seq).padStart(12, '0')}`;
}
