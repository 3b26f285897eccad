/**
 * Which turns are running, and a way to stop one (`/stop`). The worker that
 * runs a turn registers it; a control message for the same conversation, handled
 * while the turn runs, asks for it to stop.
 */
export interface RunningTurn {
  /** Aborted when someone asks the turn to stop. */
  signal: AbortSignal;
  /** The turn is over (always call, also on failure). */
  end(): void;
}

export interface TurnControl {
  begin(conversationId: string): RunningTurn;
  /** When the conversation's running turn started (epoch ms), or null if none runs. */
  runningSince(conversationId: string): Promise<number | null>;
  /** Ask the running turn to stop. False if none was running. */
  requestStop(conversationId: string): Promise<boolean>;
}
