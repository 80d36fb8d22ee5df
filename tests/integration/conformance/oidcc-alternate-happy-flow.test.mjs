// oidcc-alternate-happy-flow (OIDCCAlternateHappyFlow, an OIDCCScopeEmail): `scope=openid email`
// sent reversed, `email openid` (ReverseScopeOrderInAuthorizationEndpointRequest, RFC 6749 §3.3),
// and the query's parameters in reverse alphabetical order
// (BuildPlainRedirectToAuthorizationEndpointReorderedParams): the flow must succeed all the same.
// Skipped when scopes_supported lacks a scope asked for (OIDCCCheckScopesSupportedContainScopeTest).
// FAILURE: the usual callback, ID token and userinfo checks (EnsureHttpStatusCodeIs200), then
// userinfo's ValidateUserInfoStandardClaims, EnsureUserInfoContainsSub, EnsureUserInfoUpdatedAtValid,
// EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources and
// VerifyUserInfoAndIdTokenInTokenEndpointSameSub. WARNINGs, asserted here since the product meets
// them: EnsureIdTokenDoesNotContainName, VerifyScopesReturnedInUserInfoClaims (sub, email,
// email_verified), EnsureUserInfoDoesNotContainName. Not asserted: the WARNING
// EnsureIdTokenDoesNotContainEmailForScopeEmail, which the product does not meet (it puts
// email in the ID token as well; docs/conformance.md, "Warnings in Basic and Form Post").

import assert from 'node:assert/strict';

import { conformanceModule, text } from './op.mjs';

const STRINGS = ['sub', 'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'email', 'gender', 'zoneinfo', 'locale', 'phone_number', 'txn'];
const ADDRESS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'];

/** ValidateUserInfoStandardClaims, EnsureUserInfoUpdatedAtValid and the _claim_names / _claim_sources pairing. */
function checkUserInfoClaims(info) {
  const str = (v) => typeof v === 'string' && v.trim() !== '' && v.toLowerCase() !== 'null';
  for (const [k, v] of Object.entries(info)) {
    if (STRINGS.includes(k)) assert.ok(str(v), `ValidateUserInfoStandardClaims: ${k} = ${JSON.stringify(v)}`);
    if (k === 'email_verified' || k === 'phone_number_verified') assert.equal(typeof v, 'boolean', `ValidateUserInfoStandardClaims: ${k}`);
    if (k === 'birthdate') assert.match(v, /^(\d{4}-\d{2}-\d{2}|\d{4})$/, 'ValidateUserInfoStandardClaims: birthdate');
    if (k === 'address') for (const [a, av] of Object.entries(v)) if (ADDRESS.includes(a)) assert.ok(str(av), `address.${a}`);
    if (k === '_claim_names' || k === '_claim_sources') assert.equal(typeof v, 'object', k);
  }
  assert.ok(str(info.sub), 'EnsureUserInfoContainsSub');
  if (info.updated_at !== undefined) {
    assert.equal(typeof info.updated_at, 'number', 'ValidateUserInfoStandardClaims: updated_at');
    assert.ok(info.updated_at >= 631152000 && info.updated_at <= Date.now() / 1000 + 300, 'EnsureUserInfoUpdatedAtValid');
  }
  assert.equal(info._claim_names === undefined, info._claim_sources === undefined, 'EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources');
  if (info._claim_sources) for (const src of Object.keys(info._claim_sources)) assert.ok(Object.values(info._claim_names).includes(src), `_claim_sources.${src} is referenced`);
}

conformanceModule('oidcc-alternate-happy-flow', ['basic', 'formpost'], async (op, t) => {
  for (const s of ['openid', 'email']) {
    if (!op.metadata.scopes_supported?.includes(s)) return t.skip(`scopes_supported lacks ${s}`);
  }
  const rp = await op.client();
  const req = op.authorizationRequest(rp, { scope: 'email openid' });
  const url = new URL(op.metadata.authorization_endpoint);
  for (const [k, v] of [...req.url.searchParams].sort(([a], [b]) => (a < b ? 1 : -1))) url.searchParams.append(k, v);

  const out = await op.browse(url);
  assert.ok(out.callback, `the browser should reach the callback, but stopped at ${out.page?.url}: ${text(out.page?.html)}`);
  const cb = { ...out.callback, checks: req.checks, sent: req.params };
  op.checkAuthorizationResponse(cb);
  assert.ok(cb.params.get('code'), `a code in ${cb.params}`);
  const { tokens, claims } = await op.exchange(rp, cb);
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
  if (claims.email !== undefined) t.diagnostic('EnsureIdTokenDoesNotContainEmailForScopeEmail would warn: email is in the ID token');

  const info = await op.userinfo(rp, tokens.access_token, claims.sub); // EnsureHttpStatusCodeIs200, same sub
  checkUserInfoClaims(info);
  assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
  for (const c of ['sub', 'email', 'email_verified']) assert.ok(c in info, `VerifyScopesReturnedInUserInfoClaims (WARNING): ${c}`);
  assert.equal(info.email, op.user.email);
  assert.equal(info.name, undefined, 'EnsureUserInfoDoesNotContainName (WARNING)');
});
