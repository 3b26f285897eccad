import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../../domain/errors.js';
import { asOutgoingFile } from '../../domain/outgoing-file.js';
import type { OutgoingPart } from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';

/**
 * Deletes the staged copies an outbox entry's file parts point at, once the
 * entry is settled (all sent, or given up): nothing will send them again. The
 * turn's staging directory goes too once it is empty. Only the exact paths
 * the runtime wrote into the entry are touched. Never throws.
 */
export async function discardStagedFiles(
  parts: readonly OutgoingPart[],
  logger: Logger = silentLogger,
): Promise<void> {
  for (const part of parts) {
    const file = asOutgoingFile(part);
    if (!file || !('path' in file)) continue;
    try {
      await rm(file.path, { force: true });
      await rmdir(path.dirname(file.path)).catch(() => {
        // Other files of the turn are still there (or it is gone already).
      });
    } catch (error) {
      logger.warn('could not delete a staged file', { error: errorMessage(error) });
    }
  }
}
