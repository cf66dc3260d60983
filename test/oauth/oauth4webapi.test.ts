// oauth4webapi (the library under openid-client, used here directly) as an OpenID Connect relying
// party of the device flow against a listening server: OpenID Connect Discovery, the device
// authorization request, polling, the token response with its ID token validated, including the
// signature (oauth4webapi checks only the claims of a token-endpoint ID token unless asked with
// validateApplicationLevelSignature), and UserInfo held to the ID token's subject (OpenID Connect
// Core §5.3.4). It polls at the server's interval in wall time, so the server's clock follows it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import { listeningServer } from '../client/_support.ts';
import { approveAsPerson } from './_support.ts';

const PASSWORD = 'correct horse battery';
// Deprecated only to stand out: plain HTTP to a server on 127.0.0.1 is exactly its use.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const local = { [oauth.allowInsecureRequests]: true };

test('oauth4webapi: device login, the ID token validated with its signature, and UserInfo for the same person', async (t) => {
  const { h, base } = await listeningServer(t);
  const app = await h.publicClient({ pollInterval: 1, scope: 'openid profile email' });
  const user = await h.services.admin.users.create({
    envId: h.services.defaultEnv.id, username: 'alice', email: 'alice@example.test', password: PASSWORD,
    name: 'Alice Liddell', givenName: 'Alice', familyName: 'Liddell', emailVerified: true,
  });

  const issuer = new URL(base);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...local }));
  assert.equal(as.userinfo_endpoint, `${base}/oauth/userinfo`);
  const client: oauth.Client = { client_id: app.clientId };
  const none = oauth.None();

  const started = await oauth.processDeviceAuthorizationResponse(as, client,
    await oauth.deviceAuthorizationRequest(as, client, none, { scope: 'openid profile email' }, local));
  assert.equal(started.interval, 1);

  // RFC 8628 §3.4-3.5: poll every interval, 5 s more after slow_down; alice approves, signing in with
  // her password, once the device has been told to wait.
  const outcomes: string[] = [];
  const poll = async (interval: number): Promise<{ response: Response; result: oauth.TokenEndpointResponse; body: string }> => {
    for (;;) {
      await sleep(interval * 1000);
      const response = await oauth.deviceCodeGrantRequest(as, client, none, started.device_code, local);
      const copy = response.clone();
      try {
        // Validates the ID token's claims (iss, aud, azp, exp, iat), not its signature.
        const result = await oauth.processDeviceCodeResponse(as, client, response);
        outcomes.push('token');
        return { response, result, body: await copy.text() };
      } catch (err) {
        if (!(err instanceof oauth.ResponseBodyError) || (err.error !== 'authorization_pending' && err.error !== 'slow_down')) throw err;
        outcomes.push(err.error);
        if (err.error === 'slow_down') interval += 5;
        if (outcomes.length === 1) await approveAsPerson(h, started.user_code, 'alice', PASSWORD);
      }
    }
  };
  const { response, result: checked, body: tokenBody } = await poll(started.interval ?? 5);
  assert.equal(outcomes[0], 'authorization_pending');
  assert.equal(outcomes.at(-1), 'token');

  // The signature, checked against jwks_uri.
  await oauth.validateApplicationLevelSignature(as, response, local);
  const claims = oauth.getValidatedIdTokenClaims(checked);
  assert.ok(claims !== undefined, 'an ID token');
  assert.deepEqual([claims.iss, claims.sub, claims.aud, claims.azp], [base, user.id, app.clientId, app.clientId]);
  assert.deepEqual([claims.amr, claims.acr, typeof claims.auth_time], [['pwd'], '1', 'number']);
  assert.deepEqual(
    [claims.name, claims.given_name, claims.family_name, claims.preferred_username, claims.email, claims.email_verified],
    ['Alice Liddell', 'Alice', 'Liddell', 'alice', 'alice@example.test', true],
  );

  // UserInfo with the access token, for the ID token's subject.
  const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, checked.access_token, local));
  assert.deepEqual(info, {
    sub: user.id, name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice',
    updated_at: claims.updated_at, email: 'alice@example.test', email_verified: true,
  });

  // The checks are real. The same answer with a changed name under the server's signature: the claims
  // still pass, the signature does not.
  const body = JSON.parse(tokenBody) as { id_token: string };
  const [header = '', payload = '', signature = ''] = body.id_token.split('.');
  const changed = { ...(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as object), name: 'Mallory' };
  const forged = new Response(JSON.stringify({ ...body, id_token: [header, Buffer.from(JSON.stringify(changed)).toString('base64url'), signature].join('.') }), {
    status: 200, headers: { 'content-type': 'application/json' },
  });
  await oauth.processDeviceCodeResponse(as, client, forged);
  await assert.rejects(oauth.validateApplicationLevelSignature(as, forged, local), { message: 'JWT signature verification failed' });
  // The untouched answer is not meant for another client (aud).
  const another: oauth.Client = { client_id: 'another-client' };
  await assert.rejects(
    oauth.processDeviceCodeResponse(as, another, new Response(tokenBody, { status: 200, headers: { 'content-type': 'application/json' } })),
    { message: 'unexpected JWT "aud" (audience) claim value' },
  );
});
