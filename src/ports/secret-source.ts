/**
 * Where the Lambda handlers get secret values (bot token, webhook secret, Anthropic
 * key) at run time, by Secrets Manager ARN. An interface so tests and other
 * hosts can hand values in without AWS.
 */
export interface SecretSource {
  /** The secret's string value; throws if it cannot be read or is empty. */
  get(arn: string): Promise<string>;
}
