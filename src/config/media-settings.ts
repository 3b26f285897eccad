import { z } from 'zod';
import { httpUrl, optionalText } from './env-values.js';

/**
 * Settings for files people send: the download cap and the speech-to-text
 * service for voice messages. The local server reads them as they are; the
 * worker Lambda reads the same names, except that the transcription key
 * comes from Secrets Manager (TRANSCRIPTION_API_KEY_SECRET_ARN).
 */
export interface MediaConfig {
  /** Largest file a person may send, in bytes (MAX_DOWNLOAD_MB). */
  maxDownloadBytes: number;
  /** An OpenAI-compatible `/v1/audio/transcriptions` endpoint; none: voice is kept as a file. */
  transcription: { url: string; model: string; apiKey: string | undefined } | undefined;
}

/** Telegram's own servers serve files up to 20 MB (a self-hosted Bot API server up to 2,000). */
const DEFAULT_MAX_DOWNLOAD_MB = 20;
const DEFAULT_TRANSCRIPTION_MODEL = 'whisper-1';

export const mediaVariables = {
  MAX_DOWNLOAD_MB: optionalText.pipe(
    z.coerce
      .number<string | undefined>({ message: 'expected a number of megabytes' })
      .positive('expected a positive number of megabytes')
      .max(2_000, 'expected at most 2000 (the Bot API serves no larger files)')
      .optional(),
  ),
  TRANSCRIPTION_URL: httpUrl,
  TRANSCRIPTION_MODEL: optionalText,
};

/** The key, where it is a plain variable (the local server); the Lambda reads it by ARN. */
export const transcriptionKeyVariable = { TRANSCRIPTION_API_KEY: optionalText };

export function mediaConfigFrom(
  values: {
    MAX_DOWNLOAD_MB?: number | undefined;
    TRANSCRIPTION_URL?: string | undefined;
    TRANSCRIPTION_MODEL?: string | undefined;
  },
  apiKey: string | undefined,
): MediaConfig {
  return {
    maxDownloadBytes: Math.floor((values.MAX_DOWNLOAD_MB ?? DEFAULT_MAX_DOWNLOAD_MB) * 1024 * 1024),
    transcription: values.TRANSCRIPTION_URL
      ? {
          url: values.TRANSCRIPTION_URL,
          model: values.TRANSCRIPTION_MODEL ?? DEFAULT_TRANSCRIPTION_MODEL,
          apiKey,
        }
      : undefined,
  };
}
