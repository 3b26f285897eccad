import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { S3WorkspaceStore } from '../src/adapters/aws/s3-workspace-store.js';
import type { ConversationRef } from '../src/domain/conversation.js';
import { startAwsEmulators } from '../test/support/aws-emulators.js';
import { type RecordingS3, recordingS3 } from '../test/support/s3-request-log.js';
import { formatBytes, formatMs, median, printTable } from './report.js';

/**
 * The S3 workspace store against s3rver: requests and bytes of a turn's save
 * (and of the restore before it) for a 200-file workspace, and how long a
 * cold container takes to restore a 50 MB one. Requests are counted with AWS
 * SDK middleware; bytes are object bodies. Loopback times say little about
 * S3's latency: the request counts carry over. Prints figures; asserts nothing.
 */

const FILES = 200;
const FILE_BYTES = 2048;
const LARGE_MB = 50;
const RESTORE_RUNS = 5;

export async function workspaceStore(): Promise<void> {
  const aws = await startAwsEmulators();
  const s3 = recordingS3(aws);
  const root = await mkdtemp(path.join(tmpdir(), 'bench-workspace-'));
  try {
    await deltas(s3, aws.bucket, root);
    await largeRestore(s3, aws.bucket, root);
  } finally {
    s3.destroy();
    await aws.stop();
    await rm(root, { recursive: true, force: true });
  }
}

let containers = 0;
const freshDir = (root: string) => path.join(root, `container-${++containers}`);

function summary(s3: RecordingS3): { requests: string; up: number; down: number } {
  const byCommand = new Map<string, number>();
  for (const request of s3.requests) {
    const name = request.command.replace(/Command$/, '');
    byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
  }
  return {
    requests: [...byCommand].map(([name, count]) => `${count} ${name}`).join(', ') || 'none',
    up: s3.requests.reduce((sum, request) => sum + request.sentBytes, 0),
    down: s3.requests.reduce((sum, request) => sum + request.receivedBytes, 0),
  };
}

async function deltas(s3: RecordingS3, bucket: string, root: string): Promise<void> {
  const store = new S3WorkspaceStore({ client: s3.client, bucket });
  const conversation: ConversationRef = { tenant: 'bench', channel: 'telegram', chatId: 'delta' };
  const rows: string[][] = [];
  const turn = async (label: string, change: (dir: string) => Promise<void>) => {
    const dir = freshDir(root);
    s3.clear();
    const checkout = await store.checkout(conversation, dir);
    const restore = summary(s3);
    await change(dir);
    s3.clear();
    const started = performance.now();
    await checkout.save();
    const elapsed = performance.now() - started;
    const save = summary(s3);
    rows.push([
      label,
      save.requests,
      formatBytes(save.up),
      formatMs(elapsed),
      restore.requests,
      formatBytes(restore.down),
    ]);
  };

  await turn(`first turn: ${FILES} files written`, async (dir) => {
    await mkdir(path.join(dir, 'files'), { recursive: true });
    for (let i = 0; i < FILES; i += 1) {
      await writeFile(path.join(dir, 'files', `f${i}.txt`), randomBytes(FILE_BYTES));
    }
  });
  await turn('one file changed', (dir) =>
    writeFile(path.join(dir, 'files', 'f17.txt'), randomBytes(FILE_BYTES)),
  );
  await turn('one file added', (dir) =>
    writeFile(path.join(dir, 'files', 'new.txt'), randomBytes(FILE_BYTES)),
  );
  await turn('one file renamed', (dir) =>
    rename(path.join(dir, 'files', 'new.txt'), path.join(dir, 'files', 'renamed.txt')),
  );
  await turn('nothing changed', async () => {});
  printTable(
    `S3 workspace store: a ${FILES}-file workspace (${formatBytes(FILE_BYTES)} each), one turn each, every turn on a fresh container`,
    [
      'turn',
      'save: requests',
      'uploaded',
      'save time',
      'restore before it: requests',
      'downloaded',
    ],
    rows,
  );
}

async function largeRestore(s3: RecordingS3, bucket: string, root: string): Promise<void> {
  const store = new S3WorkspaceStore({ client: s3.client, bucket });
  const conversation: ConversationRef = { tenant: 'bench', channel: 'telegram', chatId: 'large' };
  const seedDir = freshDir(root);
  const seed = await store.checkout(conversation, seedDir);
  // 50 MB: a few large files and many small ones, as a working folder has.
  for (let i = 0; i < 10; i += 1) {
    await writeFile(path.join(seedDir, `big-${i}.bin`), randomBytes(4 * 1024 * 1024));
  }
  await mkdir(path.join(seedDir, 'notes'), { recursive: true });
  const smallBytes = ((LARGE_MB - 40) * 1024 * 1024) / 400;
  for (let i = 0; i < 400; i += 1) {
    await writeFile(path.join(seedDir, 'notes', `n${i}.md`), randomBytes(Math.floor(smallBytes)));
  }
  await seed.save();

  const times: number[] = [];
  let requests = '';
  let bytes = 0;
  for (let run = 0; run < RESTORE_RUNS; run += 1) {
    const dir = freshDir(root);
    s3.clear();
    const started = performance.now();
    const checkout = await store.checkout(conversation, dir);
    times.push(performance.now() - started);
    ({ requests } = summary(s3));
    bytes = checkout.restored.bytes;
    await rm(dir, { recursive: true, force: true });
  }
  printTable(
    `S3 workspace store: restoring a ${LARGE_MB} MB workspace (410 files) on a cold container, ${RESTORE_RUNS} runs`,
    ['restored', 'requests', 'median', 'fastest', 'slowest'],
    [
      [
        formatBytes(bytes),
        requests,
        formatMs(median(times)),
        formatMs(Math.min(...times)),
        formatMs(Math.max(...times)),
      ],
    ],
  );
}
