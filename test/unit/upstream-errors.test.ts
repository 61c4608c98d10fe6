import { cleanReason, refusalKind, TransportFailure, upstreamHttpError, upstreamReason, upstreamTransportError } from '#adapters/upstream/http-client';
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
  ])('maps HTTP %i, a refusal', (status, body, expectedStatus, code, message) => {
    const raw = upstreamHttpError(status, body);
    expect(raw.outcome).toBe('refused');
    const error = clientView(raw);
    expect(error).toMatchObject({ status: expectedStatus, code });
    expect(error.message).toContain(message);
  });

  it.each([
    [500, fixtureText('error-500-panic.json')],
    [502, '<html>502 Bad Gateway</html>'],
    [503, 'Service Unavailable'],
    [408, ''],
  ])('HTTP %i is an unknown outcome, and the upstream text stays out of the message', (status, body) => {
    const error = upstreamHttpError(status, body);
    expect(error.outcome).toBe('unknown');
    expect(error.message).not.toMatch(/Panic|Bad Gateway|Service Unavailable/);
  });

  it.each([
    ['prompt violates the content policy', 'upstream-content-refused'],
    ['NSFW content detected', 'upstream-content-refused'],
    ['insufficient balance', 'upstream-balance'],
    ['余额不足', 'upstream-balance'],
    ['too many requests, concurrency limit', 'upstream-quota'],
    ['image_url could not be fetched', 'upstream-rejected'],
  ])('sorts the refusal "%s" as %s', (reason, kind) => {
    expect(refusalKind(reason)).toBe(kind);
  });

  it('cleans the upstream message: no key, one line, bounded', () => {
    expect(cleanReason('invalid key sk-live-abcdefghijkl\nretry')).toBe('invalid key [redacted] retry');
    expect(cleanReason(`token ${'a1B2'.repeat(12)} refused`)).toBe('token [redacted] refused');
    expect(cleanReason('too long '.repeat(50))).toHaveLength(301);
  });

  it('passes Retry-After on throttling', () => {
    expect(clientView(upstreamHttpError(429, '', '7')).headers).toEqual({ 'Retry-After': '7' });
    expect(clientView(upstreamHttpError(429, '', 'garbage')).headers).toEqual({});
  });

  it('maps timeouts, refusals and resets: nothing sent is refused, anything after sending is unknown', () => {
    const timedOut = upstreamTransportError(new TransportFailure(true, true, 'ETIMEDOUT'), 10_000);
    expect(timedOut.outcome).toBe('unknown');
    expect(clientView(timedOut)).toMatchObject({ status: 504, message: 'the upstream did not answer within 10 s' });
    const refused = upstreamTransportError(new TransportFailure(false, false, 'ECONNREFUSED'), 1000);
    expect(refused.outcome).toBe('refused');
    expect(clientView(refused)).toMatchObject({ status: 503, message: 'the upstream is unreachable; retry later' });
    expect(upstreamTransportError(new TransportFailure(false, true, 'ETIMEDOUT'), 1000)).toMatchObject({ outcome: 'refused' });
    const reset = upstreamTransportError(new TransportFailure(true, false, 'ECONNRESET'), 1000);
    expect(reset.outcome).toBe('unknown');
    expect(clientView(reset).status).toBe(502);
  });
});
