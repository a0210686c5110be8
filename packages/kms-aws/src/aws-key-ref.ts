import { checkKeyRefInput, InvalidKeyRefError, type KeyRefBase } from '@byok/kms';

/** Name AWS KMS keys are registered under. */
export const AWS_PROVIDER = 'aws-kms';

/** AWS KMS key or alias ARN. Multi-Region keys have ids starting with `mrk-`. */
export interface AwsKeyRef extends KeyRefBase {
  readonly provider: 'aws-kms';
  readonly kind: 'key' | 'alias';
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** Key id (`key/1234abcd-...`, `key/mrk-...`) or alias name (`alias/...`). */
  readonly resource: string;
  readonly multiRegion: boolean;
}

const AWS_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):(key\/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|alias\/[A-Za-z0-9/_-]{1,250})$/;

/** Parses a key ARN or alias ARN, refusing AWS managed aliases; throws {@link InvalidKeyRefError}. */
export function parseAwsKeyRef(input: string): AwsKeyRef {
  checkKeyRefInput(AWS_PROVIDER, input);
  const m = AWS_ARN.exec(input);
  if (!m) {
    throw new InvalidKeyRefError(
      AWS_PROVIDER,
      input,
      'expected a key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID) or alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME)',
    );
  }
  const [, partition, region, account, resource] = m as unknown as [string, string, string, string, string];
  if (resource === 'alias/aws' || resource.startsWith('alias/aws/')) {
    throw new InvalidKeyRefError(
      AWS_PROVIDER,
      input,
      'AWS managed keys (alias/aws/*) are not customer managed keys',
    );
  }
  return {
    provider: AWS_PROVIDER,
    uri: input,
    kind: resource.startsWith('alias/') ? 'alias' : 'key',
    partition,
    region,
    account,
    resource,
    multiRegion: resource.startsWith('key/mrk-'),
  };
}
