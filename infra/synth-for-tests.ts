import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentStack } from './lib/agent-stack.js';
import { type InfraConfigInput, parseInfraConfig } from './lib/config.js';
import { REPO_ROOT } from './lib/paths.js';

/**
 * Synthesizes the stack the way `cdk synth` does (cdk.json's feature flags)
 * but without running esbuild: the assertions are about the template, and
 * `npm run synth` exercises the real bundling. Docker is never needed: the
 * worker image asset is only staged.
 */
export function synthTemplate(input: InfraConfigInput = {}): {
  stack: AgentStack;
  template: Template;
} {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const config = parseInfraConfig(input);
  const stack = new AgentStack(app, config.stackName, {
    config,
    env: { account: config.account ?? '123456789012', region: config.region ?? 'us-east-1' },
  });
  return { stack, template: Template.fromStack(stack) };
}

type Json = unknown;

/** Every `Ref` / `Fn::GetAtt` logical id inside a CloudFormation value. */
export function referencedIds(value: Json): string[] {
  const ids: string[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, Json>;
    if (typeof record.Ref === 'string') ids.push(record.Ref);
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') ids.push(getAtt[0]);
    for (const child of Object.values(record)) walk(child);
  };
  walk(value);
  return ids;
}
