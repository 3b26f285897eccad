/**
 * Where the gateway sends the agent's model requests, and how it proves who
 * it is. The credential lives only here, in the parent process.
 */
export interface ModelUpstream {
  /** Messages API base URL, e.g. https://api.anthropic.com (no trailing /v1). */
  baseUrl: string;
  /** Adds the real credential to an outgoing request's headers. */
  authorize(request: UpstreamRequest): Promise<void> | void;
  /**
   * For upstreams whose streamed answers are not server-sent events (Bedrock's
   * binary event stream): a reader that turns a response body of this content
   * type into the Messages API stream events inside it, so the gateway can
   * count tokens. Undefined for content the gateway reads itself (SSE, JSON).
   */
  eventReader?(contentType: string): ResponseEventReader | undefined;
}

/** Decodes a response body chunk by chunk into Messages API stream events. */
export interface ResponseEventReader {
  /** The events completed by this chunk (a frame may span chunks). */
  write(chunk: Uint8Array): unknown[];
}

export interface UpstreamRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}
