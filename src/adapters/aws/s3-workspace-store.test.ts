import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../../../test/support/aws-emulators.js';
import { type RecordingS3, recordingS3 } from '../../../test/support/s3-request-log.js';
import type { ConversationRef } from '../../domain/conversation.js';
import { WorkspaceConflictError } from '../../ports/workspace-store.js';
import { S3WorkspaceStore, type S3WorkspaceStoreOptions } from './s3-workspace-store.js';

let aws: AwsEmulators;
let s3: RecordingS3;
let root = '';
let next = 0;

beforeAll(async () => {
  aws = await startAwsEmulators();
  s3 = recordingS3(aws);
  root = await mkdtemp(path.join(tmpdir(), 's3-workspace-'));
});

afterAll(async () => {
  s3?.destroy();
  await aws?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  s3.clear();
  s3.failWhen(undefined);
});

/** A conversation of its own for each test, and a fresh directory for each "container". */
function conversation(): ConversationRef {
  next += 1;
  return { tenant: 'test', channel: 'telegram', chatId: String(next) };
}
function container(): string {
  next += 1;
  return path.join(root, `container-${next}`, 'workspace');
}

function store(options: Partial<S3WorkspaceStoreOptions> = {}): S3WorkspaceStore {
  return new S3WorkspaceStore({ client: s3.client, bucket: aws.bucket, ...options });
}

async function put(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
}

/** Every file under `dir` with its content, as a fresh container would see it. */
async function contents(dir: string): Promise<Record<string, string>> {
  const { listFiles } = await import('../../lib/workspace-files.js');
  const out: Record<string, string> = {};
  for (const file of (await listFiles(dir)).files) {
    out[file.path] = await readFile(path.join(dir, file.path), 'utf8');
  }
  return out;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await aws.s3.send(
    new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: prefix }),
  );
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

/** One turn on a fresh container: restore, change, save. */
async function turn(
  workspaces: S3WorkspaceStore,
  ref: ConversationRef,
  change: (dir: string) => Promise<void>,
) {
  const dir = container();
  const checkout = await workspaces.checkout(ref, dir);
  await change(dir);
  s3.clear();
  const report = await checkout.save();
  return { dir, report, checkout };
}

describe('S3WorkspaceStore', () => {
  it('restores on a cold container what an earlier turn saved: contents, folders and modes', async () => {
    const workspaces = store();
    const ref = conversation();
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    await turn(workspaces, ref, async (dir) => {
      await put(dir, {
        'notes.md': '# Notes\n',
        'src/deep/a.txt': 'A',
        'empty.txt': '',
        'bin.dat': binary,
      });
      await writeFile(path.join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
      await chmod(path.join(dir, 'run.sh'), 0o755);
    });

    const fresh = container();
    const checkout = await workspaces.checkout(ref, fresh);

    expect(checkout.restored).toMatchObject({ files: 5, missing: [] });
    expect(await contents(fresh)).toMatchObject({
      'notes.md': '# Notes\n',
      'src/deep/a.txt': 'A',
      'empty.txt': '',
      'run.sh': '#!/bin/sh\necho hi\n',
    });
    expect(await readFile(path.join(fresh, 'bin.dat'))).toEqual(binary);
    expect((await stat(path.join(fresh, 'run.sh'))).mode & 0o777).toBe(0o755);
  });

  it('keeps files whose names are property names of a plain object', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, (dir) =>
      put(dir, { __proto__: 'proto', constructor: 'ctor', 'toString/x': 'x' }),
    );
    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({
      __proto__: 'proto',
      constructor: 'ctor',
      'toString/x': 'x',
    });
  });

  it('uploads exactly one object and the manifest when one file of 200 changes', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, async (dir) => {
      for (let i = 0; i < 200; i++)
        await put(dir, { [`files/f${i}.txt`]: `file ${i}\n`.repeat(50) });
    });

    const { report } = await turn(workspaces, ref, async (dir) => {
      await put(dir, { 'files/f17.txt': 'changed\n' });
    });

    const puts = s3.of('PutObjectCommand');
    expect(puts).toHaveLength(2);
    expect(puts[0]?.key).toMatch(/\/objects\/[0-9a-f]{64}$/);
    expect(puts[0]?.sentBytes).toBe('changed\n'.length);
    expect(puts[1]?.key).toMatch(/\/manifest\.json\.gz$/);
    // The content it replaced goes (one request); nothing else is read or written.
    expect(s3.requests.map((request) => request.command).sort()).toEqual([
      'DeleteObjectsCommand',
      'PutObjectCommand',
      'PutObjectCommand',
    ]);
    expect(report).toMatchObject({ files: 200, uploaded: 1, uploadedBytes: 8, notKept: [] });
  });

  it('uploads nothing for a rename or a copy, and no request at all for an unchanged turn', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, (dir) => put(dir, { 'draft.md': 'the text' }));

    await turn(workspaces, ref, async (dir) => {
      await rename(path.join(dir, 'draft.md'), path.join(dir, 'final.md'));
      await put(dir, { 'copy.md': 'the text' });
    });
    expect(s3.of('PutObjectCommand').map((request) => request.key)).toEqual([
      expect.stringMatching(/manifest\.json\.gz$/),
    ]);

    const { report } = await turn(workspaces, ref, async () => {});
    expect(s3.requests).toEqual([]);
    expect(report).toMatchObject({ files: 2, uploaded: 0 });
    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'final.md': 'the text', 'copy.md': 'the text' });
  });

  it('carries a deletion over to the next container and removes the content no longer referenced', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, (dir) => put(dir, { 'keep.txt': 'keep', 'gone.txt': 'gone' }));
    const before = await keysUnder(workspaces.conversationPrefix(ref));
    expect(before).toHaveLength(3);

    await turn(workspaces, ref, (dir) => unlink(path.join(dir, 'gone.txt')));

    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'keep.txt': 'keep' });
    expect(await keysUnder(workspaces.conversationPrefix(ref))).toHaveLength(2);
  });

  it('never reads through a symbolic link nor keeps one', async () => {
    const workspaces = store();
    const ref = conversation();
    const outside = path.join(root, 'outside-secret.txt');
    await writeFile(outside, 'SECRET-OUTSIDE');
    await mkdir(path.join(root, 'outside-dir'), { recursive: true });
    await writeFile(path.join(root, 'outside-dir', 'inner.txt'), 'SECRET-INNER');

    const { report } = await turn(workspaces, ref, async (dir) => {
      await put(dir, { 'real.txt': 'real' });
      await symlink(outside, path.join(dir, 'link.txt'));
      await symlink(path.join(root, 'outside-dir'), path.join(dir, 'linked-dir'));
    });

    expect(report.skipped).toEqual(['link.txt', 'linked-dir']);
    expect(s3.requests.filter((request) => request.command === 'PutObjectCommand')).toHaveLength(2);
    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'real.txt': 'real' });
  });

  it('keeps the files within the limits, tells which were not kept, and keeps the earlier version of a file that grew past them', async () => {
    const workspaces = store({ limits: { maxFiles: 3, maxBytes: 100 } });
    const ref = conversation();
    await turn(workspaces, ref, (dir) =>
      put(dir, { 'a.txt': 'a'.repeat(10), 'b.txt': 'b'.repeat(10) }),
    );

    const { report } = await turn(workspaces, ref, (dir) =>
      put(dir, { 'a.txt': 'A'.repeat(95), 'c.txt': 'c'.repeat(10), 'd.txt': 'd'.repeat(10) }),
    );

    expect(report.notKept).toEqual(['a.txt', 'd.txt']);
    expect(report).toMatchObject({ files: 3, bytes: 30, uploaded: 1 });
    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({
      'a.txt': 'a'.repeat(10),
      'b.txt': 'b'.repeat(10),
      'c.txt': 'c'.repeat(10),
    });
  });

  it('leaves the previous manifest valid when a save dies between the uploads and the manifest', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, (dir) => put(dir, { 'v.txt': 'version 1' }));

    const dir = container();
    const checkout = await workspaces.checkout(ref, dir);
    await put(dir, { 'v.txt': 'version 2', 'new.txt': 'new' });
    s3.clear();
    s3.failWhen(
      (request) =>
        /manifest\.json\.gz$/.test(request.key ?? '') && request.command === 'PutObjectCommand',
    );
    await expect(checkout.save()).rejects.toThrow(/injected failure/);
    s3.failWhen(undefined);
    // The new contents were uploaded, and are not referenced: the lifecycle rule takes them.
    expect(
      s3.of('PutObjectCommand').filter((request) => /objects/.test(request.key ?? '')),
    ).toHaveLength(2);

    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'v.txt': 'version 1' });
  });

  it('refuses a save when someone else saved the workspace since it was restored', async () => {
    const workspaces = store();
    const ref = conversation();
    const first = await workspaces.checkout(ref, container());
    const secondDir = container();
    const second = await workspaces.checkout(ref, secondDir);
    await put(secondDir, { 'second.txt': 'second' });

    const firstDir = container();
    const third = await workspaces.checkout(ref, firstDir);
    await put(firstDir, { 'third.txt': 'third' });
    await third.save();
    await expect(second.save()).rejects.toSatisfy((error) =>
      WorkspaceConflictError.isInstance(error),
    );
    expect(await first.save()).toMatchObject({ files: 0 });

    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'third.txt': 'third' });
  });

  it("deletes a conversation's manifest and objects, and no other conversation's", async () => {
    const workspaces = store();
    const gone = conversation();
    const kept = conversation();
    await turn(workspaces, gone, (dir) => put(dir, { 'x.txt': 'x', 'y.txt': 'y' }));
    await turn(workspaces, kept, (dir) => put(dir, { 'x.txt': 'x' }));

    await workspaces.delete(gone);

    expect(await keysUnder(workspaces.conversationPrefix(gone))).toEqual([]);
    expect(await keysUnder(workspaces.conversationPrefix(kept))).toHaveLength(2);
    const fresh = container();
    expect((await workspaces.checkout(gone, fresh)).restored.files).toBe(0);
    expect(await contents(fresh)).toEqual({});
  });

  it('refuses a manifest whose paths leave the directory, writing nothing', async () => {
    const workspaces = store();
    const ref = conversation();
    const manifest = {
      format: 1,
      savedAt: 1,
      files: { '../escaped.txt': { hash: 'a'.repeat(64), size: 1, mode: 0o644 } },
      objects: {},
    };
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: aws.bucket,
        Key: `${workspaces.conversationPrefix(ref)}manifest.json.gz`,
        Body: gzipSync(JSON.stringify(manifest)),
      }),
    );
    const dir = container();

    await expect(workspaces.checkout(ref, dir)).rejects.toThrow(/manifest .* not readable/);
    await expect(stat(path.join(dir, '..', 'escaped.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('copies objects older than the refresh window onto themselves, so the lifecycle rule spares live files', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const workspaces = store({ refreshWindowSeconds: 86_400, now: () => now });
    const ref = conversation();
    await turn(workspaces, ref, (dir) => put(dir, { 'old.txt': 'old' }));

    now += 12 * 3_600_000;
    await turn(workspaces, ref, async () => {});
    expect(s3.requests).toEqual([]);

    now += 2 * 86_400_000;
    await turn(workspaces, ref, (dir) => put(dir, { 'new.txt': 'new' }));
    expect(s3.of('CopyObjectCommand')).toHaveLength(1);
    now += 12 * 3_600_000;
    await turn(workspaces, ref, async () => {});
    expect(s3.requests).toEqual([]);
  });

  it('reports a file whose content is gone from the bucket and drops it, keeping the rest', async () => {
    const workspaces = store();
    const ref = conversation();
    await turn(workspaces, ref, (dir) => put(dir, { 'lost.txt': 'lost', 'here.txt': 'here' }));
    const lost = (await keysUnder(workspaces.conversationPrefix(ref))).filter((key) =>
      key.includes('/objects/'),
    );
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const { createHash } = await import('node:crypto');
    const lostKey = lost.find((key) =>
      key.endsWith(createHash('sha256').update('lost').digest('hex')),
    );
    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: lostKey }));

    const dir = container();
    const checkout = await workspaces.checkout(ref, dir);
    expect(checkout.restored.missing).toEqual(['lost.txt']);
    await put(dir, { 'lost.txt': 'lost' });
    expect((await checkout.save()).uploaded).toBe(1);
    const fresh = container();
    await workspaces.checkout(ref, fresh);
    expect(await contents(fresh)).toEqual({ 'lost.txt': 'lost', 'here.txt': 'here' });
  });
});
