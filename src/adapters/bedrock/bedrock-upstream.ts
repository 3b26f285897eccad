import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ModelUpstream } from '../../ports/model-upstream.js';
import { BEDROCK_EVENT_STREAM, bedrockEventReader } from './bedrock-event-stream.js';

/**
 * Amazon Bedrock as the model gateway's upstream. Claude Code is told to send
 * Bedrock requests to the gateway with its own AWS auth skipped; the gateway
 * signs each one here with SigV4, using the process's credentials (the Lambda
 * role, an instance profile, a local profile). The agent never holds them.
 */
export function bedrockUpstream(options: {
  region: string;
  endpoint?: string | undefined;
}): ModelUpstream {
  const baseUrl = options.endpoint ?? `https://bedrock-runtime.${options.region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: 'bedrock',
    region: options.region,
    credentials: defaultProvider(),
    sha256: NodeSha256,
  });
  return {
    baseUrl,
    async authorize(request) {
      const query: Record<string, string> = {};
      request.url.searchParams.forEach((value, key) => {
        query[key] = value;
      });
      const signed = await signer.sign({
        method: request.method,
        protocol: request.url.protocol,
        hostname: request.url.hostname,
        port: request.url.port ? Number(request.url.port) : undefined,
        path: request.url.pathname,
        query,
        headers: { ...request.headers, host: request.url.host },
        body: request.body,
      });
      Object.assign(request.headers, signed.headers);
    },
    eventReader(contentType) {
      return contentType.startsWith(BEDROCK_EVENT_STREAM) ? bedrockEventReader() : undefined;
    },
  };
}

/** SHA-256 (and HMAC-SHA-256 when given a secret) over node:crypto, in the shape SigV4 wants. */
class NodeSha256 {
  private readonly hash;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    throw new Error('NodeSha256 cannot be reset; make a new one');
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
