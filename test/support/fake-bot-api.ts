import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { markdownToTelegramHtml } from '../../src/adapters/telegram/markdown-to-telegram-html.js';
import { htmlToPlainText } from '../../src/adapters/telegram/telegram-html.js';
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
 * Uploads (sendDocument, sendPhoto) arrive as multipart bodies, parsed like
 * Telegram does: each `attach://` parameter gets its file's name and bytes,
 * and `sentFiles` lists what was uploaded.
 *
 * Files people send are served as Telegram's servers do: `addFile` puts one
 * behind `getFile` and `/file/bot<token>/<file_path>`; `downloads` lists
 * what was fetched.
 *
 * `sentMessages` is the chat as a person sees it now: each message once, with
 * its latest text (an edited message counts once), answer placeholders not
 * yet written into left out; `visibleMessages` is everything still showing,
 * placeholders and status messages included. Rich messages (sendRichMessage,
 * editMessageText with `rich_message`) count as messages, their text shown
 * as the bot's own HTML rendering would show it; drafts are recorded
 * (`drafts`), never shown in the chat. `setRichMessages(false)` plays an
 * older Bot API server (404 to the rich methods), `floodNext` flood control,
 * and `pushDraftStop` the stop button of a draft. `hold` keeps the response to a
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

/** A file the bot uploaded (multipart), in place of its `attach://` parameter. */
export interface UploadedFile {
  filename: string;
  data: Buffer;
}

/** A document or photo the bot sent, as the chat shows it. */
export interface SentFile {
  method: 'sendDocument' | 'sendPhoto';
  chatId: number;
  threadId: number | undefined;
  filename: string;
  data: Buffer;
  caption: string | undefined;
  replyTo: number | undefined;
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

interface FakeFile {
  data: Buffer;
  path: string;
  reportedSize: number | null;
  chunked: boolean;
}

/** A message as it shows in its chat now. */
interface ChatMessage {
  text: string;
  raw: string;
  parseMode: string | undefined;
  /** The inline keyboard it shows (sendMessage, editMessageText, editMessageReplyMarkup). */
  keyboard?: InlineButton[][] | undefined;
}

/** One inline button, as the bot sent it. */
export interface InlineButton {
  text: string;
  callback_data?: string;
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
  /**
   * Methods this Bot API does not know: answered 404 "method not found", as
   * an older self-hosted Bot API server does (see `setRichMessages`).
   */
  readonly unknownMethods = new Set<string>();
  /** Files people "sent", by file_id, for getFile and downloads (see addFile). */
  private readonly files = new Map<string, FakeFile>();
  /** Download requests served (`/file/bot<token>/<path>`), by file path. */
  readonly downloads: string[] = [];
  /** The parameters of the last `getUpdates` (long polls are not in `calls`). */
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  lastPoll: Record<string, any> | undefined;

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

  /**
   * A file a person sent, served by `getFile` and at `/file/bot<token>/<path>`
   * as Telegram's servers do. `reportedSize` overrides the `file_size`
   * getFile answers (`null`: none, as Telegram sometimes does); `chunked`
   * sends the download without a content-length.
   */
  addFile(
    fileId: string,
    content: Buffer | string,
    options: { filePath?: string; reportedSize?: number | null; chunked?: boolean } = {},
  ): void {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    this.files.set(fileId, {
      data,
      path: options.filePath ?? `documents/${fileId}`,
      reportedSize: options.reportedSize === undefined ? data.length : options.reportedSize,
      chunked: options.chunked ?? false,
    });
  }

  /**
   * Rich messages on (Telegram today) or off (an older Bot API server:
   * sendRichMessage and sendRichMessageDraft answer 404, and an edit with
   * `rich_message` is an edit without text).
   */
  setRichMessages(enabled: boolean): void {
    for (const method of ['sendRichMessage', 'sendRichMessageDraft']) {
      if (enabled) this.unknownMethods.delete(method);
      else this.unknownMethods.add(method);
    }
  }

  /** Flood control: the next `count` calls of `method` are answered 429 with `retry_after`. */
  floodNext(method: string, retryAfterSeconds: number, count = 1): void {
    this.failNext(
      method,
      {
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfterSeconds}`,
        parameters: { retry_after: retryAfterSeconds },
      },
      count,
    );
  }

  /** Drafts the bot showed (sendMessageDraft, sendRichMessageDraft), oldest first. */
  drafts(
    chatId?: number,
  ): Array<{ draftId: number; text: string; rich: boolean; canStop: boolean }> {
    return this.calls
      .filter(
        (call) =>
          (call.method === 'sendMessageDraft' || call.method === 'sendRichMessageDraft') &&
          !call.error &&
          (chatId === undefined || Number(call.params.chat_id) === chatId),
      )
      .map((call) => ({
        draftId: Number(call.params.draft_id),
        text:
          call.method === 'sendRichMessageDraft'
            ? String(call.params.rich_message?.markdown ?? '')
            : String(call.params.text ?? ''),
        rich: call.method === 'sendRichMessageDraft',
        canStop: call.params.can_stop === true,
      }));
  }

  /** The person presses the stop button of a draft: Telegram's `stopped_message_generation`. */
  pushDraftStop(chatId: number, draftId: number, threadId?: number): number {
    return this.pushUpdate({
      stopped_message_generation: {
        chat: { id: chatId, type: 'private', first_name: 'Tester' },
        ...(threadId !== undefined ? { message_thread_id: threadId } : {}),
        draft_id: draftId,
      },
    });
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

  /** Documents and photos the bot uploaded (sendDocument, sendPhoto), oldest first. */
  sentFiles(chatId?: number): SentFile[] {
    return this.calls
      .filter(
        (call) =>
          (call.method === 'sendDocument' || call.method === 'sendPhoto') &&
          !call.error &&
          (chatId === undefined || Number(call.params.chat_id) === chatId),
      )
      .map((call) => {
        const upload = call.params[call.method === 'sendPhoto' ? 'photo' : 'document'];
        return {
          method: call.method as SentFile['method'],
          chatId: Number(call.params.chat_id),
          threadId: call.params.message_thread_id
            ? Number(call.params.message_thread_id)
            : undefined,
          filename: isUpload(upload) ? upload.filename : String(upload),
          data: isUpload(upload) ? upload.data : Buffer.alloc(0),
          caption: call.params.caption,
          replyTo: call.params.reply_parameters?.message_id,
        };
      });
  }

  /** Every message of the bot still in its chat, placeholders and status messages included. */
  visibleMessages(chatId?: number, threadId?: number): SentMessage[] {
    const sent: SentMessage[] = [];
    for (const call of this.calls) {
      if (!['sendMessage', 'sendRichMessage'].includes(call.method)) continue;
      if (call.error || call.result === undefined) continue;
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

  /** The inline keyboard a message of the bot shows now (empty when none). */
  keyboardOf(chatId: number, messageId: number): InlineButton[][] {
    return this.chatMessages.get(`${chatId}:${messageId}`)?.keyboard ?? [];
  }

  /** The bot's latest message in the chat that shows buttons, if any. */
  messageWithButtons(chatId: number): SentMessage | undefined {
    return this.visibleMessages(chatId)
      .filter((message) => this.keyboardOf(chatId, message.messageId).length > 0)
      .at(-1);
  }

  /**
   * A person presses the button labelled `label` (exactly, or its start) on
   * the bot's message: a `callback_query` update goes out, as Telegram sends
   * it. Returns the callback query's id (see `callbackAnswer`).
   */
  pressButton(
    chatId: number,
    messageId: number,
    label: string,
    options: { from?: TestUser; chatType?: 'private' | 'group' | 'supergroup' } = {},
  ): string {
    const button = this.keyboardOf(chatId, messageId)
      .flat()
      .find((candidate) => candidate.text === label || candidate.text.startsWith(label));
    if (!button?.callback_data) throw new Error(`no button "${label}" on message ${messageId}`);
    return this.pushCallbackQuery({ chatId, messageId, data: button.callback_data, ...options });
  }

  /** A `callback_query` update with any data (a forged or stale press). Returns its id. */
  pushCallbackQuery(options: {
    chatId: number;
    messageId: number;
    data: string;
    from?: TestUser;
    chatType?: 'private' | 'group' | 'supergroup';
  }): string {
    const update = callbackQueryUpdate({ ...options, botId: this.botId });
    this.pushUpdate(update);
    return update.callback_query.id;
  }

  /** The text the bot answered a callback query with (answerCallbackQuery), once it has. */
  callbackAnswer(callbackQueryId: string): string | undefined {
    const call = this.callsTo('answerCallbackQuery').find(
      (candidate) => candidate.params.callback_query_id === callbackQueryId,
    );
    return call ? String(call.params.text ?? '') : undefined;
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
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (download) {
      this.serveFile(res, download[1] as string, decodeURIComponent(download[2] as string));
      return;
    }
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

    if (this.unknownMethods.has(method)) {
      const error = { error_code: 404, description: 'Not Found: method not found' };
      call.error = error;
      this.record(call);
      reply(res, 404, { ok: false, ...error });
      return;
    }

    const injected = this.injected.get(method)?.shift();
    if (injected) {
      call.error = { error_code: injected.error_code, description: injected.description };
      this.record(call);
      reply(res, injected.error_code === 429 ? 429 : 400, { ok: false, ...injected });
      return;
    }

    if (method === 'getUpdates') {
      // Long polls are not recorded: there are too many and they say nothing.
      this.lastPoll = params;
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
      case 'sendRichMessage':
        return this.richMessage(method, params);
      case 'sendMessageDraft':
      case 'sendRichMessageDraft':
        return checkDraft(method, params);
      case 'sendMessage':
      case 'editMessageText': {
        if (method === 'editMessageText' && params.rich_message !== undefined) {
          // An older Bot API ignores the field it does not know: an edit without text.
          if (this.unknownMethods.has('sendRichMessage'))
            return {
              error: { error_code: 400, description: 'Bad Request: message text is empty' },
            };
          return this.richMessage(method, params);
        }
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
        const current = this.chatMessages.get(key);
        if (editing && current?.text === checked.text && current.parseMode !== 'rich') {
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
          // Telegram drops an edited message's keyboard unless the edit sends one.
          keyboard: params.reply_markup?.inline_keyboard,
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
      case 'editMessageReplyMarkup': {
        const shown = this.chatMessages.get(
          `${Number(params.chat_id)}:${Number(params.message_id)}`,
        );
        if (!shown) {
          return {
            error: { error_code: 400, description: 'Bad Request: message to edit not found' },
          };
        }
        shown.keyboard = params.reply_markup?.inline_keyboard;
        return { result: true };
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
      case 'getFile': {
        const file = this.files.get(String(params.file_id));
        if (!file) {
          return { error: { error_code: 400, description: 'Bad Request: invalid file_id' } };
        }
        return {
          result: {
            file_id: String(params.file_id),
            file_unique_id: `u-${String(params.file_id)}`,
            ...(file.reportedSize !== null ? { file_size: file.reportedSize } : {}),
            file_path: file.path,
          },
        };
      }
      case 'sendDocument':
      case 'sendPhoto': {
        const photo = method === 'sendPhoto';
        const upload = params[photo ? 'photo' : 'document'];
        if (!isUpload(upload) || upload.data.length === 0) {
          return { error: { error_code: 400, description: 'Bad Request: file must be non-empty' } };
        }
        const chatId = Number(params.chat_id);
        return {
          result: {
            message_id: this.nextMessageId(chatId),
            date: Math.floor(Date.now() / 1000),
            chat: chatFor(chatId),
            from: { id: this.botId, is_bot: true, first_name: 'Test Agent' },
            ...(photo
              ? { photo: [{ file_id: 'p', file_unique_id: 'p', width: 1, height: 1 }] }
              : { document: { file_id: 'd', file_unique_id: 'd', file_name: upload.filename } }),
            ...(params.caption ? { caption: String(params.caption) } : {}),
          },
        };
      }
      case 'getWebhookInfo':
        return { result: { url: '', has_custom_certificate: false, pending_update_count: 0 } };
      default:
        // sendChatAction, setMyCommands, deleteWebhook, setWebhook, ...
        return { result: true };
    }
  }

  private serveFile(res: ServerResponse, token: string, path: string): void {
    if (token !== this.token) {
      reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return;
    }
    const file = [...this.files.values()].find((candidate) => candidate.path === path);
    if (!file) {
      reply(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    this.downloads.push(path);
    for (const listener of [...this.listeners]) listener();
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(file.chunked ? {} : { 'content-length': String(file.data.length) }),
    });
    res.end(file.data);
  }

  /** sendRichMessage, or editMessageText with `rich_message`: checked, kept, shown as its text. */
  private richMessage(
    method: string,
    // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
    params: Record<string, any>,
  ): { result: unknown } | { error: { error_code: number; description: string } } {
    const checked = checkRichMarkdown(params.rich_message?.markdown);
    if ('error' in checked) return checked;
    const chatId = Number(params.chat_id);
    const editing = method === 'editMessageText';
    const messageId = editing ? Number(params.message_id) : this.nextMessageId(chatId);
    const key = `${chatId}:${messageId}`;
    const current = this.chatMessages.get(key);
    if (editing && !current) {
      return { error: { error_code: 400, description: 'Bad Request: message to edit not found' } };
    }
    if (editing && current?.raw === checked.markdown && current.parseMode === 'rich') {
      return {
        error: {
          error_code: 400,
          description:
            'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
        },
      };
    }
    this.chatMessages.set(key, { text: checked.text, raw: checked.markdown, parseMode: 'rich' });
    return {
      result: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: chatFor(chatId),
        from: { id: this.botId, is_bot: true, first_name: 'Test Agent' },
        rich_message: { markdown: checked.markdown },
        ...(params.message_thread_id
          ? { message_thread_id: Number(params.message_thread_id), is_topic_message: true }
          : {}),
      },
    };
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
  if (type.includes('multipart/form-data')) {
    Object.assign(params, parseMultipart(Buffer.concat(chunks), type));
    return params;
  }
  if (body && type.includes('application/json')) Object.assign(params, JSON.parse(body));
  else if (body && type.includes('x-www-form-urlencoded'))
    Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  return params;
}

function isUpload(value: unknown): value is UploadedFile {
  return (
    typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).data)
  );
}

/**
 * A multipart/form-data body as grammY sends it: plain fields, and files in
 * parts of their own that a field names as `attach://<id>`. Each such field
 * gets its file (name and bytes) in place of the reference; JSON-valued
 * fields (reply_parameters) are parsed.
 */
// biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
function parseMultipart(body: Buffer, type: string): Record<string, any> {
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (!boundary) throw new Error('multipart body without a boundary');
  const fields = new Map<string, string>();
  const files = new Map<string, UploadedFile>();
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    // Between the delimiter's line break and the one before the next delimiter.
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    start = next;
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd === -1) continue;
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const data = Buffer.from(part.subarray(headerEnd + 4));
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (!name) continue;
    const filename = /filename=(?:"([^"]*)"|([^\r\n;]*))/i.exec(headers);
    if (filename) files.set(name, { filename: filename[1] ?? filename[2] ?? '', data });
    else fields.set(name, data.toString('utf8'));
  }
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  const params: Record<string, any> = {};
  for (const [name, value] of fields) {
    const attached = /^attach:\/\/(.+)$/.exec(value)?.[1];
    if (attached && files.has(attached)) params[name] = files.get(attached);
    else if (/^[[{]/.test(value)) {
      try {
        params[name] = JSON.parse(value);
      } catch {
        params[name] = value;
      }
    } else params[name] = value;
  }
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

const RICH_LIMIT = 32_768;

/**
 * Rich Markdown as Telegram checks it, roughly: not empty, at most 32,768
 * characters of text. The text a person sees is approximated by the bot's own
 * Markdown-to-HTML rendering, so answers read the same whichever way they went.
 */
function checkRichMarkdown(
  markdown: unknown,
): { markdown: string; text: string } | { error: { error_code: number; description: string } } {
  if (typeof markdown !== 'string' || markdown.trim() === '') {
    return { error: { error_code: 400, description: 'Bad Request: rich message is empty' } };
  }
  const text = htmlToPlainText(markdownToTelegramHtml(markdown)).trim();
  if (text.length > RICH_LIMIT) {
    return { error: { error_code: 400, description: 'Bad Request: rich message is too long' } };
  }
  return { markdown, text: text || markdown.trim() };
}

/** A draft: private chats only, a non-zero id, text within the limits. */
function checkDraft(
  method: string,
  // biome-ignore lint/suspicious/noExplicitAny: Bot API parameters are free-form JSON
  params: Record<string, any>,
): { result: unknown } | { error: { error_code: number; description: string } } {
  if (!(Number(params.chat_id) > 0)) {
    return {
      error: {
        error_code: 400,
        description: 'Bad Request: drafts can be sent to private chats only',
      },
    };
  }
  if (!Number(params.draft_id)) {
    return { error: { error_code: 400, description: 'Bad Request: draft_id must be non-zero' } };
  }
  if (method === 'sendRichMessageDraft') {
    const checked = checkRichMarkdown(params.rich_message?.markdown);
    return 'error' in checked ? checked : { result: true };
  }
  const text = String(params.text ?? '');
  if (text.length > TELEGRAM_LIMIT) {
    return { error: { error_code: 400, description: 'Bad Request: message is too long' } };
  }
  return { result: true };
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

/** A press of an inline button on the bot's message `messageId` (a `callback_query` update). */
export function callbackQueryUpdate(options: {
  chatId: number;
  messageId: number;
  data: string;
  botId: number;
  from?: TestUser;
  chatType?: 'private' | 'group' | 'supergroup';
  updateId?: number;
}): Record<string, unknown> & { callback_query: { id: string; [key: string]: unknown } } {
  const id = `cbq-${Math.floor(Math.random() * 1e12)}`;
  const from = options.from ?? { id: options.chatId > 0 ? options.chatId : 4242 };
  const chatType = options.chatType ?? (options.chatId < 0 ? 'supergroup' : 'private');
  return {
    ...(options.updateId !== undefined ? { update_id: options.updateId } : {}),
    callback_query: {
      id,
      from: { is_bot: false, first_name: 'Tester', ...from },
      chat_instance: String(options.chatId),
      data: options.data,
      message: {
        message_id: options.messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: options.chatId, type: chatType },
        from: { id: options.botId, is_bot: true, first_name: 'Test Agent' },
        text: '',
      },
    },
  };
}

type TestChatType = 'private' | 'group' | 'supergroup';

/**
 * What every test message has, as the Bot API shapes it: its id, date, chat
 * and sender (the chat's own user in a private chat, a fixed one in groups),
 * and the chat's type (negative ids are supergroups unless said otherwise).
 */
export function messageEnvelope(options: {
  chatId: number;
  from?: TestUser | undefined;
  chatType?: TestChatType | undefined;
  messageId?: number | undefined;
  /** A forum topic's thread: the group is a forum. */
  threadId?: number | undefined;
}): { chatType: TestChatType; message: Record<string, unknown> } {
  const from = options.from ?? {
    id: options.chatId > 0 ? options.chatId : 4242,
    first_name: 'Tester',
  };
  const chatType = options.chatType ?? (options.chatId < 0 ? 'supergroup' : 'private');
  return {
    chatType,
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
    },
  };
}

/** A `mention` entity for each @username in `text`. */
export function mentionEntities(text: string): Array<Record<string, unknown>> {
  return [...text.matchAll(/@[a-z0-9_]{5,}/gi)].map((match) => ({
    type: 'mention',
    offset: match.index ?? 0,
    length: match[0].length,
  }));
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
  const { chatType, message } = messageEnvelope(options);
  const entities = /^\/[a-z0-9_]+/i.exec(options.text)
    ? [{ type: 'bot_command', offset: 0, length: (/^\/\S+/.exec(options.text)?.[0] ?? '').length }]
    : undefined;
  const allEntities = [...(entities ?? []), ...mentionEntities(options.text)];
  return {
    ...(options.updateId !== undefined ? { update_id: options.updateId } : {}),
    message: {
      ...message,
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
