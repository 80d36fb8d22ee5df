// oidcc-claims-essential (OIDCCClaimsEssential, an AbstractOIDCCReturnedClaimsServerTest): the
// code flow with `scope=openid` and claims={"userinfo":{"name":{"essential":true}}}
// (AddUserInfoEssentialNameClaimToAuthorizationEndpointRequest, Core §5.5): it must succeed.
// FAILURE: the usual callback, ID token and userinfo checks (EnsureHttpStatusCodeIs200), then
// userinfo's ValidateUserInfoStandardClaims, EnsureUserInfoContainsSub, EnsureUserInfoUpdatedAtValid,
// EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources,
// VerifyUserInfoAndIdTokenInTokenEndpointSameSub. WARNINGs, asserted here since the product
// meets them: VerifyScopesReturnedInUserInfoClaims (sub), EnsureUserInfoContainsName (the user
// has a name) and EnsureIdTokenDoesNotContainName (name was asked of userinfo only).

import assert from 'node:assert/strict';

import { checkUserInfoClaims } from './claims.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-claims-essential', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const claimsParam = JSON.stringify({ userinfo: { name: { essential: true } } });
  const { claims, info } = await op.codeFlow(rp, { claims: claimsParam }); // userinfo: EnsureHttpStatusCodeIs200
  checkUserInfoClaims(info);
  assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
  assert.equal(info.name, op.user.name ?? 'Conformance User', 'EnsureUserInfoContainsName (WARNING)');
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
});
