import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentConfig } from '../../config/agent-config.js';

/** Skills reach the model as `agent:<name>`, the plugin's namespace. */
export const SKILLS_PLUGIN_NAME = 'agent';

/**
 * Claude Code finds skills in its config directory or in plugins. The config
 * directory is no good here: on resume the SDK swaps in a directory of its own
 * (to materialise the transcript), and skills left in ours would vanish. A
 * local plugin is passed by path on every turn, so the skills are there on the
 * first turn and on every resumed one. The plugin holds nothing but a link to
 * the configured `skills/` folder.
 */
export async function createSkillsPlugin(
  config: AgentConfig,
  parent: string,
): Promise<string | undefined> {
  if (!config.skillsDir || config.skills.length === 0) return undefined;
  const dir = await mkdtemp(join(parent, 'agent-skills-'));
  await mkdir(join(dir, '.claude-plugin'));
  await writeFile(
    join(dir, '.claude-plugin', 'plugin.json'),
    JSON.stringify({
      name: SKILLS_PLUGIN_NAME,
      version: '1.0.0',
      description: 'Skills from the agent directory',
    }),
  );
  await symlink(config.skillsDir, join(dir, 'skills'), 'dir');
  return dir;
}
