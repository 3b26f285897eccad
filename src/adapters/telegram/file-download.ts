import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Api, GrammyError } from 'grammy';
import { FileTooLargeError, TELEGRAM_DOWNLOAD_LIMIT_BYTES } from '../../domain/attachment.js';
import { AgentError } from '../../domain/errors.js';
import { grammySignal } from './bot-api-client.js';

/** A file could not be fetched from the Bot API (other than for its size). */
export class FileDownloadError extends AgentError {
  static override readonly errorName = 'FileDownloadError';
}

/** Telegram's own servers; a self-hosted Bot API server (TELEGRAM_API_ROOT) has no 20 MB limit. */
const TELEGRAM_API_ROOT = 'https://api.telegram.org';

/** Longest a download may take before it is given up (a retry of the turn tries again). */
const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * Fetches a file by its Bot API `file_id`: `getFile` for its path, then
 * `<apiRoot>/file/bot<token>/<file_path>`, the same server grammY talks to
 * (Telegram's, a self-hosted Bot API server, or a test's fake). Bounded: a
 * file over `maxBytes` (or over 20 MB on Telegram's own servers, whose
 * getFile refuses bigger ones) is refused before or while downloading.
 * Written to a temporary name beside `destination` and renamed once whole,
 * so a failed or refused download leaves nothing. The URL carries the bot
 * token: it is never logged or put in an error.
 */
export async function downloadTelegramFile(
  api: Api,
  fileId: string,
  destination: string,
  options: { maxBytes: number; signal?: AbortSignal | undefined },
): Promise<{ bytes: number }> {
  const apiRoot = (api.options?.apiRoot ?? TELEGRAM_API_ROOT).replace(/\/+$/, '');
  const limit =
    apiRoot === TELEGRAM_API_ROOT
      ? Math.min(options.maxBytes, TELEGRAM_DOWNLOAD_LIMIT_BYTES)
      : options.maxBytes;

  let file: Awaited<ReturnType<Api['getFile']>>;
  try {
    file = await api.getFile(fileId, grammySignal(options.signal));
  } catch (error) {
    if (error instanceof GrammyError && /file is too big/i.test(error.description)) {
      throw new FileTooLargeError(undefined, limit);
    }
    throw error;
  }
  if (file.file_size !== undefined && file.file_size > limit) {
    throw new FileTooLargeError(file.file_size, limit);
  }
  if (!file.file_path) throw new FileDownloadError('the Bot API gave no path for the file');

  const url = `${apiRoot}/file/bot${api.token}/${file.file_path.replace(/^\/+/, '')}`;
  const signals = [AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)];
  if (options.signal) signals.push(options.signal);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any(signals) });
  } catch (error) {
    // Not the fetch error itself: some runtimes put the URL, with the token, in it.
    throw new FileDownloadError(`downloading the file failed: ${errorName(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new FileDownloadError(`downloading the file failed: HTTP ${response.status}`);
  }
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > limit) {
    await response.body.cancel().catch(() => {});
    throw new FileTooLargeError(announced, limit);
  }

  const partial = `${destination}.${randomBytes(6).toString('hex')}.part`;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > limit) callback(new FileTooLargeError(undefined, limit));
      else callback(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>),
      counter,
      createWriteStream(partial, { mode: 0o600 }),
    );
    await rename(partial, destination);
  } catch (error) {
    await rm(partial, { force: true });
    if (FileTooLargeError.isInstance(error)) throw error;
    throw new FileDownloadError(`downloading the file failed: ${errorName(error)}`);
  }
  return { bytes };
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? 'network error' : error.name;
  return 'network error';
}
