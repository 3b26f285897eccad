import type { InboundMessage } from '../../domain/inbound-message.js';
import { ALBUM_MEMORY_MS, type AlbumGate, MAX_ALBUM_ITEMS } from '../../ports/album-gate.js';

interface Album {
  admitted: boolean;
  held: InboundMessage[];
  expiresAt: number;
}

export interface InMemoryAlbumGateOptions {
  now?: () => number;
  memoryMs?: number;
  /** The most albums remembered at once; the oldest go first. */
  maxAlbums?: number;
}

/**
 * Albums for the local bot, where one process takes every update. A restart
 * forgets them, which costs at most the rest of an album arriving just then.
 */
export class InMemoryAlbumGate implements AlbumGate {
  private readonly albums = new Map<string, Album>();
  private readonly now: () => number;
  private readonly memoryMs: number;
  private readonly maxAlbums: number;

  constructor(options: InMemoryAlbumGateOptions = {}) {
    this.now = options.now ?? Date.now;
    this.memoryMs = options.memoryMs ?? ALBUM_MEMORY_MS;
    this.maxAlbums = options.maxAlbums ?? 1_000;
  }

  async admit(key: string): Promise<InboundMessage[]> {
    const album = this.album(key);
    album.admitted = true;
    return [...album.held];
  }

  async passOrHold(key: string, item: InboundMessage): Promise<boolean> {
    const album = this.album(key);
    if (album.admitted) return true;
    if (album.held.length < MAX_ALBUM_ITEMS && !album.held.some((held) => held.id === item.id)) {
      album.held.push(item);
    }
    return false;
  }

  private album(key: string): Album {
    const now = this.now();
    // Insertion order is age order: expired albums are at the front.
    for (const [oldKey, old] of this.albums) {
      if (old.expiresAt > now && this.albums.size < this.maxAlbums) break;
      this.albums.delete(oldKey);
    }
    let album = this.albums.get(key);
    if (!album) {
      album = { admitted: false, held: [], expiresAt: now + this.memoryMs };
      this.albums.set(key, album);
    }
    return album;
  }
}
