import type { PermissionResult } from '@anthropic-ai/claude-agent-sdk';
import type { PersonAnswer, TurnInteraction } from '../../domain/person-questions.js';
import { texts } from '../../texts/en.js';
import { shownInput } from './redact-input.js';

/** Claude Code's tool for asking the person; the host answers it (headless, it gets empty answers). */
export const ASK_USER_QUESTION = 'AskUserQuestion';

interface AskedQuestion {
  question: string;
  header: string | undefined;
  options: Array<{ label: string; description: string | undefined }>;
  multiSelect: boolean;
}

/**
 * Answers the agent's `AskUserQuestion` with the person's answers: each
 * question in turn, with its options as buttons (and a typed answer
 * accepted). Allowed with `answers` filled in, which Claude Code hands the
 * model as the tool's result; when a question goes unanswered, refused with
 * a message saying so (and what was answered before it).
 */
export async function answerUserQuestions(
  input: Record<string, unknown>,
  interaction: TurnInteraction,
  signal: AbortSignal | undefined,
): Promise<PermissionResult> {
  const questions = parseQuestions(input.questions);
  if (!questions) {
    return {
      behavior: 'deny',
      message: 'AskUserQuestion needs 1 to 4 questions, each with a question and options.',
    };
  }
  const answers: Record<string, string> = {};
  for (const asked of questions) {
    const lines = [asked.header ? `${asked.header}: ${asked.question}` : asked.question];
    const described = asked.options.filter((option) => option.description);
    if (described.length > 0) {
      lines.push('', ...described.map((option) => `• ${option.label}: ${option.description}`));
    }
    const answer = await interaction.ask(
      {
        text: lines.join('\n'),
        options: asked.options.map((option) => option.label),
        multiSelect: asked.multiSelect,
        freeText: true,
      },
      { signal },
    );
    if (answer.kind === 'unanswered') {
      const before = Object.entries(answers).map(([q, a]) => `"${q}"="${a}"`);
      return {
        behavior: 'deny',
        message: [
          noAnswerText(answer.reason),
          ...(before.length > 0 ? [`Answered before that: ${before.join(', ')}.`] : []),
        ].join(' '),
      };
    }
    answers[asked.question] =
      answer.kind === 'text'
        ? answer.text
        : answer.indexes.map((index) => asked.options[index]?.label ?? '').join(', ');
  }
  return { behavior: 'allow', updatedInput: { ...input, answers } };
}

export type ApprovalOutcome = { allow: true } | { allow: false; reason: string };

/**
 * Asks the person whether a tool call the policy marks `ask` may run:
 * Allow once, Always in this conversation (remembered under `key`), Deny.
 * The input is shown redacted and cut (redact-input.ts).
 */
export async function approveToolCall(request: {
  toolName: string;
  input: Record<string, unknown>;
  /** What "Always" allows from now on: the tool, or the tool with this command or host. */
  key: string;
  interaction: TurnInteraction;
  secrets: readonly string[];
  signal?: AbortSignal | undefined;
}): Promise<ApprovalOutcome> {
  const { toolName, interaction } = request;
  if (await interaction.isGranted(request.key)) return { allow: true };
  const answer = await interaction.ask(
    {
      text: texts.questions.approval(
        toolName,
        shownInput(toolName, request.input, request.secrets),
      ),
      options: [texts.questions.allowOnce, texts.questions.allowAlways, texts.questions.deny],
      multiSelect: false,
      freeText: false,
    },
    { signal: request.signal },
  );
  if (answer.kind !== 'chosen') {
    const why = answer.kind === 'unanswered' ? noAnswerText(answer.reason) : '';
    return { allow: false, reason: texts.questions.notApproved(toolName, why) };
  }
  const [choice] = answer.indexes;
  if (choice === 1) await interaction.grant(request.key);
  if (choice === 0 || choice === 1) return { allow: true };
  return { allow: false, reason: texts.questions.denied(toolName) };
}

function noAnswerText(reason: Extract<PersonAnswer, { kind: 'unanswered' }>['reason']): string {
  switch (reason) {
    case 'timeout':
      return texts.questions.noAnswer;
    case 'deadline':
      return texts.questions.noAnswerDeadline;
    case 'ended':
      return texts.questions.noAnswerEnded;
    case 'unavailable':
      return texts.questions.noAnswerUnavailable;
  }
}

function parseQuestions(value: unknown): AskedQuestion[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 4) return undefined;
  const questions: AskedQuestion[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { question, header, options, multiSelect } = item as Record<string, unknown>;
    if (typeof question !== 'string' || question.trim() === '') return undefined;
    if (!Array.isArray(options) || options.length === 0 || options.length > 10) return undefined;
    const parsed: AskedQuestion['options'] = [];
    for (const option of options) {
      const label = (option as { label?: unknown } | null)?.label;
      const description = (option as { description?: unknown } | null)?.description;
      if (typeof label !== 'string' || label.trim() === '') return undefined;
      parsed.push({
        label,
        description: typeof description === 'string' ? description : undefined,
      });
    }
    questions.push({
      question,
      header: typeof header === 'string' && header.trim() !== '' ? header : undefined,
      options: parsed,
      multiSelect: multiSelect === true,
    });
  }
  return questions;
}
