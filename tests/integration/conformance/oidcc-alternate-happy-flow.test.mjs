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

import { checkScopeClaimsReturned, checkUserInfoClaims, unsupportedScopes } from './claims.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-alternate-happy-flow', ['basic', 'formpost'], async (op, t) => {
  const missing = unsupportedScopes(op, 'openid email');
  if (missing.length) return t.skip(`scopes_supported lacks ${missing}`);
  const rp = await op.client();
  const req = op.authorizationRequest(rp, { scope: 'email openid' });
  const url = new URL(op.metadata.authorization_endpoint);
  for (const [k, v] of [...req.url.searchParams].sort(([a], [b]) => (a < b ? 1 : -1))) url.searchParams.append(k, v);

  // userinfo: EnsureHttpStatusCodeIs200, the same sub
  const { claims, info } = await op.complete(rp, await op.authorizeAt(url, req));
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
  if (claims.email !== undefined) t.diagnostic('EnsureIdTokenDoesNotContainEmailForScopeEmail would warn: email is in the ID token');

  checkUserInfoClaims(info);
  assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
  checkScopeClaimsReturned(info, 'openid email'); // sub, email, email_verified
  assert.equal(info.email, op.user.email);
  assert.equal(info.name, undefined, 'EnsureUserInfoDoesNotContainName (WARNING)');
});
