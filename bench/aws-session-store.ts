import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { SessionKey, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
import { DynamoSessionStore } from '../src/adapters/aws/dynamo-session-store.js';
import {
  type AwsEmulators,
  type RequestLog,
  recordRequests,
  startAwsEmulators,
} from '../test/support/aws-emulators.js';
import { formatBytes, formatMs, median, printTable } from './report.js';

/**
 * The DynamoDB/S3 session store against the emulators (dynalite, s3rver):
 * what each turn writes over a long conversation, and what a resume of a
 * 1 MB and a 10 MB transcript costs. Requests are counted with AWS SDK
 * middleware; bytes are HTTP request bodies (DynamoDB's JSON carries binary
 * as base64). Loopback emulators say nothing about AWS latency: the request
 * counts are the figures that carry over. Prints figures; asserts nothing.
 */

const LONG_TURNS = Number(process.env.BENCH_AWS_TURNS ?? 200);
const REPORT_AT = new Set([1, 2, 10, 50, 100, 150, 200, LONG_TURNS]);
const RESUME_RUNS = 5;

export async function awsSessionStore(): Promise<void> {
  const aws = await startAwsEmulators();
  const dynamoLog = recordRequests(aws.dynamo);
  const s3Log = recordRequests(aws.s3);
  try {
    await longConversation(aws, dynamoLog, s3Log);
    await resume(aws, dynamoLog, s3Log);
  } finally {
    await aws.stop();
  }
}

function makeStore(aws: AwsEmulators, withS3 = true): DynamoSessionStore {
  return new DynamoSessionStore({
    client: aws.dynamo,
    tableName: aws.tableName,
    s3: withS3 ? { client: aws.s3, bucket: aws.bucket, prefix: 'transcripts/' } : undefined,
  });
}

async function longConversation(
  aws: AwsEmulators,
  dynamoLog: RequestLog,
  s3Log: RequestLog,
): Promise<void> {
  const store = makeStore(aws);
  const key: SessionKey = { projectKey: 'bench-long', sessionId: randomUUID() };
  const text = new TextSource(1);
  let transcriptBytes = 0;
  const rows: string[][] = [];
  const steady: Array<{ requests: number; bytes: number }> = [];

  for (let turn = 1; turn <= LONG_TURNS; turn += 1) {
    // The first turn of a real session writes ~77 KB (system context, tool
    // definitions echoed into the transcript); later short turns ~3 KB.
    const batch = turn === 1 ? firstTurn(text) : shortTurn(text);
    const added = jsonBytes(batch);
    transcriptBytes += added;
    dynamoLog.reset();
    s3Log.reset();
    await store.append(key, batch);
    const requests = dynamoLog.count + s3Log.count;
    const bytes = dynamoLog.bytes + s3Log.bytes;
    if (turn > 1) steady.push({ requests, bytes });
    if (REPORT_AT.has(turn)) {
      rows.push([
        String(turn),
        formatBytes(added),
        formatBytes(bytes),
        operations(dynamoLog, s3Log),
        formatBytes(transcriptBytes),
      ]);
    }
  }
  printTable(
    `DynamoSessionStore: writes per turn over a ${LONG_TURNS}-turn conversation (one append per turn)`,
    ['turn', 'entries added', 'request bodies', 'requests', 'transcript size'],
    rows,
  );
  const requests = steady.map((s) => s.requests);
  const bytes = steady.map((s) => s.bytes);
  process.stdout.write(
    `turns 2-${LONG_TURNS}: requests per turn min ${Math.min(...requests)} / max ${Math.max(...requests)}; ` +
      `request bytes per turn median ${formatBytes(median(bytes))}, max ${formatBytes(Math.max(...bytes))}\n`,
  );
}

async function resume(aws: AwsEmulators, dynamoLog: RequestLog, s3Log: RequestLog): Promise<void> {
  const rows: string[][] = [];
  const variants = [1, 10].flatMap((mb) => [
    { target: mb * 1024 * 1024, withS3: true },
    { target: mb * 1024 * 1024, withS3: false },
  ]);
  for (const { target, withS3 } of variants) {
    const writer = makeStore(aws, withS3);
    const key: SessionKey = { projectKey: 'bench-resume', sessionId: randomUUID() };
    const text = new TextSource(target);
    let size = 0;
    let appends = 0;
    // Short ~3 KB turns, with a large tool output every tenth turn
    // (alternately ~150 KB and ~400 KB; with S3 both are spilled there,
    // without it the larger one is split across two items).
    while (size < target) {
      appends += 1;
      const batch =
        appends % 10 === 0
          ? [toolOutput(text, appends % 20 === 0 ? 400_000 : 150_000)]
          : shortTurn(text);
      size += jsonBytes(batch);
      await writer.append(key, batch);
    }

    const times: number[] = [];
    let loaded = 0;
    for (let run = 0; run < RESUME_RUNS; run += 1) {
      // A fresh instance each time, as in a new container.
      const reader = makeStore(aws, withS3);
      dynamoLog.reset();
      s3Log.reset();
      const started = performance.now();
      const entries = await reader.load(key);
      times.push(performance.now() - started);
      loaded = entries?.length ?? 0;
    }
    rows.push([
      formatBytes(size),
      withS3 ? 'DynamoDB + S3' : 'DynamoDB only',
      String(appends),
      String(loaded),
      operations(dynamoLog, s3Log),
      formatBytes(dynamoLog.bytes + s3Log.bytes),
      formatMs(median(times)),
    ]);
  }
  printTable(
    `DynamoSessionStore: resume (load) on a fresh instance, median of ${RESUME_RUNS}`,
    ['transcript', 'storage', 'appends', 'entries', 'requests', 'request bodies', 'time'],
    rows,
  );
}

function operations(dynamoLog: RequestLog, s3Log: RequestLog): string {
  const parts = [...dynamoLog.byOperation, ...s3Log.byOperation].map(
    ([operation, count]) => `${operation} ${count}`,
  );
  return `${dynamoLog.count + s3Log.count} (${parts.join(', ')})`;
}

function jsonBytes(entries: SessionStoreEntry[]): number {
  return entries.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0);
}

function firstTurn(text: TextSource): SessionStoreEntry[] {
  return [
    entry('system', { subtype: 'init', content: text.words(60_000) }),
    entry('user', { message: { role: 'user', content: text.words(400) } }),
    toolOutput(text, 12_000),
    entry('assistant', { message: { role: 'assistant', content: text.words(3_000) } }),
  ];
}

function shortTurn(text: TextSource): SessionStoreEntry[] {
  return [
    entry('user', { message: { role: 'user', content: text.words(300) } }),
    entry('assistant', {
      message: { role: 'assistant', content: text.words(1_600) },
      usage: { input_tokens: 1234, output_tokens: 321, cache_read_input_tokens: 45_678 },
    }),
    { type: 'last-prompt', lastPrompt: text.words(80) },
  ];
}

function toolOutput(text: TextSource, bytes: number): SessionStoreEntry {
  return entry('user', {
    message: {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: randomUUID(), content: text.code(bytes) }],
    },
  });
}

function entry(type: string, extra: Record<string, unknown>): SessionStoreEntry {
  return {
    type,
    uuid: randomUUID(),
    parentUuid: randomUUID(),
    sessionId: randomUUID(),
    timestamp: new Date().toISOString(),
    cwd: '/tmp/agent/conversations/3f9a0c1d2e4b',
    version: '2.1.0',
    ...extra,
  };
}

/**
 * Deterministic text that compresses about like real transcripts: words from a
 * few-thousand-word vocabulary, and code-like lines for tool output.
 */
class TextSource {
  #state: number;
  readonly #vocabulary: string[];

  constructor(seed: number) {
    this.#state = seed;
    this.#vocabulary = Array.from({ length: 4_000 }, () => this.#token(3 + this.#next(8)));
  }

  words(bytes: number): string {
    const out: string[] = [];
    let length = 0;
    while (length < bytes) {
      const word = this.#vocabulary[this.#next(this.#vocabulary.length)] as string;
      out.push(word);
      length += word.length + 1;
    }
    return out.join(' ');
  }

  code(bytes: number): string {
    const lines: string[] = [];
    let length = 0;
    while (length < bytes) {
      const indent = ' '.repeat(2 * this.#next(4));
      const line = `${indent}const ${this.words(12)} = ${this.#next(100_000)}; // ${this.words(30)}`;
      lines.push(line);
      length += line.length + 1;
    }
    return lines.join('\n');
  }

  #token(length: number): string {
    let token = '';
    for (let i = 0; i < length; i += 1) token += String.fromCharCode(97 + this.#next(26));
    return token;
  }

  /** mulberry32 */
  #next(limit: number): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * limit);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await awsSessionStore();
}
