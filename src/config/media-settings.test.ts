import { describe, expect, it } from 'vitest';
import { loadWorkerSettings } from '../entrypoints/aws/handler-settings.js';
import { loadAppSettings } from './app-settings.js';
import { SettingsError } from './settings-error.js';

const base = {
  TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ANTHROPIC_API_KEY: 'sk-test',
};

describe('media settings', () => {
  it('default to 20 MB and no transcription', () => {
    expect(loadAppSettings(base, '/tmp').media).toEqual({
      maxDownloadBytes: 20 * 1024 * 1024,
      transcription: undefined,
    });
  });

  it('read the cap, the transcription endpoint, model and key (local server)', () => {
    const settings = loadAppSettings(
      {
        ...base,
        MAX_DOWNLOAD_MB: '2.5',
        TRANSCRIPTION_URL: 'https://api.openai.com/v1/audio/transcriptions',
        TRANSCRIPTION_API_KEY: 'sk-voice',
      },
      '/tmp',
    );
    expect(settings.media).toEqual({
      maxDownloadBytes: 2.5 * 1024 * 1024,
      transcription: {
        url: 'https://api.openai.com/v1/audio/transcriptions',
        model: 'whisper-1',
        apiKey: 'sk-voice',
      },
    });
  });

  it('name a bad value', () => {
    const error = (() => {
      try {
        loadAppSettings({ ...base, MAX_DOWNLOAD_MB: 'lots', TRANSCRIPTION_URL: 'nope' }, '/tmp');
      } catch (caught) {
        return caught;
      }
    })();
    expect(SettingsError.isInstance(error)).toBe(true);
    expect(String(error)).toMatch(/MAX_DOWNLOAD_MB/);
    expect(String(error)).toMatch(/TRANSCRIPTION_URL/);
  });

  it('on Lambda take the key by its secret ARN, never as a value', () => {
    const settings = loadWorkerSettings({
      TABLE_NAME: 't',
      TELEGRAM_BOT_TOKEN_SECRET_ARN: 'arn:token',
      MAX_DOWNLOAD_MB: '50',
      TRANSCRIPTION_URL: 'http://whisper.internal:8000',
      TRANSCRIPTION_MODEL: 'large-v3',
      TRANSCRIPTION_API_KEY_SECRET_ARN: 'arn:voice',
      TRANSCRIPTION_API_KEY: 'ignored-here',
    });
    expect(settings.media).toEqual({
      maxDownloadBytes: 50 * 1024 * 1024,
      transcription: { url: 'http://whisper.internal:8000', model: 'large-v3', apiKey: undefined },
    });
    expect(settings.transcriptionApiKeySecretArn).toBe('arn:voice');
  });
});
