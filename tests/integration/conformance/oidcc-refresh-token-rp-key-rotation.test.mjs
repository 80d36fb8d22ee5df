// oidcc-refresh-token-rp-key-rotation (OIDCCRefreshTokenRPKeyRotation): the client registers a
// `jwks_uri` (its RS256 key's kid is the thumbprint, GenerateRS256ClientJWKsWithKeyID) and the
// refresh_token grant, asks for `openid offline_access` (SetScopeInClientConfigurationToOpenIdOfflineAccess)
// with prompt=consent, and must get a refresh token (ExtractRefreshTokenFromTokenResponse, FAILURE).
// Then it replaces the key at its jwks_uri by a new one with a new kid, waits
// (WaitForJWKSRefreshDelay: 60 s, or server.jwks_refresh_delay clamped to 1..60, here
// CONFORMANCE_JWKS_REFRESH_DELAY, default 1 s: the wait is for providers that cache client
// keys, and this one reads the jwks_uri for every assertion), and refreshes with an assertion signed by the new key
// (RefreshTokenRequestSteps, scope sent): CheckTokenEndpointHttpStatus200,
// CheckTokenEndpointReturnedJsonContentType, CheckTokenEndpointCacheHeaders, CheckTokenTypeIsBearer,
// EnsureMinimumAccessTokenEntropy, EnsureAccessTokenContainsAllowedCharactersOnly,
// EnsureRefreshTokenContainsAllowedCharactersOnly, ValidateExpiresIn, EnsureMinimumRefreshTokenLength
// / ...Entropy and CompareIdTokenClaims when present (FAILURE); EnsureServerConfigurationSupportsRefreshToken
// and ExtractExpiresInFromTokenEndpointResponse (WARNINGs, asserted). Then userinfo (EnsureHttpStatusCodeIs200).
// The suite serves the JWKS at <its base URL>/client1_jwks; here a local server on 127.0.0.1 does.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

import { conformanceModule, decodeJwt, oidc } from './op.mjs';

const VSCHAR = /^[\x20-\x7E]+$/;
const DELAY = Math.min(Math.max(1, Number(process.env.CONFORMANCE_JWKS_REFRESH_DELAY ?? 1) || 1), 60);

async function thumbprintKey() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, jwks: { keys: [{ ...jwk, kid, use: 'sig', alg: 'RS256' }] } };
}

async function serveJson(path, body) {
  const server = createServer((req, res) => {
    if (req.url !== path) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body()));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}${path}`, close: () => new Promise((r) => server.close(r)) };
}

function entropy(s) {
  const counts = new Map();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / s.length) * Math.log2(n / s.length);
  return bits * s.length;
}

conformanceModule(
  'oidcc-refresh-token-rp-key-rotation',
  ['dynamic'],
  async (op) => {
    let key = await thumbprintKey();
    const jwksUri = await serveJson('/client1_jwks', () => key.jwks);
    try {
      const rp = await op.registerClient({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri.url, key });
      const scope = 'openid offline_access';
      const cb = await op.authorize(rp, { scope, prompt: 'consent' });
      const { tokens, claims: first } = await op.exchange(rp, cb);
      assert.ok(tokens.refresh_token, 'ExtractRefreshTokenFromTokenResponse');
      assert.ok(op.metadata.grant_types_supported?.includes('refresh_token'), 'EnsureServerConfigurationSupportsRefreshToken (WARNING)');
      assert.match(tokens.refresh_token, VSCHAR, 'EnsureRefreshTokenContainsAllowedCharactersOnly');

      // "Cycling keys in RP jwks_uri": only the new key is published, and the client signs with it.
      key = await thumbprintKey();
      const rotated = op.relyingParty(rp.app, oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }));
      let headers;
      rotated.config[oidc.customFetch] = async (url, init) => {
        const res = await fetch(url, init);
        if (String(url) === op.metadata.token_endpoint) headers = res.headers;
        return res;
      };
      await sleep(DELAY * 1000); // WaitForJWKSRefreshDelay
      await sleep(1000); // WaitForOneSecond, in RefreshTokenRequestSteps

      const refreshed = await op.refresh(rotated, tokens.refresh_token, { scope });
      assert.match(headers.get('content-type') ?? '', /^application\/json\s*(;|$)/, 'CheckTokenEndpointReturnedJsonContentType');
      assert.ok((headers.get('cache-control') ?? '').split(',').map((v) => v.trim()).includes('no-store'), 'CheckTokenEndpointCacheHeaders');
      assert.equal(refreshed.token_type.toLowerCase(), 'bearer', 'CheckTokenTypeIsBearer');
      assert.ok(entropy(refreshed.access_token) > 96, 'EnsureMinimumAccessTokenEntropy');
      assert.match(refreshed.access_token, VSCHAR, 'EnsureAccessTokenContainsAllowedCharactersOnly');
      assert.ok(Number.isInteger(refreshed.expires_in) && refreshed.expires_in > 0, 'ExtractExpiresInFromTokenEndpointResponse (WARNING), ValidateExpiresIn');
      if (refreshed.refresh_token) {
        assert.ok(Buffer.byteLength(refreshed.refresh_token) * 8 >= 128, 'EnsureMinimumRefreshTokenLength');
        assert.ok(entropy(refreshed.refresh_token) > 96, 'EnsureMinimumRefreshTokenEntropy');
      }
      if (refreshed.id_token) {
        const second = decodeJwt(refreshed.id_token);
        for (const c of ['iss', 'sub', 'azp']) assert.deepEqual(second[c], first[c], `CompareIdTokenClaims: ${c}`);
        if (second.auth_time !== undefined) assert.equal(second.auth_time, first.auth_time, 'CompareIdTokenClaims: auth_time');
        assert.deepEqual(second.aud, first.aud, 'CompareIdTokenClaims: aud');
        assert.notEqual(second.iat, first.iat, 'CompareIdTokenClaims: a new iat');
      }
      const info = await op.userinfo(rotated, refreshed.access_token, first.sub);
      assert.equal(info.sub, first.sub);
    } finally {
      await jwksUri.close();
    }
  },
  { timeout: 180_000 },
);
