import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface UpstreamSecretProps {
  /** Import an existing secret by name (context `upstreamSecretName`). */
  readonly existingSecretName?: string;
  /** Import an existing secret by its complete ARN (context `upstreamSecretArn`). */
  readonly existingSecretArn?: string;
  /**
   * Removal policy of a placeholder secret created by the stack. Its name is
   * generated (never fixed): a retained secret left by a failed first create
   * must not block the retry.
   */
  readonly removalPolicy: RemovalPolicy;
}

/** A complete secret ARN ends with the 6-character suffix Secrets Manager adds to the name. */
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * The upstream video API key, in Secrets Manager. Either an existing secret
 * (by name or complete ARN) or, by default, a placeholder the stack creates
 * with a random value and a generated name (the stack's UpstreamSecretArn
 * output), which the operator replaces with the real key. The secret string
 * is the key itself (or JSON with an `api_key` field).
 */
export class UpstreamSecret extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** What functions pass as SecretId (ENV.upstreamSecretId): the ARN, or the name when imported by name. */
  readonly secretId: string;
  /** Resource for IAM statements: matches exactly this secret (name-?????? when imported by name). */
  readonly policyResource: string;
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: UpstreamSecretProps) {
    super(scope, id);
    if (props.existingSecretName && props.existingSecretArn) {
      throw new Error('set either upstreamSecretName or upstreamSecretArn, not both');
    }

    if (props.existingSecretArn) {
      if (!COMPLETE_SECRET_ARN.test(props.existingSecretArn)) {
        throw new Error(
          `upstreamSecretArn must be a complete Secrets Manager secret ARN (ending in -XXXXXX), got ${props.existingSecretArn}; use upstreamSecretName to import by name`,
        );
      }
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.existingSecretArn);
      this.secretId = props.existingSecretArn;
      this.policyResource = props.existingSecretArn;
      this.created = false;
    } else if (props.existingSecretName) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', props.existingSecretName);
      this.secretId = props.existingSecretName;
      // The ARN of a secret known by name ends with a random 6-character suffix.
      this.policyResource = Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${props.existingSecretName}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.created = false;
    } else {
      const placeholder = new secretsmanager.Secret(this, 'Secret', {
        description:
          'luma-gateway upstream video API key. The stack created this placeholder with a random value: ' +
          'put the upstream key here (aws secretsmanager put-secret-value --secret-id <this secret> --secret-string <key>).',
        generateSecretString: { excludePunctuation: true, passwordLength: 32 },
        removalPolicy: props.removalPolicy,
      });
      Validations.of(placeholder).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The secret holds a third-party API key that only the upstream provider can issue, so no rotation Lambda can ' +
          'rotate it; the operator rotates it by hand and the functions re-read the secret when the upstream answers 401.',
      });
      this.secret = placeholder;
      this.secretId = placeholder.secretArn;
      this.policyResource = placeholder.secretArn;
      this.created = true;
    }
  }

  /** Lets a function read the key: GetSecretValue on this secret only. */
  grantRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.policyResource],
    });
  }
}
