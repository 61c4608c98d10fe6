import { RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** Name of the account stack: never of the form LumaGateway-<stage>, so no stage can take it. */
export const API_GATEWAY_ACCOUNT_STACK_NAME = 'LumaGatewayAccount';

/**
 * API Gateway's account-level setting (AWS::ApiGateway::Account): the role
 * through which every REST API of the account and region writes its access
 * and execution logs. API Gateway refuses a stage with logging while the
 * account has no such role, and the setting is a singleton: a stack per
 * stage would each overwrite it. So it is its own stack, one per account and
 * region, which every stage's stack depends on (`cdk deploy LumaGateway-<stage>`
 * deploys it first, unchanged after the first time).
 *
 * Both resources survive a delete of this stack and an update that replaces
 * them (every API of the region logs through the role), and are removed by
 * the rollback of a failed first create (RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
 * the role's name is generated, so nothing blocks a retry either way).
 */
export class ApiGatewayAccountStack extends Stack {
  readonly role: iam.Role;
  readonly accountSetting: apigateway.CfnAccount;

  constructor(scope: Construct, id: string = API_GATEWAY_ACCOUNT_STACK_NAME, props: StackProps = {}) {
    super(scope, id, {
      description: "luma-gateway: API Gateway's account-level CloudWatch Logs role (one stack per account and region)",
      ...props,
    });

    this.role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Lets API Gateway write the access and execution logs of every REST API in this account and region',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);

    this.accountSetting = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    this.accountSetting.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-documented policy for the account-level role API Gateway ' +
        'uses to write access and execution logs; only apigateway.amazonaws.com can assume the role.',
    });
  }
}
