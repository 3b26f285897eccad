import { z } from 'zod';
import type { AccessPolicy } from '../domain/access-policy.js';
import { type SettingIssue, SettingsError } from './settings-error.js';

/**
 * zod pieces for settings read from environment variables, shared by the
 * runtime's, the local server's and the Lambda handlers' settings so that a
 * variable means the same and is checked the same wherever it is read.
 */

/**
 * Environment variables, passed in (process.env at the entry points), never
 * read implicitly: settings, `${VAR}` references in agent files, tests.
 */
export type Env = Record<string, string | undefined>;

/** A variable's text, trimmed; unset or blank reads as absent. */
export const optionalText = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .optional();

export const httpUrl = optionalText.pipe(z.url({ message: 'expected an http(s) URL' }).optional());

export const flag = optionalText.pipe(
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'expected true or false' })
    .transform((value) => value === '1' || value === 'true' || value === 'yes')
    .optional(),
);

/** Comma- or space-separated Telegram ids; chat ids of groups are negative. */
export function idList(options: { allowNegative: boolean }) {
  const what = options.allowNegative ? 'integers (group ids are negative)' : 'positive integers';
  return optionalText.pipe(
    z
      .string()
      .transform((value) => value.split(/[\s,]+/).filter(Boolean))
      .pipe(
        z.array(
          z.string().regex(options.allowNegative ? /^-?\d+$/ : /^\d+$/, {
            message: `expected a comma-separated list of ${what}`,
          }),
        ),
      )
      .optional(),
  );
}

/** The allowlist variables: the local server and the Lambda ingress read them alike. */
export const accessVariables = {
  TELEGRAM_ALLOWED_USER_IDS: idList({ allowNegative: false }),
  TELEGRAM_ALLOWED_CHAT_IDS: idList({ allowNegative: true }),
  TELEGRAM_ALLOW_EVERYONE: flag,
};

export function accessPolicyFrom(values: {
  TELEGRAM_ALLOWED_USER_IDS?: string[] | undefined;
  TELEGRAM_ALLOWED_CHAT_IDS?: string[] | undefined;
  TELEGRAM_ALLOW_EVERYONE?: boolean | undefined;
}): AccessPolicy {
  return {
    allowedUserIds: new Set(values.TELEGRAM_ALLOWED_USER_IDS ?? []),
    allowedChatIds: new Set(values.TELEGRAM_ALLOWED_CHAT_IDS ?? []),
    openToAll: values.TELEGRAM_ALLOW_EVERYONE ?? false,
  };
}

export function wholeNumber(min: number, max: number) {
  const message = `expected a whole number from ${min} to ${max}`;
  return optionalText.pipe(
    z.coerce
      .number<string | undefined>({ message })
      .int(message)
      .min(min, message)
      .max(max, message)
      .optional(),
  );
}

export const tenantName = optionalText.pipe(
  z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, {
      message: 'expected up to 64 characters of A-Z, a-z, 0-9, ., _ and -',
    })
    .optional(),
);

/** Parses the environment, or throws one SettingsError naming every bad variable. */
export function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issues: SettingIssue[] = parsed.error.issues.map((issue) => ({
    name: String(issue.path[0] ?? '?'),
    message: issue.message,
  }));
  throw new SettingsError(issues);
}
