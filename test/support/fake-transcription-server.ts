import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, listenOnLoopback } from '../../src/lib/http-server.js';

/**
 * A local stand-in for an OpenAI-compatible `/v1/audio/transcriptions`
 * endpoint: it checks the bearer key, reads the multipart form (with the
 * platform's own parser), records what it got, and answers `{ text }` from
 * `transcript` (a function of the uploaded file, so tests can tell files apart).
 */
export interface TranscriptionRequest {
  path: string;
  authorization: string | undefined;
  model: string | undefined;
  fileName: string | undefined;
  fileType: string | undefined;
  fileBytes: number;
  content: Buffer;
}

export class FakeTranscriptionServer {
  readonly requests: TranscriptionRequest[] = [];
  transcript: (file: Buffer) => string = (file) => `transcript of ${file.length} bytes`;
  /** Answer with this HTTP status instead (a failing service). */
  failWith: number | undefined;
  private server: Server | undefined;
  private port = 0;

  constructor(readonly apiKey = 'sk-test-transcription-key') {}

  static async start(apiKey?: string): Promise<FakeTranscriptionServer> {
    const fake = new FakeTranscriptionServer(apiKey);
    const server = createServer((req, res) => {
      fake
        .handle(req)
        .then(([status, body]) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(error) } }));
        });
    });
    fake.port = await listenOnLoopback(server);
    fake.server = server;
    return fake;
  }

  /** The value for TRANSCRIPTION_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/audio/transcriptions`;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || req.url !== '/v1/audio/transcriptions') {
      return [404, { error: { message: 'not found' } }];
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return [401, { error: { message: 'invalid api key' } }];
    }
    const form = await new Response(body, {
      headers: { 'content-type': String(req.headers['content-type']) },
    }).formData();
    const file = form.get('file');
    const content = file instanceof Blob ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
    this.requests.push({
      path: req.url,
      authorization: req.headers.authorization,
      model: form.get('model')?.toString(),
      fileName: file instanceof File ? file.name : undefined,
      fileType: file instanceof Blob ? file.type : undefined,
      fileBytes: content.length,
      content,
    });
    if (this.failWith) return [this.failWith, { error: { message: 'scripted failure' } }];
    if (!(file instanceof Blob)) return [400, { error: { message: 'file is required' } }];
    return [200, { text: this.transcript(content) }];
  }
}
