import type { ModelUpstream } from '../../ports/model-upstream.js';
import { anthropicUpstream, type GatewayGrant } from './model-gateway.js';

/**
 * How the deployment reaches the model. Whatever the choice, the agent itself
 * only ever talks to the local gateway; this decides what the gateway does and
 * what Claude Code is told about the provider.
 */
export type ModelAccess = (
  | {
      provider: 'anthropic';
      /** The real key; held by the gateway, never given to the agent. */
      apiKey: string;
      /** Upstream Messages API (a proxy, a self-hosted gateway, a test server). */
      baseUrl?: string | undefined;
    }
  | {
      provider: 'bedrock';
      region: string;
      /** Signs requests with the process's AWS credentials (the Lambda role). */
      upstream: ModelUpstream;
    }
) & {
  /**
   * Claude Code's small fast model (background calls, `model: haiku`
   * subagents); unset, Claude Code picks its own. On Bedrock the role's
   * permissions are granted from the same configured id, so say it here
   * rather than let Claude Code choose one the role may not call.
   */
  smallFastModel?: string | undefined;
};

/**
 * The variable Claude Code (0.3.x) reads for its small fast model. It also
 * reads the older ANTHROPIC_SMALL_FAST_MODEL first when set; the agent's
 * environment is built from nothing, so only this one is ever there.
 */
export const SMALL_FAST_MODEL_VARIABLE = 'ANTHROPIC_DEFAULT_HAIKU_MODEL';

export function upstreamFor(access: ModelAccess): ModelUpstream {
  return access.provider === 'anthropic'
    ? anthropicUpstream({ apiKey: access.apiKey, baseUrl: access.baseUrl })
    : access.upstream;
}

/** The model-related part of the agent's environment for one turn. */
export function modelEnvironment(access: ModelAccess, grant: GatewayGrant): Record<string, string> {
  const smallFast: Record<string, string> = access.smallFastModel
    ? { [SMALL_FAST_MODEL_VARIABLE]: access.smallFastModel }
    : {};
  if (access.provider === 'anthropic') {
    return {
      ANTHROPIC_BASE_URL: grant.baseUrl,
      // Claude Code insists on a key; the gateway ignores it and uses its own.
      ANTHROPIC_API_KEY: 'held-by-gateway',
      ...smallFast,
    };
  }
  return {
    ...smallFast,
    CLAUDE_CODE_USE_BEDROCK: '1',
    ANTHROPIC_BEDROCK_BASE_URL: grant.baseUrl,
    // The gateway signs; Claude Code must not look for AWS credentials itself.
    CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
    AWS_REGION: access.region,
  };
}
