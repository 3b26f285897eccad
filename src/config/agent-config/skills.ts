import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../../domain/errors.js';
import { errorCode, readText } from './files.js';
import { parseFrontmatter } from './frontmatter.js';
import { type IssueSink, nonEmptyString } from './issues.js';
import { kebabName } from './names.js';

export const SKILLS_DIR = 'skills';
const SKILL_FILE = 'SKILL.md';

/** A skill found under `skills/<name>/SKILL.md`. */
export interface SkillInfo {
  name: string;
  /** When Claude should use the skill; shown to the model to pick skills. */
  description: string;
  /** Absolute path of the skill's directory. */
  dir: string;
}

export interface LoadedSkills {
  skills: SkillInfo[];
  /** Absolute path of `skills/`, or null when there are no skills to expose. */
  skillsDir: string | null;
}

// Other frontmatter keys (allowed-tools, license, ...) belong to Claude Code
// and are passed through untouched, so the object is loose, not strict.
const frontmatterSchema = z.looseObject({
  name: kebabName('skill'),
  // Claude Code caps skill descriptions at 1024 characters.
  description: nonEmptyString('a description of when to use the skill').pipe(
    z.string().max(1024, 'expected a description of at most 1024 characters'),
  ),
});

/** Finds and checks every skill under `skills/`; problems go to `sink`. */
export async function loadSkills(dir: string, sink: IssueSink): Promise<LoadedSkills> {
  const skillsDir = path.join(dir, SKILLS_DIR);
  let entries: string[];
  try {
    entries = await readdir(skillsDir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return { skills: [], skillsDir: null };
    sink.add(
      SKILLS_DIR,
      ['skills'],
      code === 'ENOTDIR'
        ? 'expected a directory of skills, found a file'
        : `cannot read the directory: ${errorMessage(error)}`,
    );
    return { skills: [], skillsDir: null };
  }

  const skills: SkillInfo[] = [];
  // Sorted so the list, and the order of problems, do not depend on the file system.
  for (const entry of entries.sort()) {
    if (entry.startsWith('.')) continue;
    const skillDir = path.join(skillsDir, entry);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(skillDir)).isDirectory();
    } catch (error) {
      sink.add(`${SKILLS_DIR}/${entry}`, ['skills', entry], `cannot read: ${errorMessage(error)}`);
      continue;
    }
    // Loose files (a README, say) sit beside skills harmlessly; only directories are skills.
    if (!isDirectory) continue;
    const skill = await loadSkill(entry, skillDir, sink);
    if (skill) skills.push(skill);
  }
  return { skills, skillsDir: skills.length > 0 ? skillsDir : null };
}

async function loadSkill(
  dirName: string,
  skillDir: string,
  sink: IssueSink,
): Promise<SkillInfo | undefined> {
  const file = `${SKILLS_DIR}/${dirName}/${SKILL_FILE}`;
  const at = ['skills', dirName];
  const read = await readText(path.join(skillDir, SKILL_FILE));
  if (read.kind === 'missing') {
    sink.add(file, at, `expected a ${SKILL_FILE} in every skill directory; it is missing`);
    return undefined;
  }
  if (read.kind === 'unreadable') {
    sink.add(file, at, `cannot read the file: ${read.reason}`);
    return undefined;
  }
  const frontmatter = parseFrontmatter(read.text);
  if (!frontmatter.ok) {
    sink.add(
      file,
      at,
      `${frontmatter.reason}; a SKILL.md starts with frontmatter holding at least name and description`,
    );
    return undefined;
  }
  const parsed = frontmatterSchema.safeParse(frontmatter.data);
  if (!parsed.success) {
    sink.addZodError(file, at, parsed.error, frontmatter.data);
    return undefined;
  }
  const { name, description } = parsed.data;
  if (name !== dirName) {
    // Claude Code finds a skill by its directory, so the two must agree.
    sink.add(
      file,
      [...at, 'name'],
      `expected the name to equal the directory name "${dirName}", got "${name}"`,
    );
    return undefined;
  }
  return { name, description, dir: skillDir };
}
