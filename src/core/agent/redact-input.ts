import type { ConfiguredMcpServer } from '../../config/agent-config/mcp-servers.js';

/** How much of a tool call's input an approval shows. */
export const MAX_SHOWN_INPUT_CHARS = 700;

const REDACTED = '[redacted]';
/** Shorter values are too likely to occur by chance to be worth hiding. */
const MIN_SECRET_CHARS = 6;

/** Field names whose values are credentials, whatever they hold. */
const SECRET_KEY =
  /(secret|token|passw(or)?d|passwd|api[-_]?key|auth|credential|private[-_]?key|cookie|session)/i;

/**
 * Secrets written inline: `NAME=value` for names that sound like credentials,
 * `Authorization: Bearer …` and the shapes of common keys (Anthropic/OpenAI
 * `sk-…`, GitHub `ghp_…`, AWS access key ids, Slack `xox…`, JWTs).
 */
const INLINE_SECRETS: ReadonlyArray<[RegExp, string]> = [
  [
    /\b([A-Za-z_][A-Za-z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)[A-Za-z0-9_]*)\s*=\s*("[^"]*"|'[^']*'|\S+)/gi,
    `$1=${REDACTED}`,
  ],
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  [/\bsk-[A-Za-z0-9_-]{10,}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, REDACTED],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/(https?:\/\/)[^\s/:@]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
];

/**
 * A tool call's input as an approval shows it: the command or URL for the
 * shell and web fetches, JSON otherwise; secrets replaced (the values the
 * operator configured, fields named like credentials, inline keys and
 * `NAME=value` assignments of credential-like names), then cut to
 * MAX_SHOWN_INPUT_CHARS. Redacted before it is cut, so a cut cannot leave
 * half a secret unrecognised.
 */
export function shownInput(
  toolName: string,
  input: Record<string, unknown>,
  secrets: readonly string[],
): string {
  let text: string;
  if (toolName === 'Bash' && typeof input.command === 'string') text = input.command;
  else if (toolName === 'WebFetch' && typeof input.url === 'string') text = input.url;
  else text = JSON.stringify(redactFields(input), null, 1) ?? '';
  text = redactText(text, secrets);
  return text.length <= MAX_SHOWN_INPUT_CHARS
    ? text
    : `${text.slice(0, MAX_SHOWN_INPUT_CHARS - 1)}…`;
}

export function redactText(text: string, secrets: readonly string[]): string {
  let result = text;
  // Longest first, so a secret that contains another is hidden whole.
  const values = [...new Set(secrets)]
    .filter((value) => value.length >= MIN_SECRET_CHARS)
    .sort((a, b) => b.length - a.length);
  for (const value of values) result = result.split(value).join(REDACTED);
  for (const [pattern, replacement] of INLINE_SECRETS)
    result = result.replace(pattern, replacement);
  return result;
}

function redactFields(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactFields(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_KEY.test(key) && item !== null && item !== ''
        ? REDACTED
        : redactFields(item, depth + 1),
    ]),
  );
}

/** The secret values in the agent's configuration: MCP servers' environment and headers. */
export function configuredSecrets(servers: Record<string, ConfiguredMcpServer>): string[] {
  return Object.values(servers).flatMap((server) => [
    ...Object.values(('env' in server ? server.env : undefined) ?? {}),
    ...Object.values(('headers' in server ? server.headers : undefined) ?? {}),
  ]);
}
