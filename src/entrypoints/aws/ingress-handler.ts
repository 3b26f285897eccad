// PLACEHOLDER written by the infra session so `cdk synth` can resolve the
// entry; the lead replaces it with the real ingress handler.
export async function handler(): Promise<never> {
  throw new Error('not implemented: ingress handler placeholder');
}
