// oidcc-backchannel-rp-initiated-logout (OIDCCBackChannelRpInitiatedLogout): the client has a
// backchannel_logout_uri (<alias>/backchannel_logout; here a node:http receiver on loopback,
// which the provider may use over http) and backchannel_logout_session_required=true. After a
// normal login, the end-session request with hint, post_logout_redirect_uri and state; the
// module waits for both the back-channel POST (answered 200, Cache-Control: no-store) and the
// front-channel redirect, in either order, then checks:
// - the POST: a form with logout_token (ExtractLogoutTokenFromBackchannelLogoutRequest) and
//   nothing else (CheckForUnexpectedParametersInBackchannelLogoutRequest, WARNING, met here);
// - FAILURE: ValidateLogoutTokenSignature (the JWKS), ValidateLogoutTokenClaims (iss, aud is or
//   holds the client_id, iat within 5 minutes ahead and 1 day behind, jti, events holding exactly
//   the back-channel event with {}), CheckIdTokenSubMatchesLogoutToken and ...SidMatches... (when
//   the logout token has them), CheckLogoutTokenNoNonce, CheckLogoutTokenHasSubOrSid;
// - CheckPostLogoutState (FAILURE), CheckForUnexpectedParametersInPostLogoutRedirect (WARNING,
//   met here), and prompt=none answered with an error needing UI (FAILURE; here login_required).
// The TLS checks on the incoming request (EnsureIncomingTls12..., WARNING) have no counterpart
// over loopback http. The suite checks neither exp nor typ, so neither is required here.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before } from 'node:test';

import { compactVerify } from 'jose';

import { checkLoggedOut, checkPostLogoutRedirect, endSession, fullRequest, signIn } from './logout.mjs';
import { conformanceModule } from './op.mjs';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ method: req.method, path: req.url, type: req.headers['content-type'] ?? '', body });
    res.writeHead(200, { 'cache-control': 'no-store' }).end();
  });
});
let base;
before(async () => {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${receiver.address().port}`;
});
after(() => new Promise((r) => { receiver.closeAllConnections(); receiver.close(r); }));

conformanceModule('oidcc-backchannel-rp-initiated-logout', ['backchannel'], async (op) => {
  const path = `/backchannel_logout/${op.planKey}`;
  const rp = await op.client({ backchannel_logout_uri: `${base}${path}`, backchannel_logout_session_required: true });
  const { idToken, claims: id } = await signIn(op, rp);
  const request = fullRequest(idToken);
  const front = await endSession(op, request);

  // The module waits (status WAITING) for the back channel too; 10 s stands in for the tester's patience.
  for (let i = 0; i < 100 && !received.some((r) => r.path === path); i++) await new Promise((r) => setTimeout(r, 100));
  const posts = received.filter((r) => r.path === path);
  assert.equal(posts.length, 1, `one back-channel request at ${path}; got ${JSON.stringify(received.map((r) => r.path))}`);
  const [post] = posts;
  assert.equal(post.method, 'POST');
  assert.match(post.type, /^application\/x-www-form-urlencoded\b/i, 'a form body');
  const form = new URLSearchParams(post.body);
  const token = form.get('logout_token');
  assert.ok(token, 'ExtractLogoutTokenFromBackchannelLogoutRequest');
  assert.deepEqual([...form.keys()], ['logout_token'], 'CheckForUnexpectedParametersInBackchannelLogoutRequest');

  const { payload } = await compactVerify(token, op.jwks());
  const lt = JSON.parse(new TextDecoder().decode(payload));
  assert.equal(lt.iss, op.issuer, 'ValidateLogoutTokenClaims: iss');
  assert.ok(Array.isArray(lt.aud) ? lt.aud.includes(rp.id) : lt.aud === rp.id, `ValidateLogoutTokenClaims: aud ${JSON.stringify(lt.aud)}`);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(lt.iat) && lt.iat <= now + 300 && lt.iat >= now - 86_400, `ValidateLogoutTokenClaims: iat ${lt.iat}`);
  assert.equal(typeof lt.jti, 'string', 'ValidateLogoutTokenClaims: jti');
  assert.deepEqual(lt.events, { [EVENT]: {} }, 'ValidateLogoutTokenClaims: events');
  if ('sub' in lt) assert.equal(lt.sub, id.sub, 'CheckIdTokenSubMatchesLogoutToken');
  if ('sid' in lt) assert.equal(lt.sid, id.sid, 'CheckIdTokenSidMatchesLogoutToken');
  assert.equal('nonce' in lt, false, 'CheckLogoutTokenNoNonce');
  assert.ok('sub' in lt || 'sid' in lt, 'CheckLogoutTokenHasSubOrSid');

  checkPostLogoutRedirect(front, request.state);
  assert.equal(await checkLoggedOut(op, rp), 'login_required');
});
