/**
 * The conversation's working directory kept in S3, as a delta per turn.
 *
 * ## Layout (under `prefix`, default `workspaces/`)
 *
 * | key | what |
 * | --- | --- |
 * | `<enc tenant>/<slug>/manifest.json.gz` | path -> content hash (sha256), size, mode; when each object was last written |
 * | `<enc tenant>/<slug>/objects/<sha256>` | one file content, stored once however many paths hold it |
 *
 * Content is addressed by its hash, so a save uploads only contents the
 * manifest does not already reference: unchanged files and renames upload
 * nothing. Symbolic links and other non-regular files are never read and
 * never kept; restored paths are checked to stay inside the directory.
 *
 * ## Crash safety and the single writer
 *
 * A save uploads objects first and writes the manifest last, in one
 * request: a crash in between leaves the previous manifest, which references
 * only objects that exist. The manifest is written conditionally on the ETag
 * it was restored from (`If-Match`, or `If-None-Match: *` for the first), so
 * if anything but the conversation's single writer (its lease) saved in
 * between, this save is refused rather than overwriting it.
 *
 * ## What is removed, and when
 *
 * - Objects the new manifest no longer references are deleted right after it
 *   is written. What a crash leaves unreferenced is removed by the bucket's
 *   lifecycle rule, since nothing refreshes it.
 * - The bucket's lifecycle rule counts from an object's last write, not from
 *   the conversation's last turn, so a save copies objects onto themselves
 *   once they are older than `refreshWindowSeconds` (and rewrites the
 *   manifest by then): a live conversation's files are never older than the
 *   window plus the session TTL, the rule's age (see storage.ts).
 * - `delete` (the conversation expired) removes the manifest, then every
 *   object under the conversation's prefix.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type ConversationRef, conversationSlug } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import {
  isSafeRelativePath,
  type LocalFile,
  listFiles,
  readLocalFile,
  writeLocalFile,
} from '../../lib/workspace-files.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import {
  DEFAULT_WORKSPACE_LIMITS,
  type WorkspaceCheckout,
  WorkspaceConflictError,
  type WorkspaceLimits,
  type WorkspaceRestoreReport,
  type WorkspaceSaveReport,
  type WorkspaceStore,
  WorkspaceStoreError,
} from '../../ports/workspace-store.js';
import { mapLimit } from './dynamo-util.js';

export interface S3WorkspaceStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix of every workspace, ending in `/`. Default `workspaces/`. */
  prefix?: string;
  limits?: Partial<WorkspaceLimits>;
  /** Age (s) after which a save copies a referenced object onto itself. Default 5 days. */
  refreshWindowSeconds?: number;
  /** Parallel object transfers. Default 16. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
}

interface ManifestEntry {
  hash: string;
  size: number;
  mode: number;
}

interface Manifest {
  format: 1;
  savedAt: number;
  files: Record<string, ManifestEntry>;
  /** Hash -> when its object was last written (epoch ms), for the lifecycle refresh. */
  objects: Record<string, number>;
}

const MANIFEST = 'manifest.json.gz';
const HASH = /^[0-9a-f]{64}$/;
const DAY_SECONDS = 86_400;

export class S3WorkspaceStore implements WorkspaceStore {
  readonly workingCopy = true;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #limits: WorkspaceLimits;
  readonly #windowMs: number;
  readonly #concurrency: number;
  readonly #now: () => number;
  readonly #logger: Logger;

  constructor(options: S3WorkspaceStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? 'workspaces/';
    this.#limits = { ...DEFAULT_WORKSPACE_LIMITS, ...options.limits };
    this.#windowMs = (options.refreshWindowSeconds ?? 5 * DAY_SECONDS) * 1000;
    this.#concurrency = options.concurrency ?? 16;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The key prefix of one conversation's workspace. */
  conversationPrefix(conversation: ConversationRef): string {
    return `${this.#prefix}${encodeURIComponent(conversation.tenant)}/${conversationSlug(conversation)}/`;
  }

  async checkout(conversation: ConversationRef, dir: string): Promise<WorkspaceCheckout> {
    const base = this.conversationPrefix(conversation);
    // Whatever an earlier turn left here is not the saved state: start from nothing.
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stored = await this.#readManifest(base);
    const previous: Manifest = stored?.manifest ?? {
      format: 1,
      savedAt: 0,
      files: pathMap(),
      objects: pathMap(),
    };

    const byHash = new Map<string, string[]>();
    for (const [file, entry] of Object.entries(previous.files)) {
      byHash.set(entry.hash, [...(byHash.get(entry.hash) ?? []), file]);
    }
    const restoredFingerprints = new Map<string, string>();
    const missing: string[] = [];
    let bytes = 0;
    await mapLimit([...byHash], this.#concurrency, async ([hash, paths]) => {
      const data = await this.#getObject(`${base}objects/${hash}`);
      if (!data || sha256(data) !== hash) {
        missing.push(...paths);
        // Not there to be referenced again: a save uploads the content anew.
        delete previous.objects[hash];
        return;
      }
      for (const file of paths) {
        const entry = previous.files[file] as ManifestEntry;
        restoredFingerprints.set(file, await writeLocalFile(dir, file, data, entry.mode));
        bytes += data.length;
      }
    });
    if (missing.length > 0) {
      missing.sort();
      this.#logger.warn('workspace files missing from the store; dropped', {
        conversation: base,
        missing: missing.length,
      });
      for (const file of missing) delete previous.files[file];
    }
    const restored: WorkspaceRestoreReport = {
      files: restoredFingerprints.size,
      bytes,
      missing,
    };
    let saved = false;
    return {
      restored,
      save: async () => {
        if (saved) throw new WorkspaceStoreError('a workspace checkout is saved once');
        saved = true;
        return this.#save(base, dir, previous, stored?.etag, restoredFingerprints);
      },
    };
  }

  async delete(conversation: ConversationRef): Promise<void> {
    const base = this.conversationPrefix(conversation);
    // The manifest first: a restore never finds one that points at deleted objects.
    await this.#client.send(
      new DeleteObjectCommand({ Bucket: this.#bucket, Key: `${base}${MANIFEST}` }),
    );
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: base,
          ContinuationToken: token,
        }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
      await this.#deleteKeys(keys);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async #save(
    base: string,
    dir: string,
    previous: Manifest,
    etag: string | undefined,
    restoredFingerprints: Map<string, string>,
  ): Promise<WorkspaceSaveReport> {
    const now = this.#now();
    const listing = await listFiles(dir);
    const skipped = [...listing.skipped];
    const files = pathMap<ManifestEntry>();
    const changed: LocalFile[] = [];
    let fileCount = 0;
    let byteCount = 0;
    const count = (entry: ManifestEntry) => {
      fileCount += 1;
      byteCount += entry.size;
    };
    for (const file of listing.files) {
      const before = previous.files[file.path];
      if (before && restoredFingerprints.get(file.path) === file.fingerprint) {
        files[file.path] = before;
        count(before);
      } else {
        changed.push(file);
        // Until the new content is admitted, the saved one holds its place.
        if (before) {
          files[file.path] = before;
          count(before);
        }
      }
    }

    // Admitted in path order, each whole or not at all, while within the limits.
    const admitted: LocalFile[] = [];
    const notKept: string[] = [];
    for (const file of changed) {
      const before = files[file.path];
      const nextFiles = fileCount + (before ? 0 : 1);
      const nextBytes = byteCount - (before?.size ?? 0) + file.size;
      if (nextFiles > this.#limits.maxFiles || nextBytes > this.#limits.maxBytes) {
        notKept.push(file.path);
        continue;
      }
      fileCount = nextFiles;
      byteCount = nextBytes;
      admitted.push(file);
    }

    const objects = pathMap<number>();
    const known = (hash: string) =>
      previous.objects[hash] !== undefined || objects[hash] !== undefined;
    let uploaded = 0;
    let uploadedBytes = 0;
    await mapLimit(admitted, Math.min(this.#concurrency, 8), async (file) => {
      let data: Buffer;
      try {
        data = await readLocalFile(dir, file.path);
      } catch (error) {
        // A link put in its place, or unreadable: never read through it.
        this.#logger.warn('workspace file not readable; not kept', {
          conversation: base,
          error: errorMessage(error),
        });
        skipped.push(file.path);
        const before = files[file.path];
        fileCount -= before ? 0 : 1;
        byteCount -= file.size - (before?.size ?? 0);
        return;
      }
      const hash = sha256(data);
      byteCount += data.length - file.size;
      files[file.path] = { hash, size: data.length, mode: file.mode };
      if (known(hash)) return;
      objects[hash] = now;
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: `${base}objects/${hash}`,
          Body: data,
          ContentLength: data.length,
          ContentType: 'application/octet-stream',
        }),
      );
      uploaded += 1;
      uploadedBytes += data.length;
    });

    // Referenced objects keep their write time, or get a fresh one by being copied onto themselves.
    const referenced = new Set(Object.values(files).map((entry) => entry.hash));
    const stale: string[] = [];
    for (const hash of referenced) {
      if (objects[hash] !== undefined) continue;
      const writtenAt = previous.objects[hash] ?? 0;
      if (now - writtenAt > this.#windowMs) stale.push(hash);
      else objects[hash] = writtenAt;
    }
    await mapLimit(stale, this.#concurrency, async (hash) => {
      const key = `${base}objects/${hash}`;
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          CopySource: `${this.#bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          Metadata: { refreshed: String(now) },
        }),
      );
      objects[hash] = now;
    });

    const report: WorkspaceSaveReport = {
      files: fileCount,
      bytes: byteCount,
      uploaded,
      uploadedBytes,
      notKept: notKept.sort(),
      skipped: skipped.sort(),
    };
    const unchanged =
      stale.length === 0 &&
      sameFiles(previous.files, files) &&
      (etag === undefined
        ? Object.keys(files).length === 0
        : now - previous.savedAt <= this.#windowMs);
    if (unchanged) return report;

    const manifest: Manifest = { format: 1, savedAt: now, files, objects };
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: `${base}${MANIFEST}`,
          Body: gzipSync(JSON.stringify(manifest)),
          ContentType: 'application/gzip',
          ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        }),
      );
    } catch (error) {
      if (isPreconditionFailed(error)) {
        throw new WorkspaceConflictError(
          `the workspace at ${base} was saved by another writer since it was restored`,
          { cause: error },
        );
      }
      throw error;
    }

    const unreferenced = Object.keys(previous.objects).filter((hash) => !referenced.has(hash));
    await this.#deleteKeys(unreferenced.map((hash) => `${base}objects/${hash}`)).catch(
      (error: unknown) =>
        // The lifecycle rule removes them in time: nothing refreshes them any more.
        this.#logger.warn('could not delete unreferenced workspace objects', {
          conversation: base,
          error: errorMessage(error),
        }),
    );
    return report;
  }

  async #readManifest(base: string): Promise<{ manifest: Manifest; etag: string } | undefined> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: `${base}${MANIFEST}` }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const body = await response.Body?.transformToByteArray();
    let manifest: Manifest;
    try {
      manifest = parseManifest(JSON.parse(gunzipSync(body ?? new Uint8Array()).toString('utf8')));
    } catch (error) {
      throw new WorkspaceStoreError(`the workspace manifest at ${base} is not readable`, {
        cause: error,
      });
    }
    if (!response.ETag) throw new WorkspaceStoreError(`no ETag on the manifest at ${base}`);
    return { manifest, etag: response.ETag };
  }

  async #getObject(key: string): Promise<Buffer | undefined> {
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      const body = await response.Body?.transformToByteArray();
      return Buffer.from(body?.buffer ?? new ArrayBuffer(0), body?.byteOffset, body?.byteLength);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #deleteKeys(keys: string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      const result = await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        throw new WorkspaceStoreError(
          `could not delete ${failed.length} workspace objects: ${failed[0]?.Message ?? 'unknown'}`,
        );
      }
    }
  }
}

/**
 * A map keyed by file path, without a prototype: a file named `__proto__` or
 * `constructor` is a key like any other.
 */
function pathMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function sameFiles(a: Record<string, ManifestEntry>, b: Record<string, ManifestEntry>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const x = a[key];
    const y = b[key];
    return y !== undefined && x?.hash === y.hash && x.size === y.size && x.mode === y.mode;
  });
}

/** Checks what came from the bucket before a path of it is written to disk. */
function parseManifest(value: unknown): Manifest {
  const record = value as Partial<Manifest> | null;
  if (record?.format !== 1 || typeof record.savedAt !== 'number')
    throw new Error('unknown manifest format');
  const files = pathMap<ManifestEntry>();
  for (const [file, entry] of Object.entries(record.files ?? {})) {
    if (
      !isSafeRelativePath(file) ||
      typeof entry?.hash !== 'string' ||
      !HASH.test(entry.hash) ||
      !Number.isSafeInteger(entry.size) ||
      entry.size < 0 ||
      !Number.isInteger(entry.mode)
    ) {
      throw new Error(`bad manifest entry ${JSON.stringify(file)}`);
    }
    files[file] = { hash: entry.hash, size: entry.size, mode: entry.mode & 0o777 };
  }
  const objects = pathMap<number>();
  for (const [hash, at] of Object.entries(record.objects ?? {})) {
    if (HASH.test(hash) && typeof at === 'number') objects[hash] = at;
  }
  return { format: 1, savedAt: record.savedAt, files, objects };
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/** 412: the condition failed; 409: a concurrent conditional write to the same key won. */
function isPreconditionFailed(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const status = statusOf(error);
  return (
    name === 'PreconditionFailed' ||
    name === 'ConditionalRequestConflict' ||
    status === 412 ||
    status === 409
  );
}
