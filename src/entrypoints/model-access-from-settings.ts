import { bedrockUpstream } from '../adapters/bedrock/bedrock-upstream.js';
import type { ModelSettings } from '../config/runtime-settings.js';
import type { ModelAccess } from '../core/agent/model-access.js';

/**
 * Turns the operator's model settings into what the runtime's gateway needs:
 * the API key as is, or a Bedrock upstream that signs with the process's AWS
 * credentials. Shared by the local server, the chat and the Lambda worker;
 * kept apart from the SQLite wiring so the worker does not load it.
 */
export function modelAccessFrom(settings: ModelSettings): ModelAccess {
  return settings.provider === 'anthropic'
    ? settings
    : {
        provider: 'bedrock',
        region: settings.region,
        upstream: bedrockUpstream({ region: settings.region }),
        smallFastModel: settings.smallFastModel,
      };
}
