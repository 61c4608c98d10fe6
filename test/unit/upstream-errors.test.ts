import { upstreamHttpError, upstreamReason, upstreamTransportError } from '#adapters/upstream/http-client';
import { clientView } from '../support/client-view';
import { fixtureText } from '../support/fixtures';

describe('upstream error mapping', () => {
  it('reads the reason out of every error shape', () => {
    expect(upstreamReason(fixtureText('error-400-detail-object.json'))).toBe('invalid request body');
    expect(upstreamReason(fixtureText('error-401-detail-string.json'))).toBe('Invalid API key is provided');
    expect(upstreamReason(fixtureText('error-500-panic.json'))).toMatch(/^Panic detected/);
    expect(upstreamReason('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(upstreamReason('{"detail":[{"msg":"field required"}]}')).toBe('field required');
  });

  it('never echoes a bearer credential', () => {
    expect(upstreamReason('{"detail":"bad header Bearer sk-live-123"}')).toBe('bad header Bearer [redacted]');
  });

  it.each([
    [400, fixtureText('error-400-detail-object.json'), 400, 40001, 'the upstream rejected the request: invalid request body'],
    [422, '{"detail":[{"msg":"field required"}]}', 400, 40001, 'the upstream rejected the request: field required'],
    [401, fixtureText('error-401-detail-string.json'), 502, 50200, "the upstream rejected the gateway's credentials"],
    [403, '', 502, 50200, "the upstream rejected the gateway's credentials"],
    [404, '{"detail":"Not found"}', 404, 40400, 'the upstream does not know that generation'],
    [429, '{"detail":"slow down"}', 503, 50300, 'the upstream is throttling requests'],
    [500, fixtureText('error-500-panic.json'), 502, 50200, 'the upstream answered HTTP 500: Panic detected'],
    [503, 'Service Unavailable', 503, 50300, 'the upstream is unavailable (HTTP 503)'],
  ])('maps HTTP %i', (status, body, expectedStatus, code, message) => {
    const error = clientView(upstreamHttpError(status, body));
    expect(error).toMatchObject({ status: expectedStatus, code });
    expect(error.message).toContain(message);
  });

  it('passes Retry-After on throttling', () => {
    expect(clientView(upstreamHttpError(429, '', '7')).headers).toEqual({ 'Retry-After': '7' });
    expect(clientView(upstreamHttpError(429, '', 'garbage')).headers).toEqual({});
  });

  it('maps timeouts, refusals and resets', () => {
    expect(clientView(upstreamTransportError(Object.assign(new Error('t'), { name: 'TimeoutError' }), 10_000))).toMatchObject({ status: 504, message: 'the upstream did not answer within 10 s' });
    expect(clientView(upstreamTransportError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }), 1000)).status).toBe(503);
    expect(clientView(upstreamTransportError(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }), 1000)).status).toBe(502);
    expect(clientView(upstreamTransportError(new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } }), 1000)).status).toBe(502);
  });
});
