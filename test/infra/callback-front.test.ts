/**
 * The upstream's callback on its function's own URL (issue 13): off the
 * per-request-priced REST API, open (auth NONE: the per-task token is the
 * credential), no CORS, buffered; the callback URL handed upstream is this
 * URL's; the function's reserved concurrency, the URL's only cap, is off
 * unless a stage sets it; the REST route stays while callbackRestRoute is on.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { routes } from '../../functions/routes';
import { ENV, functionNamed, methodsByRoute, resourcesOf, synthStack } from './helpers';

const { template, stack } = synthStack();
const callbackRoute = routes.find((route) => route.functionName === 'callback')!;
const urls = (t: Template) => Object.entries(resourcesOf(t, 'AWS::Lambda::Url'));
const permissionsOf = (t: Template, functionId: string) =>
  Object.values(resourcesOf(t, 'AWS::Lambda::Permission'))
    .map((resource) => resource.Properties)
    .filter((properties) => properties.FunctionName?.['Fn::GetAtt']?.[0] === functionId);

describe('the callback function URL', () => {
  const callback = functionNamed(template, 'callback');

  it('is the only function URL, on the callback function: auth NONE, no CORS, buffered', () => {
    expect(callbackRoute.front).toBe('function-url');
    expect(urls(template)).toHaveLength(1);
    const [, url] = urls(template)[0];
    expect(url.Properties).toEqual({ AuthType: 'NONE', InvokeMode: 'BUFFERED', TargetFunctionArn: { 'Fn::GetAtt': [callback.id, 'Arn'] } });
    expect(url.Properties.Cors).toBeUndefined();
  });

  it('lets anyone invoke the function through its URL only (both permissions a public URL needs)', () => {
    const permissions = permissionsOf(template, callback.id);
    expect(permissions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }),
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
      ]),
    );
    // Any other public permission would open the function to direct invocation.
    expect(permissions.filter((p) => p.Principal === '*' && p.FunctionUrlAuthType === undefined && p.InvokedViaFunctionUrl !== true)).toEqual([]);
  });

  it("hands the upstream callback URLs on it, and exports it as CallbackBaseUrl", () => {
    const [urlId] = urls(template)[0];
    const base = { 'Fn::Join': ['', ['https://', { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }] }]] };
    for (const name of ['extend', 'create']) expect(functionNamed(template, name).properties.Environment.Variables[ENV.callbackBaseUrl]).toEqual(base);
    expect(template.toJSON().Outputs.CallbackBaseUrl.Value).toEqual(base);
  });

  it('leaves a callbackBaseUrl a stage sets (a custom domain) as it is', () => {
    const { template: custom } = synthStack({ context: { callbackBaseUrl: 'https://hooks.example.com/luma' } });
    expect(functionNamed(custom, 'extend').properties.Environment.Variables[ENV.callbackBaseUrl]).toBe('https://hooks.example.com/luma');
  });

  it('has no reserved concurrency by default (refused on small accounts); a stage may set one', () => {
    expect(callback.properties.ReservedConcurrentExecutions).toBeUndefined();
    const { template: capped } = synthStack({ context: { callbackReservedConcurrency: 5 } });
    expect(functionNamed(capped, 'callback').properties.ReservedConcurrentExecutions).toBe(5);
    expect(() => synthStack({ context: { callbackReservedConcurrency: 0 } })).toThrow(/callbackReservedConcurrency/);
  });

  it('keeps the same size limit and token check: the URL calls the same handler, whose body limit answers 413', () => {
    expect(callback.properties.Handler).toBe('index.handler');
    expect(stack.functions.get('callback')).toBeDefined();
  });
});

describe('the REST callback route, kept for a deprecation period', () => {
  it('stays on the REST API by default, with its own throttle', () => {
    expect(methodsByRoute(template)[`${callbackRoute.method} ${callbackRoute.path}`]).toBeDefined();
  });

  it('goes with callbackRestRoute=false, and its method throttle with it; the URL stays', () => {
    const { template: urlOnly } = synthStack({ context: { callbackRestRoute: false } });
    expect(methodsByRoute(urlOnly)[`${callbackRoute.method} ${callbackRoute.path}`]).toBeUndefined();
    const stage = Object.values(resourcesOf(urlOnly, 'AWS::ApiGateway::Stage'))[0].Properties;
    expect(stage.MethodSettings.map((setting: { ResourcePath: string }) => setting.ResourcePath)).toEqual(['/*']);
    expect(urls(urlOnly)).toHaveLength(1);
  });
});
