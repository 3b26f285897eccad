import { AgentError } from '../domain/errors.js';

/** One setting that is missing or invalid. */
export interface SettingIssue {
  /** The environment variable, e.g. `ANTHROPIC_API_KEY`. */
  name: string;
  message: string;
}

/**
 * Settings from the environment were missing or invalid. Lists every bad
 * setting at once, by its variable name, so the operator fixes them in one go.
 */
export class SettingsError extends AgentError {
  static override readonly errorName = 'SettingsError';
  readonly issues: readonly SettingIssue[];

  constructor(issues: readonly SettingIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.name}: ${issue.message}`);
    super(
      [
        'Invalid settings:',
        ...lines,
        'Set them in the environment or in a .env file (see .env.example).',
      ].join('\n'),
    );
    this.issues = issues;
  }
}
