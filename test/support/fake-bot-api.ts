import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../../src/lib/http-server.js';
import { texts } from '../../src/texts/en.js';

/**
 * A local stand-in for the Telegram Bot API, for grammY's `client.apiRoot`.
 *
 * It answers the methods the bot uses the way Telegram does (`{ ok, result }`
 * envelopes, `error_code` + `description` on failure), records every call, and
 * serves `getUpdates` long polling from a queue the test fills with
 * `pushUpdate`. Formatted messages are checked the way Telegram checks them:
 * malformed HTML is refused with "can't parse entities", and text longer than
 * 4096 UTF-16 units after parsing with "message is too long". It keeps the
 * chats' messages, so `editMessageText` and `deleteMessage` work on what was
 * sent and fail as Telegram's do (not found, not modified).
 *
 * `sentMessages` is the chat as a person sees it now: each message once, with
 * its latest text (an edited message counts once), answer placeholders not
 * yet written into left out; `visibleMessages` is everything still showing,
 * placeholders and status messages included. `hold` keeps the response to a
 * matching call (which has taken effect) until released, so a test can kill
 * the bot while the call is in flight.
 */

export interface RecordedCall {
  method: string;
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  params: Record<string, any>;
  /** The `result` returned, or undefined when the call was answered with an error. */
  result?: unknown;
  error?: { error_code: number; description: string };
}

export interface InjectedError {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export interface FakeBotApiOptions {
  token?: string;
  botId?: number;
  botUsername?: string;
}

export interface SentMessage {
  chatId: number;
  threadId: number | undefined;
  messageId: number;
  /** Visible text, as Telegram would show it. */
  text: string;
  /** What the bot sent (HTML or plain). */
  raw: string;
  parseMode: string | undefined;
  replyTo: number | undefined;
}

/** A call whose response is withheld; see `FakeBotApi.hold`. */
export interface HeldCall {
  /** Resolves with the call once one matched and took effect. */
  readonly arrived: Promise<RecordedCall>;
  /** Sends the withheld response (if the client is still there) and stops holding. */
  release(): void;
}

interface HoldRule {
  method: string;
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  matches: (params: Record<string, any>) => boolean;
  arrived: (call: RecordedCall) => void;
  released: Promise<void>;
  release: () => void;
  taken: boolean;
}

/** A message as it shows in its chat now. */
interface ChatMessage {
  text: string;
  raw: string;
  parseMode: string | undefined;
}

interface Waiter {
  offset: number;
  limit: number;
  resolve: (updates: unknown[]) => void;
  timer: NodeJS.Timeout;
}

const TELEGRAM_LIMIT = 4096;

export class FakeBotApi {
  readonly token: string;
  readonly botId: number;
  readonly botUsername: string;
  readonly calls: RecordedCall[] = [];
  private server: Server | undefined;
  private port = 0;
  private nextUpdateId = 1;
  private readonly pending: Array<{ update_id: number }> = [];
  private waiters: Waiter[] = [];
  private readonly injected = new Map<string, InjectedError[]>();
  private readonly messageIds = new Map<number, number>();
  /** Each message still in its chat, as it shows now, by `chatId:messageId`. */
  private readonly chatMessages = new Map<string, ChatMessage>();
  private holds: HoldRule[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(options: FakeBotApiOptions) {
    this.token = options.token ?? '123456:TEST-fake-token-not-a-secret';
    this.botId = options.botId ?? Number(this.token.split(':')[0]);
    this.botUsername = options.botUsername ?? 'test_agent_bot';
  }

  static async start(options: FakeBotApiOptions = {}): Promise<FakeBotApi> {
    const api = new FakeBotApi(options);
    await api.listen();
    return api;
  }

  /** Base URL to give grammY as `client.apiRoot` (or the server as TELEGRAM_API_ROOT). */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const rule of [...this.holds]) rule.release();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve([]);
    }
    this.waiters = [];
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await closeServer(server);
  }

  /** Queue an update for `getUpdates`; `update_id` is assigned unless given. Returns the id. */
  pushUpdate(update: Record<string, unknown>): number {
    const updateId = typeof update.update_id === 'number' ? update.update_id : this.nextUpdateId++;
    if (updateId >= this.nextUpdateId) this.nextUpdateId = updateId + 1;
    this.pending.push({ ...update, update_id: updateId });
    this.flushWaiters();
    return updateId;
  }

  /**
   * Queue several updates at once, so one `getUpdates` answer carries them all
   * (a pushed copy of an update with the same `update_id` is how Telegram's
   * redelivery looks to the bot). Returns their ids.
   */
  pushUpdates(updates: Array<Record<string, unknown>>): number[] {
    const waiters = this.waiters;
    this.waiters = [];
    const ids = updates.map((update) => this.pushUpdate(update));
    this.waiters.push(...waiters);
    this.flushWaiters();
    return ids;
  }

  /** Answer the next `count` calls of `method` with this error instead. */
  failNext(method: string, error: InjectedError, count = 1): void {
    const queue = this.injected.get(method) ?? [];
    for (let index = 0; index < count; index++) queue.push(error);
    this.injected.set(method, queue);
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /**
   * Withhold the response to the next call of `method` that `matches`: the
   * call takes effect (the chat changes, the call is recorded) but its
   * response waits for `release()`, like a reply lost in flight.
   */
  hold(
    method: string,
    // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
    matches: (params: Record<string, any>) => boolean = () => true,
  ): HeldCall {
    let arrived!: (call: RecordedCall) => void;
    let release!: () => void;
    const arrivedPromise = new Promise<RecordedCall>((resolve) => {
      arrived = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rule: HoldRule = {
      method,
      matches,
      arrived,
      released,
      release: () => {
        this.holds = this.holds.filter((other) => other !== rule);
        release();
      },
      taken: false,
    };
    this.holds.push(rule);
    return { arrived: arrivedPromise, release: rule.release };
  }

  /**
   * The chat as a person sees it: messages the bot sent (sendMessage) and has
   * not deleted, oldest first, each once with its latest text (edits
   * included). Answer placeholders not yet written into are left out.
   */
  sentMessages(chatId?: number, threadId?: number): SentMessage[] {
    return this.visibleMessages(chatId, threadId).filter(
      (message) => message.text !== texts.answerPlaceholder,
    );
  }

  /** Every message of the bot still in its chat, placeholders and status messages included. */
  visibleMessages(chatId?: number, threadId?: number): SentMessage[] {
    const sent: SentMessage[] = [];
    for (const call of this.calls) {
      if (call.method !== 'sendMessage' || call.error || call.result === undefined) continue;
      const result = call.result as { message_id: number; text: string };
      const shown = this.chatMessages.get(`${Number(call.params.chat_id)}:${result.message_id}`);
      if (!shown) continue;
      const message: SentMessage = {
        chatId: Number(call.params.chat_id),
        threadId: call.params.message_thread_id ? Number(call.params.message_thread_id) : undefined,
        messageId: result.message_id,
        text: shown.text,
        raw: shown.raw,
        parseMode: shown.parseMode,
        replyTo: call.params.reply_parameters?.message_id,
      };
      if (chatId !== undefined && message.chatId !== chatId) continue;
      if (threadId !== undefined && message.threadId !== threadId) continue;
      sent.push(message);
    }
    return sent;
  }

  /** Resolve once `predicate` holds (checked after every call), or reject after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Updates still waiting to be fetched (not yet confirmed by a later offset). */
  get unconfirmedUpdates(): number {
    return this.pending.length;
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        reply(res, 500, { ok: false, error_code: 500, description: String(error) });
      });
    });
    this.port = await listenOnLoopback(server);
    this.server = server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!match) {
      reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    if (match[1] !== this.token) {
      reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const method = match[2] as string;
    const params = await readParams(req, url);
    const call: RecordedCall = { method, params };

    const injected = this.injected.get(method)?.shift();
    if (injected) {
      call.error = { error_code: injected.error_code, description: injected.description };
      this.record(call);
      reply(res, injected.error_code === 429 ? 429 : 400, { ok: false, ...injected });
      return;
    }

    if (method === 'getUpdates') {
      // Long polls are not recorded: there are too many and they say nothing.
      const updates = await this.getUpdates(params);
      reply(res, 200, { ok: true, result: updates });
      return;
    }

    const outcome = this.answer(method, params);
    if ('error' in outcome) {
      call.error = outcome.error;
      this.record(call);
      reply(res, outcome.error.error_code, { ok: false, ...outcome.error });
      return;
    }
    call.result = outcome.result;
    this.record(call);
    const held = this.holds.find(
      (rule) => !rule.taken && rule.method === method && rule.matches(params),
    );
    if (held) {
      held.taken = true;
      held.arrived(call);
      await held.released;
    }
    reply(res, 200, { ok: true, result: outcome.result });
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    for (const listener of [...this.listeners]) listener();
  }

  private answer(
    method: string,
    // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
    params: Record<string, any>,
  ): { result: unknown } | { error: { error_code: number; description: string } } {
    switch (method) {
      case 'getMe':
        return {
          result: {
            id: this.botId,
            is_bot: true,
            first_name: 'Test Agent',
            username: this.botUsername,
            can_join_groups: true,
            can_read_all_group_messages: false,
            supports_inline_queries: false,
          },
        };
      case 'sendMessage':
      case 'editMessageText': {
        const checked = checkMessageText(String(params.text ?? ''), params.parse_mode);
        if ('error' in checked) return checked;
        const chatId = Number(params.chat_id);
        const editing = method === 'editMessageText';
        const messageId = editing ? Number(params.message_id) : this.nextMessageId(chatId);
        const key = `${chatId}:${messageId}`;
        if (editing && !this.chatMessages.has(key)) {
          return {
            error: { error_code: 400, description: 'Bad Request: message to edit not found' },
          };
        }
        if (editing && this.chatMessages.get(key)?.text === checked.text) {
          return {
            error: {
              error_code: 400,
              description:
                'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
            },
          };
        }
        this.chatMessages.set(key, {
          text: checked.text,
          raw: String(params.text),
          parseMode: params.parse_mode,
        });
        return {
          result: {
            message_id: messageId,
            date: Math.floor(Date.now() / 1000),
            chat: chatFor(chatId),
            from: { id: this.botId, is_bot: true, first_name: 'Test Agent' },
            text: checked.text,
            ...(params.message_thread_id
              ? { message_thread_id: Number(params.message_thread_id), is_topic_message: true }
              : {}),
          },
        };
      }
      case 'deleteMessage': {
        const key = `${Number(params.chat_id)}:${Number(params.message_id)}`;
        if (!this.chatMessages.delete(key)) {
          return {
            error: { error_code: 400, description: 'Bad Request: message to delete not found' },
          };
        }
        return { result: true };
      }
      case 'getWebhookInfo':
        return { result: { url: '', has_custom_certificate: false, pending_update_count: 0 } };
      default:
        // sendChatAction, setMyCommands, deleteWebhook, setWebhook, ...
        return { result: true };
    }
  }

  private nextMessageId(chatId: number): number {
    const next = (this.messageIds.get(chatId) ?? 1000) + 1;
    this.messageIds.set(chatId, next);
    return next;
  }

  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  private getUpdates(params: Record<string, any>): Promise<unknown[]> {
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(params.limit ?? 100)));
    const timeoutSeconds = Math.max(0, Number(params.timeout ?? 0));
    this.confirm(offset);
    const ready = this.take(offset, limit);
    if (ready.length > 0 || timeoutSeconds === 0) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        offset,
        limit,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((other) => other !== waiter);
          resolve([]);
        }, timeoutSeconds * 1000),
      };
      this.waiters.push(waiter);
    });
  }

  /** An offset confirms every update before it, as on Telegram. */
  private confirm(offset: number): void {
    if (offset <= 0) return;
    for (let index = this.pending.length - 1; index >= 0; index--) {
      if ((this.pending[index]?.update_id ?? 0) < offset) this.pending.splice(index, 1);
    }
  }

  private take(offset: number, limit: number): unknown[] {
    return this.pending.filter((update) => update.update_id >= offset).slice(0, limit);
  }

  private flushWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      const ready = this.take(waiter.offset, waiter.limit);
      if (ready.length === 0) {
        this.waiters.push(waiter);
        continue;
      }
      clearTimeout(waiter.timer);
      waiter.resolve(ready);
    }
  }
}

function chatFor(chatId: number): Record<string, unknown> {
  return chatId < 0
    ? { id: chatId, type: 'supergroup', title: 'Test group' }
    : { id: chatId, type: 'private', first_name: 'Tester' };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
async function readParams(req: IncomingMessage, url: URL): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  const params: Record<string, any> = Object.fromEntries(url.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (body && type.includes('application/json')) Object.assign(params, JSON.parse(body));
  else if (body && type.includes('x-www-form-urlencoded'))
    Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  return params;
}

function checkMessageText(
  text: string,
  parseMode: unknown,
): { text: string } | { error: { error_code: number; description: string } } {
  let visible = text;
  if (parseMode === 'HTML') {
    try {
      visible = parseTelegramHtml(text);
    } catch (error) {
      return {
        error: {
          error_code: 400,
          description: `Bad Request: can't parse entities: ${(error as Error).message}`,
        },
      };
    }
  } else if (parseMode !== undefined) {
    return {
      error: {
        error_code: 400,
        description: `Bad Request: unsupported parse_mode ${String(parseMode)}`,
      },
    };
  }
  const trimmed = visible.trim();
  if (trimmed.length === 0) {
    return { error: { error_code: 400, description: 'Bad Request: message text is empty' } };
  }
  if (trimmed.length > TELEGRAM_LIMIT) {
    return { error: { error_code: 400, description: 'Bad Request: message is too long' } };
  }
  return { text: trimmed };
}

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/**
 * Parse Telegram's HTML subset strictly, the way the Bot API does, returning
 * the visible text or throwing with Telegram's kind of complaint.
 */
export function parseTelegramHtml(html: string): string {
  const stack: string[] = [];
  let text = '';
  let index = 0;
  while (index < html.length) {
    const char = html[index] as string;
    if (char === '<') {
      const match = /^<(\/?)([a-z][a-z0-9-]*)((?:\s[^<>]*)?)>/i.exec(
        html.slice(index, index + 1024),
      );
      if (!match) throw new Error(`Unexpected "<" at byte offset ${index}`);
      const closing = match[1] === '/';
      const name = (match[2] as string).toLowerCase();
      if (!ALLOWED_TAGS.has(name))
        throw new Error(`Unsupported start tag "${name}" at byte offset ${index}`);
      if (closing) {
        if (stack.pop() !== name)
          throw new Error(
            `Unmatched end tag at byte offset ${index}, expected "</${stack.at(-1) ?? ''}>"`,
          );
      } else {
        const inside = stack.at(-1);
        if (inside === 'pre' && name !== 'code')
          throw new Error('Entities can\'t be nested in "pre"');
        if (inside === 'code') throw new Error('Entities can\'t be nested in "code"');
        if (name === 'blockquote' && stack.includes('blockquote'))
          throw new Error("Blockquotes can't be nested");
        if (name === 'a' && !/\shref="[^"]*"/.test(match[3] ?? ''))
          throw new Error('Tag "a" must have an href');
        stack.push(name);
      }
      index += match[0].length;
      continue;
    }
    if (char === '&') {
      const match = /^&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/i.exec(html.slice(index, index + 16));
      if (!match) throw new Error(`Unescaped "&" at byte offset ${index}`);
      const body = match[1] as string;
      if (body.startsWith('#')) {
        const code =
          body[1]?.toLowerCase() === 'x'
            ? Number.parseInt(body.slice(2), 16)
            : Number(body.slice(1));
        text += String.fromCodePoint(code);
      } else {
        const decoded = ENTITIES[body.toLowerCase()];
        if (decoded === undefined) throw new Error(`Unsupported HTML entity "${match[0]}"`);
        text += decoded;
      }
      index += match[0].length;
      continue;
    }
    if (char === '>') throw new Error(`Unexpected ">" at byte offset ${index}`);
    text += char;
    index++;
  }
  if (stack.length > 0)
    throw new Error(`Can't find end tag corresponding to start tag "${stack.at(-1)}"`);
  return text;
}

/** Builders for the updates tests push. */
export interface TestUser {
  id: number;
  first_name?: string;
  username?: string;
}

export function textMessageUpdate(options: {
  chatId: number;
  text: string;
  from?: TestUser;
  chatType?: 'private' | 'group' | 'supergroup';
  threadId?: number;
  messageId?: number;
  replyToBot?: { botId: number; messageId?: number };
  updateId?: number;
}): Record<string, unknown> {
  const from = options.from ?? {
    id: options.chatId > 0 ? options.chatId : 4242,
    first_name: 'Tester',
  };
  const chatType = options.chatType ?? (options.chatId < 0 ? 'supergroup' : 'private');
  const entities = /^\/[a-z0-9_]+/i.exec(options.text)
    ? [{ type: 'bot_command', offset: 0, length: (/^\/\S+/.exec(options.text)?.[0] ?? '').length }]
    : undefined;
  const mentionEntities = [...options.text.matchAll(/@[a-z0-9_]{5,}/gi)].map((match) => ({
    type: 'mention',
    offset: match.index ?? 0,
    length: match[0].length,
  }));
  const allEntities = [...(entities ?? []), ...mentionEntities];
  return {
    ...(options.updateId !== undefined ? { update_id: options.updateId } : {}),
    message: {
      message_id: options.messageId ?? Math.floor(Math.random() * 1_000_000),
      date: Math.floor(Date.now() / 1000),
      chat:
        chatType === 'private'
          ? { id: options.chatId, type: 'private', first_name: from.first_name ?? 'Tester' }
          : {
              id: options.chatId,
              type: chatType,
              title: 'Test group',
              ...(options.threadId ? { is_forum: true } : {}),
            },
      from: { is_bot: false, first_name: 'Tester', ...from },
      text: options.text,
      ...(allEntities.length > 0 ? { entities: allEntities } : {}),
      ...(options.threadId ? { message_thread_id: options.threadId, is_topic_message: true } : {}),
      ...(options.replyToBot
        ? {
            reply_to_message: {
              message_id: options.replyToBot.messageId ?? 1,
              date: Math.floor(Date.now() / 1000),
              chat: { id: options.chatId, type: chatType },
              from: { id: options.replyToBot.botId, is_bot: true, first_name: 'Test Agent' },
              text: 'earlier answer',
            },
          }
        : {}),
    },
  };
}
