import { Fn } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../functions/routes';

export interface FunctionUrlFrontProps {
  /** The open route this URL serves (functions/routes.ts, front 'function-url'). */
  readonly route: RouteDefinition;
  readonly handler: lambda.IFunction;
}

/**
 * An open route on its function's own Lambda Function URL instead of the
 * per-request-priced REST API: auth NONE (the handler checks the route's own
 * credential, the callback token), no CORS (only servers call it), buffered
 * answers. What the URL lacks, the function does: it matches the route and
 * writes a token-free access line (functions/http/function-url.ts), and its
 * reserved concurrency, when a stage sets one, is the URL's only cap.
 */
export class FunctionUrlFront extends Construct {
  readonly url: lambda.FunctionUrl;
  /** https://<id>.lambda-url.<region>.on.aws, without the trailing slash the URL ends in. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: FunctionUrlFrontProps) {
    super(scope, id);
    const { route } = props;
    if (route.auth !== 'none') {
      throw new Error(`${route.method} ${route.path}: a Function URL has no authorizer; only an open route (auth 'none') can be served by one`);
    }
    this.url = new lambda.FunctionUrl(this, 'Url', {
      function: props.handler,
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    // "https://<id>.lambda-url.<region>.on.aws/" -> its host, so that base + route path has one slash.
    this.baseUrl = Fn.join('', ['https://', Fn.select(2, Fn.split('/', this.url.url))]);
  }
}
