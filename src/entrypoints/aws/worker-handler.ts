// PLACEHOLDER written by the infra session so `cdk synth` can resolve the
// entry; the lead replaces it with the real worker handler.
export async function handler(): Promise<never> {
  throw new Error('not implemented: worker handler placeholder');
}
