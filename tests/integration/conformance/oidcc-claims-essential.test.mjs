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

import { conformanceModule } from './op.mjs';

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

conformanceModule('oidcc-claims-essential', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp, { claims: JSON.stringify({ userinfo: { name: { essential: true } } }) });
  const { tokens, claims } = await op.exchange(rp, cb);

  const info = await op.userinfo(rp, tokens.access_token, claims.sub); // EnsureHttpStatusCodeIs200
  checkUserInfoClaims(info);
  assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
  assert.equal(info.name, op.user.name ?? 'Conformance User', 'EnsureUserInfoContainsName (WARNING)');
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
});
