/**
 * The IAM resources a role needs to invoke a Bedrock model by the id Claude
 * Code sends. The trap: a cross-region inference profile (`us.anthropic...`)
 * routes to the foundation model in any region of its geography, and each
 * of those invocations is authorised too, so the foundation model must be
 * allowed in every region (`*`), while the profile itself is allowed only in
 * the stack's region. Global profiles also route to the region-less ARN.
 */

const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/;

/**
 * The regions a cross-region inference profile can be called from, by its
 * prefix: a geographic profile works only from a region of its geography
 * (`us.` from us-east-1 but not from eu-west-1 or ca-central-1), a global
 * one from any commercial region. Bedrock answers a call from elsewhere
 * with a ValidationException on every turn, so synth refuses it instead.
 */
const PROFILE_SOURCE_REGIONS: Record<string, { test(region: string): boolean; where: string }> = {
  us: { test: (r) => /^us-(east|west)-\d$/.test(r), where: 'US regions (us-east-*, us-west-*)' },
  'us-gov': { test: (r) => r.startsWith('us-gov-'), where: 'AWS GovCloud (US) regions' },
  eu: { test: (r) => r.startsWith('eu-'), where: 'European regions (eu-*)' },
  apac: { test: (r) => r.startsWith('ap-'), where: 'Asia Pacific regions (ap-*)' },
  jp: {
    test: (r) => r === 'ap-northeast-1' || r === 'ap-northeast-3',
    where: 'ap-northeast-1 and ap-northeast-3',
  },
  au: {
    test: (r) => r === 'ap-southeast-2' || r === 'ap-southeast-4',
    where: 'ap-southeast-2 and ap-southeast-4',
  },
  ca: { test: (r) => r.startsWith('ca-'), where: 'Canadian regions (ca-*)' },
  global: {
    test: (r) => !/^(us-gov-|us-iso|cn-)/.test(r),
    where: 'commercial regions',
  },
};

/** Whether a profile of this prefix (`us`, `eu`, ...) can be called from the region. */
export function profileWorksIn(prefix: string, region: string): boolean {
  return PROFILE_SOURCE_REGIONS[prefix]?.test(region) ?? false;
}

/**
 * Why a model id cannot be called from the region, or undefined if it can
 * (plain model ids and ARNs are not checked: they name their own region).
 */
export function profileRegionProblem(modelId: string, region: string): string | undefined {
  const prefix = PROFILE_PREFIX.exec(modelId)?.[1];
  if (prefix === undefined || profileWorksIn(prefix, region)) return undefined;
  const rule = PROFILE_SOURCE_REGIONS[prefix];
  const rest = modelId.slice(prefix.length + 1);
  const own = ['us', 'eu', 'apac', 'jp', 'au', 'ca'].filter((p) => profileWorksIn(p, region));
  const suggestion =
    own.length > 0
      ? `use ${own.map((p) => `"${p}.${rest}"`).join(' or ')}, or "global.${rest}"`
      : `use "global.${rest}" or a model available in ${region}`;
  return `the "${prefix}." inference profile can only be called from ${rule?.where ?? 'its geography'}, not from ${region}: ${suggestion}`;
}

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
