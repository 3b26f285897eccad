import { z } from 'zod';
import type { ConfigIssue } from '../config-error.js';

export type PathSegment = string | number;

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Dotted path for messages: `agents.aws-support.tools[2]`. Keys that would be
 * ambiguous when dotted (containing dots, spaces, ...) are quoted in brackets.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (SIMPLE_KEY.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Collects problems for one file or section; the loader merges them in a fixed order. */
export class IssueSink {
  readonly issues: ConfigIssue[] = [];

  add(file: string, path: readonly PathSegment[], message: string): void {
    this.issues.push({ file, path: formatPath(path), message });
  }

  /**
   * Records every zod issue. `root` is prepended to zod's path (the section
   * name), and `input` is the parsed document, used to tell a missing field
   * from a field of the wrong type.
   */
  addZodError(file: string, root: readonly PathSegment[], error: z.ZodError, input: unknown): void {
    for (const issue of error.issues) {
      const path = issue.path.filter(
        (segment): segment is PathSegment => typeof segment !== 'symbol',
      );
      if (issue.code === 'unrecognized_keys') {
        // One line per unknown key, so the path points at the typo itself.
        for (const key of issue.keys) this.add(file, [...root, ...path, key], issue.message);
        continue;
      }
      this.add(file, [...root, ...path], describeZodIssue(issue, valueAt(input, path)));
    }
  }
}

function describeZodIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_key') {
    return issue.issues[0]?.message ?? issue.message;
  }
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
    if (value === undefined) return `required field is missing (expected ${expected})`;
    if (issue.message.startsWith('Invalid input')) {
      return `expected ${expected}, got ${describeValue(value)}`;
    }
  }
  return issue.message;
}

const EXPECTED_NAMES: Record<string, string> = {
  record: 'an object',
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value))}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(typeof value);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/**
 * `z.strictObject` whose unknown-key message lists the allowed fields, so a
 * typo's error says what it should have been.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field (allowed: ${allowed})` : undefined,
  });
}

/** A string that must not be empty or whitespace only. */
export function nonEmptyString(what = 'a non-empty string') {
  return z
    .string()
    .refine((text) => text.trim().length > 0, `expected ${what}, got an empty string`);
}
