import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AgentError } from '../../domain/errors.js';
import type { SecretSource } from '../../ports/secret-source.js';

export class SecretUnavailableError extends AgentError {
  static override readonly errorName = 'SecretUnavailableError';
}

export interface PowertoolsSecretSourceOptions {
  /** How long a value is reused before it is fetched again, seconds (default 300). */
  maxAgeSeconds?: number;
  client?: SecretsManagerClient;
}

/**
 * Secrets Manager through Powertools Parameters, which caches each value for
 * `maxAgeSeconds`: one GetSecretValue per secret per container every few
 * minutes, and a rotated secret is picked up without a redeploy.
 */
export class PowertoolsSecretSource implements SecretSource {
  readonly #provider: SecretsProvider;
  readonly #maxAge: number;

  constructor(options: PowertoolsSecretSourceOptions = {}) {
    this.#provider = new SecretsProvider(
      options.client ? { awsSdkV3Client: options.client } : undefined,
    );
    this.#maxAge = options.maxAgeSeconds ?? 300;
  }

  async get(arn: string): Promise<string> {
    let value: unknown;
    try {
      value = await this.#provider.get(arn, { maxAge: this.#maxAge });
    } catch (error) {
      throw new SecretUnavailableError(`could not read secret ${arn}`, { cause: error });
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new SecretUnavailableError(`secret ${arn} holds no string value`);
    }
    return value.trim();
  }
}
