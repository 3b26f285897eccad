import { OpenAiTranscriber } from '../adapters/transcription/openai-transcriber.js';
import type { MediaConfig } from '../config/media-settings.js';
import type { MediaSettings } from '../core/pipeline/inbound-media.js';

/** The worker's media settings from the configured ones: the transcriber made if one is set. */
export function mediaFromSettings(
  config: MediaConfig,
  tempRoot?: string | undefined,
): MediaSettings {
  return {
    maxDownloadBytes: config.maxDownloadBytes,
    transcriber: config.transcription && new OpenAiTranscriber(config.transcription),
    ...(tempRoot ? { tempRoot } : {}),
  };
}
