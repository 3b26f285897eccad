/**
 * Exit codes of every command this package ships (`npm start`, the chat,
 * `register-webhook`), one convention for all, after BSD's sysexits:
 * a supervisor (systemd, Docker's restart policy) can tell "fix the
 * configuration" from "crashed, try again".
 */
export const EXIT_OK = 0;
/** Something failed at run time; restarting may help. */
export const EXIT_FAILURE = 1;
/** The command line was wrong (unknown flag, missing value). */
export const EXIT_USAGE = 2;
/** A setting or the agent directory is invalid (EX_CONFIG); restarting will not help. */
export const EXIT_CONFIG = 78;
