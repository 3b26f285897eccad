/**
 * One turn per conversation at a time across processes that share no memory
 * (Lambda instances): a lease per conversation, with a fencing token. The local
 * deployment needs none (its job queue hands a lane to one worker at a time).
 */
export interface Lease {
  conversationId: string;
  owner: string;
  /** The lease lapses at this instant, epoch ms, unless renewed. */
  expiresAt: number;
  /** Increases with every acquisition of this conversation's lease. */
  token: number;
}

export interface ConversationLease {
  /** Take the lease for `durationMs`; null if another owner holds an unexpired one. The same owner re-acquires. */
  acquire(conversationId: string, owner: string, durationMs: number): Promise<Lease | null>;
  /** Extend a held lease; null if it was lost (taken over after lapsing, or released). */
  renew(lease: Lease, durationMs: number): Promise<Lease | null>;
  /** Give the lease back; false if it was no longer this holder's. */
  release(lease: Lease): Promise<boolean>;
}
