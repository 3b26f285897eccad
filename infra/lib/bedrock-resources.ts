/**
 * The IAM resources a role needs to invoke a Bedrock model by the id Claude
 * Code sends. The trap: a cross-region inference profile (`us.anthropic...`)
 * routes to the foundation model in any region of its geography, and each
 * of those invocations is authorised too, so the foundation model must be
 * allowed in every region (`*`), while the profile itself is allowed only in
 * the stack's region. Global profiles also route to the region-less ARN.
 */

const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/;

export interface BedrockArnContext {
  partition: string;
  region: string;
  account: string;
}

export function bedrockResourceArns(
  modelIds: readonly string[],
  context: BedrockArnContext,
): string[] {
  const arns = new Set<string>();
  const { partition, region, account } = context;
  for (const id of modelIds) {
    if (id.startsWith('arn:')) {
      // An application inference profile or provisioned model: the operator
      // lists its foundation models too, as extra ids.
      arns.add(id);
      continue;
    }
    const profile = PROFILE_PREFIX.exec(id);
    if (profile) {
      const [, geography, foundationModel] = profile;
      arns.add(`arn:${partition}:bedrock:${region}:${account}:inference-profile/${id}`);
      arns.add(`arn:${partition}:bedrock:*::foundation-model/${foundationModel}`);
      if (geography === 'global')
        arns.add(`arn:${partition}:bedrock:::foundation-model/${foundationModel}`);
      continue;
    }
    arns.add(`arn:${partition}:bedrock:${region}::foundation-model/${id}`);
  }
  return [...arns];
}
