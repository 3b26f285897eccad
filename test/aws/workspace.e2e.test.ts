import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3WorkspaceStore } from '../../src/adapters/aws/s3-workspace-store.js';
import { workspacePath } from '../../src/core/agent/workspace.js';
import type { ConversationRef } from '../../src/domain/conversation.js';
import { type AwsPipeline, failures, startAwsPipeline } from '../support/aws-pipeline.js';
import { type RecordingS3, recordingS3 } from '../support/s3-request-log.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  type ScriptedReply,
  toolResults,
} from '../support/scripted-model-server.js';

// The conversation's files on the AWS deployment, offline: each turn runs on
// a fresh worker (its own container, an empty /tmp), the real Claude Code
// writes and reads files, and only the S3 emulator keeps them in between.

const NOTES = '# Notes\n\nThe launch code is WALRUS-7.\n';

let pipeline: AwsPipeline;
let s3: RecordingS3;

/** True when the request carries tool results after the person's last message: the tool calls are done. */
function afterTools(request: RecordedRequest): boolean {
  const messages = request.body.messages ?? [];
  const hasBlock = (index: number, type: string) => {
    const content = messages[index]?.content;
    return Array.isArray(content) && content.some((block) => block.type === type);
  };
  for (let i = messages.length - 1; i >= 0; i--) {
    if (hasBlock(i, 'tool_result')) return true;
    const isPersonText =
      messages[i]?.role === 'user' &&
      (typeof messages[i]?.content === 'string' || hasBlock(i, 'text'));
    if (isPersonText && !hasBlock(i, 'tool_result')) return false;
  }
  return false;
}

/** The scripted model: one tool call per instruction, then a short answer. */
function respond(request: RecordedRequest): ScriptedReply {
  const text = lastUserText(request);
  const done = afterTools(request);
  if (text.includes('Write my notes')) {
    return done
      ? reply.text('Saved notes.md.')
      : reply.toolUse('Write', { file_path: 'notes.md', content: NOTES });
  }
  if (text.includes('Read my notes')) {
    return done
      ? reply.text('Read notes.md.')
      : reply.toolUse('Read', { file_path: path.join(workspaceDir(101), 'notes.md') });
  }
  if (text.includes('Edit file 17')) {
    return done
      ? reply.text('Changed it.')
      : reply.toolUse('Write', { file_path: 'files/f17.txt', content: 'changed\n' });
  }
  if (text.includes('Write three files')) {
    return done
      ? reply.text('Wrote three files.')
      : reply.toolUses(
          ['one.txt', 'two.txt', 'three.txt'].map((name) => ({
            name: 'Write',
            input: { file_path: name, content: `${name}\n` },
          })),
        );
  }
  return reply.text(`echo: ${text}`);
}

const conversationOf = (chatId: number): ConversationRef => ({
  tenant: 'e2e',
  channel: 'telegram',
  chatId: String(chatId),
});
const workspaceDir = (chatId: number) =>
  workspacePath(path.join(pipeline.dataDir, 'workspaces'), conversationOf(chatId));
const exists = (target: string) =>
  access(target).then(
    () => true,
    () => false,
  );

/** One message answered by a worker on a cold container: nothing of earlier ones on its disk. */
async function turnOnFreshContainer(
  chatId: number,
  text: string,
  env: Record<string, string> = {},
): Promise<void> {
  await pipeline.emptyLocalDisk();
  expect((await pipeline.sendText(chatId, text)).statusCode).toBe(200);
  await pipeline.withWorker(
    async (worker) => {
      const { records, response } = await pipeline.deliver(worker);
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
    },
    { s3: s3.client, env },
  );
}

const workspaceStore = () =>
  new S3WorkspaceStore({
    client: pipeline.aws.s3,
    bucket: pipeline.aws.bucket,
    prefix: 'workspaces/',
  });

beforeAll(async () => {
  pipeline = await startAwsPipeline({
    name: 'workspace',
    respond,
    allowedUserIds: '101,102,103',
    worker: { env: { SESSION_TTL_DAYS: '25' } },
  });
  s3 = recordingS3(pipeline.aws);
});

afterEach(() => {
  s3.clear();
});

afterAll(async () => {
  s3?.destroy();
  await pipeline?.close();
});

describe('AWS workspace', () => {
  it('keeps a file written on one container for the next turn on another', async () => {
    const chatId = 101;
    await turnOnFreshContainer(chatId, 'Write my notes please.');
    expect(pipeline.sentTexts(chatId)).toEqual(['Saved notes.md.']);
    // Saved, then off the container's disk.
    expect(await exists(workspaceDir(chatId))).toBe(false);

    await turnOnFreshContainer(chatId, 'Read my notes please.');

    expect(pipeline.sentTexts(chatId)).toEqual(['Saved notes.md.', 'Read notes.md.']);
    const afterRead = pipeline.model.messageRequests.filter(
      (request) => lastUserText(request).includes('Read my notes') && afterTools(request),
    );
    const read = afterRead.flatMap(toolResults).filter((result) => !result.isError);
    expect(read.map((result) => result.text).join('\n')).toContain('The launch code is WALRUS-7.');
  });

  it('uploads one object and the manifest when a turn changes one file of 200', async () => {
    const chatId = 102;
    // A workspace saved by earlier turns: 200 files.
    const seed = path.join(pipeline.root, 'seed');
    const checkout = await workspaceStore().checkout(conversationOf(chatId), seed);
    for (let i = 0; i < 200; i++) {
      await mkdir(path.join(seed, 'files'), { recursive: true });
      await writeFile(path.join(seed, 'files', `f${i}.txt`), `file ${i}\n`.repeat(50));
    }
    await checkout.save();
    s3.clear();

    await turnOnFreshContainer(chatId, 'Edit file 17 please.');

    expect(pipeline.sentTexts(chatId)).toEqual(['Changed it.']);
    const workspaceRequests = s3.requests.filter((request) =>
      request.key?.startsWith('workspaces/'),
    );
    const puts = workspaceRequests.filter((request) => request.command === 'PutObjectCommand');
    expect(puts.map((request) => request.key?.split('/').at(-2))).toEqual([
      'objects',
      expect.any(String),
    ]);
    expect(puts[0]?.sentBytes).toBe('changed\n'.length);
    expect(puts[1]?.key).toMatch(/manifest\.json\.gz$/);

    const fresh = path.join(pipeline.root, 'check-102');
    await workspaceStore().checkout(conversationOf(chatId), fresh);
    expect(await readFile(path.join(fresh, 'files', 'f17.txt'), 'utf8')).toBe('changed\n');
    expect(await readFile(path.join(fresh, 'files', 'f18.txt'), 'utf8')).toBe(
      'file 18\n'.repeat(50),
    );
  });

  it('tells the person which files passed the limit, and keeps only the others', async () => {
    const chatId = 103;
    await turnOnFreshContainer(chatId, 'Write three files please.', { WORKSPACE_MAX_FILES: '2' });

    const [answer] = pipeline.sentTexts(chatId);
    expect(answer).toContain('Wrote three files.');
    expect(answer).toMatch(/could not keep this file .*limit of 2 files.*two\.txt/s);
    const fresh = path.join(pipeline.root, 'check-103');
    await workspaceStore().checkout(conversationOf(chatId), fresh);
    expect(await exists(path.join(fresh, 'one.txt'))).toBe(true);
    expect(await exists(path.join(fresh, 'three.txt'))).toBe(true);
    expect(await exists(path.join(fresh, 'two.txt'))).toBe(false);
  });
});
