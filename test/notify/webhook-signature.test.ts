/** The off-the-shelf standardwebhooks library must accept our notifications, and only genuine ones. */
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret } from '#domain/credentials';
import { signingSecrets, webhookHeaders, webhookId } from '#domain/webhook-signature';

const body = JSON.stringify({ task_id: '4665a07c-7641-4809-a133-10786201bb56', task_status: 'completed' });

describe('Standard Webhooks signatures', () => {
  const secret = newWebhookSecret();
  const now = () => Math.floor(Date.now() / 1000);

  it('are accepted by the standardwebhooks library', () => {
    const headers = webhookHeaders(secret, webhookId('4665a07c-7641-4809-a133-10786201bb56', 'completed'), now(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe('msg_4665a07c76414809a13310786201bb56_completed');
  });

  it('reject an altered body', () => {
    const headers = webhookHeaders(secret, 'msg_1', now(), body);
    expect(() => new Webhook(secret).verify(body.replace('completed', 'failed'), headers)).toThrow();
  });

  it('reject a wrong secret', () => {
    const headers = webhookHeaders(secret, 'msg_1', now(), body);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('reject stale and future timestamps', () => {
    expect(() => new Webhook(secret).verify(body, webhookHeaders(secret, 'msg_1', now() - 10 * 60, body))).toThrow(/too old/i);
    expect(() => new Webhook(secret).verify(body, webhookHeaders(secret, 'msg_1', now() + 10 * 60, body))).toThrow(/too new/i);
  });

  it('reject a replayed signature under another id', () => {
    const headers = webhookHeaders(secret, 'msg_1', now(), body);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
  });

  it('refuse a secret that is not whsec_', () => {
    expect(() => webhookHeaders('plain', 'msg_1', now(), body)).toThrow('whsec_');
  });
});

describe('secret rotation: both signatures during the overlap', () => {
  const oldSecret = newWebhookSecret();
  const newSecret = newWebhookSecret();
  const now = () => Math.floor(Date.now() / 1000);
  const rotatedAt = 1_000_000;
  const client = { webhookSecret: newSecret, previousWebhookSecret: oldSecret, webhookSecretRotatedAt: rotatedAt };

  it('signs with the new and the old secret until the overlap ends, then with the new one only', () => {
    expect(signingSecrets(client, (rotatedAt + 10) * 1000, 3600)).toEqual([newSecret, oldSecret]);
    expect(signingSecrets(client, (rotatedAt + 3600) * 1000 - 1, 3600)).toEqual([newSecret, oldSecret]);
    expect(signingSecrets(client, (rotatedAt + 3600) * 1000, 3600)).toEqual([newSecret]);
    expect(signingSecrets({ webhookSecret: newSecret }, Date.now(), 3600)).toEqual([newSecret]);
  });

  it('carries one signature per secret, space-separated, and the standardwebhooks library accepts either secret', () => {
    const headers = webhookHeaders([newSecret, oldSecret], 'msg_1', now(), body);
    expect(headers['webhook-signature'].split(' ')).toEqual([expect.stringMatching(/^v1,/), expect.stringMatching(/^v1,/)]);
    expect(new Webhook(oldSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    // After the overlap: the old secret no longer verifies.
    const after = webhookHeaders(signingSecrets(client, (rotatedAt + 7200) * 1000, 3600), 'msg_1', now(), body);
    expect(() => new Webhook(oldSecret).verify(body, after)).toThrow();
    expect(new Webhook(newSecret).verify(body, after)).toEqual(JSON.parse(body));
  });
});
