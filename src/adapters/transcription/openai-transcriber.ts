import { openAsBlob } from 'node:fs';
import { z } from 'zod';
import { AgentError } from '../../domain/errors.js';
import type { Transcriber } from '../../ports/transcriber.js';

/** The transcription service failed or answered something unreadable. */
export class TranscriptionError extends AgentError {
  static override readonly errorName = 'TranscriptionError';
}

export interface OpenAiTranscriberOptions {
  /**
   * The endpoint: an OpenAI-compatible `/v1/audio/transcriptions` URL (OpenAI,
   * Groq, a local whisper server, ...). A base URL without that path gets it added.
   */
  url: string;
  /** Sent as `Authorization: Bearer`; some local servers need none. */
  apiKey?: string | undefined;
  /** The service's model name, e.g. `whisper-1`. */
  model: string;
  /** Longest a transcription may take. Default 2 minutes. */
  timeoutMs?: number | undefined;
}

/** A transcript longer than this is cut: a message is bounded (MAX_TEXT_CHARS) and this must fit. */
const MAX_TRANSCRIPT_CHARS = 15_000;

const answerSchema = z.looseObject({ text: z.string() });

/**
 * Speech to text through an OpenAI-compatible `POST /v1/audio/transcriptions`
 * (multipart: `file`, `model`, `response_format=json`). The key stays here:
 * it is never logged and never reaches the agent's environment, which is
 * built from nothing (agent-environment.ts).
 */
export class OpenAiTranscriber implements Transcriber {
  private readonly url: string;

  constructor(private readonly options: OpenAiTranscriberOptions) {
    this.url = transcriptionUrl(options.url);
  }

  async transcribe(
    file: { path: string; fileName: string; mimeType?: string | undefined },
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<string> {
    const blob = await openAsBlob(file.path, file.mimeType ? { type: file.mimeType } : {});
    const form = new FormData();
    form.append('file', blob, file.fileName);
    form.append('model', this.options.model);
    form.append('response_format', 'json');
    const signals = [AbortSignal.timeout(this.options.timeoutMs ?? 120_000)];
    if (options.signal) signals.push(options.signal);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        body: form,
        headers: this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {},
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      throw new TranscriptionError(
        `the transcription service could not be reached: ${error instanceof Error ? error.name : 'network error'}`,
      );
    }
    const body = await response.text();
    if (!response.ok) {
      throw new TranscriptionError(
        `the transcription service answered HTTP ${response.status}: ${body.slice(0, 200)}`,
      );
    }
    let parsed: z.infer<typeof answerSchema>;
    try {
      parsed = answerSchema.parse(JSON.parse(body));
    } catch {
      throw new TranscriptionError('the transcription service answered without a transcript');
    }
    const text = parsed.text.trim();
    return text.length > MAX_TRANSCRIPT_CHARS ? `${text.slice(0, MAX_TRANSCRIPT_CHARS)}…` : text;
  }
}

/** `https://api.openai.com` and `https://api.openai.com/v1` both mean the transcriptions endpoint. */
export function transcriptionUrl(configured: string): string {
  const url = configured.replace(/\/+$/, '');
  if (/\/audio\/transcriptions$/.test(url)) return url;
  return /\/v1$/.test(url) ? `${url}/audio/transcriptions` : `${url}/v1/audio/transcriptions`;
}
