/**
 * Everything the person talking to the agent reads from this code, in English:
 * command replies, how a turn ended, the status message of a long turn, and
 * the terminal chat. Kept in one place so the wording can be changed, and
 * another language added (a module shaped like `Texts`), without touching the
 * code that sends it. Operator-facing text (logs, settings errors, CLI usage)
 * stays next to its code.
 *
 * Texts with parameters are functions; parameters arrive already cut to a
 * safe length (see turn-progress.ts), so a text only arranges them.
 */

/** What `/status` tells about a conversation. */
export interface ConversationStatus {
  /** The current session, or null before the first turn (or after `/new`). */
  session: { id: string; idleMs: number } | null;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** How long the running turn has been running; null when none runs. */
  runningForMs: number | null;
}

const terminalHelp =
  'Commands: /new starts a fresh session, /help shows this, /quit (or Ctrl-D) leaves.';

export const en = {
  // Replies to the chat's commands.
  help: [
    'Hi! I am an AI agent. Send me a message (text, a photo, a file or a voice message) and I will work on it.',
    '',
    'Commands:',
    '/new – start a fresh conversation (I forget what we said; the files I keep for you stay)',
    '/status – session, usage and whether I am working',
    '/stop – stop what I am doing',
    '/help – this message',
  ].join('\n'),
  newSession: 'Started a new conversation. What shall we do?',
  nothingToStop: 'Nothing is running right now.',
  status: (status: ConversationStatus): string =>
    [
      status.session
        ? `Session: ${status.session.id.slice(0, 8)} (last active ${duration(status.session.idleMs)} ago)`
        : 'Session: none yet (your next message starts one)',
      `Turns: ${status.turns}`,
      `Tokens: ${count(status.inputTokens)} in, ${count(status.outputTokens)} out`,
      `Cost: $${status.costUsd.toFixed(4)}`,
      status.runningForMs === null
        ? 'Working: no'
        : `Working: yes, for ${duration(status.runningForMs)}`,
    ].join('\n'),

  // How a turn ended, when it did not end with an answer.
  /** A turn stopped with /stop (or Ctrl-C in the terminal). */
  stopped: 'Stopped.',
  /** The agent finished without saying anything. */
  emptyAnswer: '(I have nothing to add.)',
  /** Every attempt at a message failed; sent once, when the worker gives up. */
  failed:
    'Sorry, I could not answer your last message: something kept failing on my side. Please try again in a moment.',
  /** One attempt failed (the runtime's suggestion, used if it is the last). */
  turnError: 'Sorry, something went wrong while I was working on that. Please try again.',
  maxTurns:
    'I stopped because this request needed more steps than I am allowed in one turn. Ask me to continue, or narrow the request.',
  turnBudgetSpent:
    'I stopped because this request reached its spending limit for one turn. Ask me to continue, or narrow the request.',
  dailyBudgetSpent:
    'This conversation has reached its spending limit for today. It resets at midnight UTC.',
  /** The model did not answer (silent, or failing on every try); the message is not retried. */
  modelUnavailable:
    'Sorry, the AI model is not answering right now, so I could not answer your last message. It will not be retried: please send it again in a few minutes.',
  /** A turn ran past its time limit (see ModelFailureSettings.turnTimeLimitMs). */
  turnTimeLimit:
    'I had to stop: this took longer than I may work on one message. What I did so far is kept; say "continue" and I will pick up from there.',
  /** The Lambda running the turn was about to be stopped, and no continuation is left (MAX_CONTINUATIONS). */
  deadlineReached:
    'I had to stop: this took longer than I can work on one message. What I did so far is kept; say "continue" and I will pick up from there.',
  /** Said once, when a long turn first goes on in a continuation (a new run on AWS). */
  stillWorking: 'This is taking a while. I am still working on it and will answer when I am done.',
  /** To the model, not the person: the prompt of a continuation run. */
  continueInstruction:
    '(Your previous run stopped at a time limit before you finished. Continue the task from where you left off, and give your answer when you are done.)',

  /** A message the agent cannot read; `what` names it in the plural ("stickers"). */
  unsupported: (what: string): string => `Sorry, I can't handle ${what} yet. Please send me text.`,
  /** Files a person sends (photos, documents, voice, ...); see src/core/pipeline/inbound-media.ts. */
  media: {
    /** A file over the download limit: the message goes no further and nothing of it is kept. */
    tooLarge: (name: string, bytes: number | undefined, limitBytes: number): string =>
      `Sorry, ${name} is too large for me${bytes === undefined ? '' : ` (${megabytes(bytes)})`}: I take files up to ${megabytes(limitBytes)}. Nothing of your message was kept; please send a smaller file, or a link to it.`,
    /** A voice message or audio file kept as a file only: no speech-to-text service is set up. */
    noTranscription:
      "Note: I can't listen to voice messages here: that needs a transcription service, which is not set up (the operator's setting TRANSCRIPTION_URL). I kept the recording as a file in the inbox folder.",
    /** Speech-to-text failed; the recording is kept as a file. */
    transcriptionFailed:
      'Note: I could not transcribe your recording, so I kept it as a file in the inbox folder instead.',
  },
  /** How `unsupported` names each kind of content Telegram can carry (by the Bot API's field). */
  contentNames: {
    photo: 'photos',
    video: 'videos',
    animation: 'GIFs',
    document: 'files',
    audio: 'audio',
    voice: 'voice messages',
    video_note: 'video messages',
    sticker: 'stickers',
    location: 'locations',
    venue: 'venues',
    contact: 'contacts',
    poll: 'polls',
    dice: 'dice',
    game: 'games',
    story: 'stories',
    paid_media: 'paid media',
    checklist: 'checklists',
    /** An edited message (private chats only). */
    edit: 'edits to messages',
  },
  /**
   * To someone the access policy does not admit, once in a while (later
   * messages get no answer). Only their own id: how the operator lets them in
   * (settings, chat ids) goes to the log, not to a stranger.
   */
  refused: (userId: string): string =>
    `Sorry, I only talk to people my operator has allowed. Your Telegram user id is ${userId}: pass it on to the operator if you should have access.`,
  /** A message longer than one turn takes (see MAX_TEXT_CHARS); it goes no further. */
  tooLong: (length: number, limit: number): string =>
    `Sorry, your message is too long for me (${count(length)} characters; I take up to ${count(limit)} in one message). Please send it shorter, or in parts.`,
  /** The caption of `answer.md`, which holds an answer too long for chat after its first message. */
  answerAsFile: (totalChars: number): string =>
    `The whole answer (about ${count(totalChars)} characters) is too long for chat; here it is as a file.`,
  /** The last line of an `answer.md` that had to be cut too (a runaway answer). */
  answerFileCut: (shownChars: number, totalChars: number): string =>
    `(Cut here: the answer was about ${count(totalChars)} characters long; above are the first ${count(shownChars)}. Ask me for the rest, or for a shorter answer.)`,
  /** A file the agent sent that is gone before it could be delivered (a redelivery on another container). */
  fileNotDelivered: (name: string): string =>
    `I could not deliver the file ${name}: it was lost before it could be sent. Ask me to send it again.`,
  /** The conversation's files kept between messages (the workspace store). */
  workspace: {
    /** Files the last turn wrote that were not kept: they would have passed the limit. */
    notKept: (paths: string[], maxFiles: number, maxMegabytes: number): string =>
      `Note: I could not keep ${paths.length === 1 ? 'this file' : `these ${count(paths.length)} files`} from this message, because your files would have passed the limit of ${count(maxFiles)} files or ${count(maxMegabytes)} MB: ${listed(paths)}. Everything else is kept. Delete files you no longer need to make room.`,
    /** The turn's files could not be saved (storage failed); the ones from before are kept. */
    notSaved:
      'Note: I could not save the changes to your files from this message; they are as they were before it.',
    /** Saved files whose content was not found when they were restored. */
    missing: (paths: string[]): string =>
      `Note: ${paths.length === 1 ? 'one of your files was' : `${count(paths.length)} of your files were`} lost from storage and could not be restored: ${listed(paths)}.`,
  },
  /** What a pressed button of an earlier version of the bot answers. */
  staleButton: 'This button no longer does anything.',
  /** Questions the agent asks with buttons, and approvals of tools set to `ask`. */
  questions: {
    /** Below a question that also takes a typed answer. */
    typeHint: 'Tap an option, or type your answer.',
    multiHint: 'Tap the options you want, then Done.',
    done: 'Done',
    /** How a selected option of a multi-select question is marked. */
    selected: (label: string): string => `✓ ${label}`,
    /** What replaces the buttons once answered. */
    answered: (question: string, answer: string): string => `${question}\n\n→ ${answer}`,
    nothingChosen: '(nothing chosen)',
    unanswered: (question: string): string => `${question}\n\n(No answer.)`,
    /** The short notes a pressed button shows. */
    pressChosen: 'Got it.',
    pressSelected: 'Selected.',
    pressUnselected: 'Unselected.',
    pressStale: 'This question is no longer open.',
    pressNotAllowed: 'Only people allowed to talk to me here can answer.',
    /** What the agent is told when nobody answered. */
    noAnswer:
      'The person did not answer in time. Continue without their answer, using your best judgment, or ask again later.',
    noAnswerDeadline:
      'The person did not answer before this turn had to end. Continue without their answer, using your best judgment.',
    noAnswerEnded: 'The question was withdrawn: the turn was stopped.',
    noAnswerUnavailable:
      'The question could not be shown to the person. Continue without their answer, using your best judgment.',
    notHere: 'Nobody can be asked here; continue without asking.',
    /** An approval of a tool call set to `ask`. */
    approval: (tool: string, input: string): string =>
      `The agent wants to use ${tool}:\n\n${input}\n\nAllow it?`,
    allowOnce: 'Allow once',
    allowAlways: 'Always in this conversation',
    deny: 'Deny',
    /** What the model is told of a refused approval. */
    denied: (tool: string): string =>
      `The person denied this ${tool} call. Do not try it again unless they ask you to.`,
    notApproved: (tool: string, why: string): string =>
      `This ${tool} call needs the person's approval, which was not given: ${why}`,
  },
  /** The command menu Telegram shows next to the message field. */
  commandMenu: [
    { command: 'new', description: 'Start a fresh conversation' },
    { command: 'status', description: 'Session, usage, and whether I am working' },
    { command: 'stop', description: 'Stop what I am doing' },
    { command: 'help', description: 'What I can do' },
  ],

  // The status message of a long turn: a heading, then the latest steps.
  working: 'Working on it…',
  /** What the status message turns into if it cannot be deleted at the end. */
  workingDone: 'Done.',
  /**
   * The text of a message an answer part is about to be edited into (sent
   * first so a redelivered part edits it instead of appearing twice). Shown
   * for a moment only, and in the notification.
   */
  answerPlaceholder: '…',
  /** One line per step; a missing value means the step did not say (or must not show) it. */
  activity: {
    calling: (server: string, tool?: string): string =>
      tool ? `Calling ${server}: ${tool}` : `Calling ${server}`,
    reading: (file?: string): string => `Reading ${file ?? 'a file'}`,
    writing: (file?: string): string => `Writing ${file ?? 'a file'}`,
    editing: (file?: string): string => `Editing ${file ?? 'a file'}`,
    editingNotebook: (file?: string): string => `Editing ${file ?? 'a notebook'}`,
    listing: (folder?: string): string => `Listing ${folder ?? 'a folder'}`,
    findingFiles: (pattern?: string): string =>
      pattern ? `Looking for files: ${pattern}` : 'Looking for files',
    searchingFiles: (pattern?: string): string =>
      pattern ? `Searching files for "${pattern}"` : 'Searching files',
    runningCommand: (description?: string): string =>
      description ? `Running a command: ${description}` : 'Running a command',
    searchingWeb: (query?: string): string =>
      query ? `Searching the web for "${query}"` : 'Searching the web',
    fetching: (host?: string): string => `Fetching ${host ?? 'a web page'}`,
    askingSubagent: (subagent: string): string => `Asking the ${subagent} subagent`,
    usingSkill: (skill?: string): string => (skill ? `Using the ${skill} skill` : 'Using a skill'),
    sendingFile: (file?: string): string => `Sending ${file ?? 'a file'}`,
    updatingPlan: 'Updating the plan',
    usingTool: (tool: string): string => `Using ${tool}`,
    /** Fetching a file the person sent, before the turn starts. */
    downloading: (file: string): string => `Downloading ${file}`,
    transcribing: (what: 'voice' | 'audio'): string =>
      what === 'voice' ? 'Transcribing voice message' : 'Transcribing audio',
    /** A subagent's step, labelled with the subagent (when its start was seen). */
    bySubagent: (subagent: string | undefined, step: string): string =>
      `${subagent ?? 'subagent'} › ${step}`,
  },

  /** The terminal chat (`npm run chat`). */
  terminal: {
    help: terminalHelp,
    greeting: (agentDir: string): string =>
      `Chatting with the agent in ${agentDir}. ${terminalHelp}`,
    newSession: 'Started a new session.',
    /** A turn that ended without an answer or a message of its own. */
    unfinished: 'The turn did not finish.',
    /** A file the agent sent (send_file): in a terminal, only named. */
    fileSent: (name: string): string => `(file: ${name}, in the working directory)`,
    you: 'you> ',
    agent: 'agent> ',
  },
};

/** The shape every language's texts have. */
export type Texts = typeof en;

/** The language the product speaks. */
export const texts: Texts = en;

/** Up to ten paths, in code spans, then how many more. */
function listed(paths: string[]): string {
  const shown = paths.slice(0, 10).map((path) => `\`${path.replaceAll('`', "'")}\``);
  const more = paths.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${count(more)} more` : shown.join(', ');
}

/** 1536000 -> "1.5 MB". */
function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}

/** 12345 -> "12,345". */
function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** A rough duration: seconds, minutes, hours or days, whichever reads best. */
function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
