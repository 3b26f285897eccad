/**
 * Where the gateway sends the agent's model requests, and how it proves who
 * it is. The credential lives only here, in the parent process.
 */
export interface ModelUpstream {
  /** Messages API base URL, e.g. https://api.anthropic.com (no trailing /v1). */
  baseUrl: string;
  /** Adds the real credential to an outgoing request's headers. */
  authorize(request: UpstreamRequest): Promise<void> | void;
}

export interface UpstreamRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}
