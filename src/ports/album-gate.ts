import type { InboundMessage } from '../domain/inbound-message.js';

/**
 * Albums in groups. A group message reaches the bot only when it mentions
 * the bot or replies to it, and in an album (a Telegram media group: one
 * update per photo, within about a second) only the captioned item does.
 * The gate remembers, for a few minutes, which albums had an item for the
 * bot, so that their other items are taken too; items that come before that
 * one are held back until it does (or forgotten with the album).
 *
 * Keys name an album within one chat (see albumKey). In memory locally (one
 * process takes every update); DynamoDB with a TTL on AWS, where each item
 * may reach another ingress Lambda. Each call is one atomic step, so an
 * item held at the same moment as its album is admitted is taken by one of
 * the two calls, or by both (the update dedupe then drops the second).
 */
export interface AlbumGate {
  /**
   * An item of album `key` was for the bot: remember the album as admitted.
   * Returns the items held back so far (oldest first), for the caller to
   * take before this one. A redelivered update may get them again.
   */
  admit(key: string): Promise<InboundMessage[]>;
  /**
   * An item of album `key` that was not for the bot: true when the album is
   * admitted (take the item now); otherwise the item is held back and false.
   */
  passOrHold(key: string, item: InboundMessage): Promise<boolean>;
}

/** How long an album is remembered: its items arrive within seconds. */
export const ALBUM_MEMORY_MS = 5 * 60 * 1000;

/** Telegram albums have at most ten items; more held items are a sign of abuse and are dropped. */
export const MAX_ALBUM_ITEMS = 10;
