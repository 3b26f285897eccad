import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TurnAttachment } from '../../domain/attachment.js';
import { silentLogger } from '../../ports/logger.js';
import {
  describeAttachments,
  placeAttachments,
  safeFileName,
  turnInput,
} from './turn-attachments.js';

let root = '';
let workspace = '';
let downloads = '';
let counter = 0;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'turn-attachments-'));
  workspace = path.join(root, 'workspace');
  downloads = path.join(root, 'downloads');
  await mkdir(workspace);
  await mkdir(downloads);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function downloaded(
  fileName: string,
  content: string,
  extra: Partial<TurnAttachment> = {},
): Promise<TurnAttachment> {
  const file = path.join(downloads, String(++counter));
  await writeFile(file, content);
  return { kind: 'document', path: file, fileName, size: Buffer.byteLength(content), ...extra };
}

describe('safeFileName', () => {
  it('keeps a plain name and makes any other one a plain name', () => {
    expect(safeFileName('report Q3.pdf')).toBe('report Q3.pdf');
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('a\u0000b\nc.txt')).toBe('abc.txt');
    expect(safeFileName('what?.txt')).toBe('what_.txt');
    expect(safeFileName('')).toBe('file');
    const long = safeFileName(`${'ж'.repeat(200)}.tar.gz`);
    expect(long.endsWith('.gz')).toBe(true);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(120);
  });
});

describe('placeAttachments', () => {
  it('moves files into inbox/ under names of their own, never overwriting', async () => {
    await mkdir(path.join(workspace, 'inbox'));
    await writeFile(path.join(workspace, 'inbox', 'notes.txt'), 'the agent wrote this');
    const placed = await placeAttachments(
      workspace,
      [await downloaded('notes.txt', 'first'), await downloaded('../notes.txt', 'second')],
      silentLogger,
    );
    expect(placed.map((file) => file.relativePath)).toEqual([
      'inbox/notes (2).txt',
      'inbox/notes (3).txt',
    ]);
    expect(await readFile(path.join(workspace, 'inbox', 'notes.txt'), 'utf8')).toBe(
      'the agent wrote this',
    );
    expect(await readFile(path.join(workspace, 'inbox', 'notes (3).txt'), 'utf8')).toBe('second');
    expect(await readdir(downloads)).toEqual([]);
  });

  it('reuses the file an earlier attempt of the turn placed, rather than a second copy', async () => {
    await placeAttachments(workspace, [await downloaded('a.txt', 'same')], silentLogger);
    const again = await placeAttachments(
      workspace,
      [await downloaded('a.txt', 'same')],
      silentLogger,
    );
    expect(again[0]?.relativePath).toBe('inbox/a.txt');
    expect(await readdir(path.join(workspace, 'inbox'))).toEqual(['a.txt']);
  });

  it('replaces an inbox the agent made a symlink out of the workspace, leaving its target alone', async () => {
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    await symlink(outside, path.join(workspace, 'inbox'));
    await placeAttachments(workspace, [await downloaded('x.txt', 'x')], silentLogger);
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(path.join(workspace, 'inbox'))).toEqual(['x.txt']);
  });
});

describe('the turn prompt', () => {
  it('names each file with its path, kind, type and size, after the text', async () => {
    const text = describeAttachments('What do you make of these?', [
      {
        kind: 'document',
        path: '/w/inbox/report.pdf',
        relativePath: 'inbox/report.pdf',
        fileName: 'report.pdf',
        mimeType: 'application/pdf',
        size: 2_500_000,
      },
      {
        kind: 'document',
        path: '/w/inbox/old.csv',
        relativePath: 'inbox/old.csv',
        fileName: 'old.csv',
        size: 300,
        fromReply: true,
      },
    ]);
    expect(text).toBe(
      [
        'What do you make of these?',
        '',
        '[Files the person sent, saved in your working directory:]',
        '- inbox/report.pdf (file, application/pdf, 2.4 MB)',
        '- inbox/old.csv (file, 300 bytes; from the message they replied to)',
      ].join('\n'),
    );
  });

  it('is the request as it was without files, and one user message with the photo as an image otherwise', async () => {
    const plain = await turnInput(
      { conversation: { tenant: 't', channel: 'c', chatId: '1' }, prompt: 'hi' },
      workspace,
      silentLogger,
    );
    expect(plain.prompt).toBe('hi');
    expect(existsSync(path.join(workspace, 'inbox'))).toBe(false);

    const photo = await downloaded('p.jpg', 'jpeg bytes', {
      kind: 'photo',
      mimeType: 'image/jpeg',
    });
    const input = await turnInput(
      {
        conversation: { tenant: 't', channel: 'c', chatId: '1' },
        prompt: '',
        attachments: [photo],
      },
      workspace,
      silentLogger,
    );
    expect(typeof input.prompt).not.toBe('string');
    const iterator = (input.prompt as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({
      type: 'user',
      parent_tool_use_id: null,
      message: {
        role: 'user',
        content: [
          {
            type: 'image',
            source: {
              type: 'base64',
              media_type: 'image/jpeg',
              data: Buffer.from('jpeg bytes').toString('base64'),
            },
          },
          {
            type: 'text',
            text: '[Files the person sent, saved in your working directory:]\n- inbox/p.jpg (photo, image/jpeg, 10 bytes; also shown to you as an image)',
          },
        ],
      },
    });
    // The input stays open until the turn's result, then ends.
    const next = iterator.next();
    input.end();
    expect(await next).toMatchObject({ done: true });
  });
});
