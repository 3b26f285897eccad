import { describe, expect, it } from 'vitest';
import { HANDLER_ENV } from '../src/entrypoints/aws/handler-env.js';
import { loadInfraConfig } from './lib/config.js';
import { referencedIds, synthTemplate } from './synth-for-tests.js';

// Files people send, on AWS: the download cap and the speech-to-text service
// reach the worker as settings, the service's key as a secret's ARN only.

function workerOf(template: ReturnType<typeof synthTemplate>['template']) {
  const functions = template.findResources('AWS::Lambda::Function');
  const [id, worker] = Object.entries(functions).find(
    ([, resource]) => resource.Properties?.PackageType === 'Image',
  ) as [string, { Properties: { Environment: { Variables: Record<string, unknown> } } }];
  return { id, variables: worker.Properties.Environment.Variables };
}

describe('media settings in the stack', () => {
  it('sets none by default: 20 MB downloads, no transcription, no extra secret', () => {
    const { template } = synthTemplate({ region: 'us-east-1' });
    const { variables } = workerOf(template);
    expect(variables[HANDLER_ENV.maxDownloadMb]).toBeUndefined();
    expect(variables[HANDLER_ENV.transcriptionUrl]).toBeUndefined();
    expect(variables[HANDLER_ENV.transcriptionApiKeySecretArn]).toBeUndefined();
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    expect(
      secrets.some((secret) => String(secret.Properties?.Description).includes('speech-to-text')),
    ).toBe(false);
  });

  it('passes the cap, the endpoint and the model, and the key as a secret the worker may read', () => {
    const { template } = synthTemplate({
      region: 'us-east-1',
      media: {
        maxDownloadMb: 50,
        transcription: {
          url: 'https://api.openai.com/v1/audio/transcriptions',
          model: 'whisper-1',
        },
      },
    });
    const { variables } = workerOf(template);
    expect(variables).toMatchObject({
      [HANDLER_ENV.maxDownloadMb]: '50',
      [HANDLER_ENV.transcriptionUrl]: 'https://api.openai.com/v1/audio/transcriptions',
      [HANDLER_ENV.transcriptionModel]: 'whisper-1',
    });
    const [secretId] = referencedIds(variables[HANDLER_ENV.transcriptionApiKeySecretArn]);
    const secret = template.findResources('AWS::SecretsManager::Secret')[secretId as string];
    expect(String(secret?.Properties?.Description)).toContain('speech-to-text');
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`"Ref":"${secretId}"`);
  });

  it('reads the settings from INFRA_* variables, and a service without a key gets no secret', () => {
    const config = loadInfraConfig({
      env: {
        INFRA_MAX_DOWNLOAD_MB: '30',
        INFRA_TRANSCRIPTION_URL: 'http://whisper.internal:8000',
        INFRA_TRANSCRIPTION_MODEL: 'large-v3',
      },
    });
    expect(config.media).toEqual({
      maxDownloadMb: 30,
      transcription: { url: 'http://whisper.internal:8000', model: 'large-v3', apiKey: true },
    });
    const { template } = synthTemplate({
      region: 'us-east-1',
      media: { transcription: { url: 'http://whisper.internal:8000', apiKey: false } },
    });
    expect(workerOf(template).variables[HANDLER_ENV.transcriptionApiKeySecretArn]).toBeUndefined();
    expect(() => loadInfraConfig({ env: { INFRA_TRANSCRIPTION_URL: 'not a url' } })).toThrow(
      /INFRA_TRANSCRIPTION_URL/,
    );
  });
});
