import { App } from 'aws-cdk-lib';
import { AgentStack } from '../lib/agent-stack.js';
import { InfraConfigError, loadInfraConfig } from '../lib/config.js';
import { DEFAULT_CONFIG_FILE } from '../lib/paths.js';

/**
 * `npx cdk synth|deploy` runs this (cdk.json). Config: infra/config.json
 * (or the file named by INFRA_CONFIG_FILE, which must then exist) plus
 * INFRA_* overrides; see infra/README.md.
 */
function main(): void {
  const explicitFile = process.env.INFRA_CONFIG_FILE;
  const config = loadInfraConfig({
    env: process.env,
    file: explicitFile ?? DEFAULT_CONFIG_FILE,
    requireFile: explicitFile !== undefined,
  });
  const app = new App();
  new AgentStack(app, config.stackName, {
    config,
    env: { account: config.account, region: config.region },
    description: 'Claude agent behind Telegram: webhook, FIFO queue, worker, DynamoDB + S3',
  });
  app.synth();
}

try {
  main();
} catch (error) {
  if (error instanceof InfraConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
