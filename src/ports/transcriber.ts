/**
 * Speech to text, for voice messages and audio files: the transcript becomes
 * what the person said. Implementations: an OpenAI-compatible
 * `/v1/audio/transcriptions` endpoint (adapters/transcription/).
 */
export interface Transcriber {
  /** The words spoken in the file (may be empty). Throws if the service failed. */
  transcribe(
    file: { path: string; fileName: string; mimeType?: string | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<string>;
}
