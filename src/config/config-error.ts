import { AgentError } from '../domain/errors.js';

/** One problem found in the agent configuration directory. */
export interface ConfigIssue {
  /**
   * The file at fault, relative to the configuration directory
   * (`agents.json`, `skills/hello-world/SKILL.md`); the directory itself when
   * it cannot be read at all.
   */
  file: string;
  /**
   * Where in the loaded configuration the problem sits, as a dotted path rooted
   * at the section (`agents.aws-support.prompt_file`, `mcpServers.docs.url`,
   * `policy.maxTurns`); empty when the whole file is at fault.
   */
  path: string;
  /** What was expected, and what was found instead. */
  message: string;
}

/**
 * The agent configuration could not be loaded. Thrown once, with every problem
 * found, so whoever edits the directory can fix them all in one pass instead of
 * one restart per typo.
 */
export class AgentConfigError extends AgentError {
  static override readonly errorName = 'AgentConfigError';
  /** Absolute path of the configuration directory that was loaded. */
  readonly dir: string;
  readonly issues: readonly ConfigIssue[];

  constructor(dir: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(formatIssues(dir, issues), options);
    this.dir = dir;
    this.issues = issues;
  }
}

function formatIssues(dir: string, issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map(
    (issue) => `  - ${issue.file}${issue.path ? ` at ${issue.path}` : ''}: ${issue.message}`,
  );
  return [`Invalid agent configuration in ${dir} (${count}):`, ...lines].join('\n');
}
