import { HTTP_TOOL } from './mcp/mcp-test-servers.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  type ScriptedReply,
  toolResults,
} from './scripted-model-server.js';

/**
 * What the tests of questions and approvals share: the questions the agent
 * asks (AskUserQuestion's input), an agent whose HTTP MCP tool is set to
 * `ask`, and a model that asks, then says what the tool gave it.
 */

/** One AskUserQuestion question: `options` maps each button's label to its description. */
export function choiceQuestion(
  question: string,
  header: string,
  options: Record<string, string>,
  { multiSelect = false }: { multiSelect?: boolean } = {},
) {
  return {
    question,
    header,
    multiSelect,
    options: Object.entries(options).map(([label, description]) => ({ label, description })),
  };
}

const COLOUR_QUESTION = choiceQuestion('Which colour should the logo be?', 'Colour', {
  Red: 'Warm',
  Blue: 'Calm',
});

/** The `dir` server's HTTP tool, as the agent names it. */
const ASKED_TOOL = `mcp__dir__${HTTP_TOOL}`;

/** Agent files: the HTTP MCP server at `url` as `dir`, its tool to be approved by the person. */
export function askingAgentFiles(url: string): Record<string, string> {
  return {
    'mcp.json': JSON.stringify({ mcpServers: { dir: { type: 'http', url } } }),
    'policy.json': JSON.stringify({ tools: { mcp: { [ASKED_TOOL]: 'ask' } } }),
  };
}

/**
 * The model of these tests: after a tool, what the tool said; asked to pick
 * a colour, the colour question; asked to look something up, the `dir` tool
 * with `lookupKey`; else an echo.
 */
export function askingModel(lookupKey: string): (request: RecordedRequest) => ScriptedReply {
  return (request) => {
    const last = toolResults(request).at(-1);
    if (last) return reply.text(`tool said: ${last.isError ? 'ERROR ' : ''}${last.text}`);
    const text = lastUserText(request);
    if (text.includes('pick a colour'))
      return reply.toolUse('AskUserQuestion', { questions: [COLOUR_QUESTION] });
    if (text.includes('look something up')) return reply.toolUse(ASKED_TOOL, { key: lookupKey });
    return reply.text(`echo: ${text}`);
  };
}
