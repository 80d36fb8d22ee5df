// oidcc-scope-email (OIDCCScopeEmail, SetScopeInClientConfigurationToOpenIdEmail): scope=openid
// email. OIDCCScopeEmail is an AbstractOIDCCReturnedClaimsServerTest: skipped unless discovery's
// scopes_supported lists every scope sent (OIDCCCheckScopesSupportedContainScopeTest, before the
// flow; the product lists them); after the code flow (the ID token checked, CallProtectedResource
// answered 200), a GET to userinfo (CallUserInfoEndpoint, EnsureHttpStatusCodeIs200), its claims
// checked (FAILURE: checkClaims below, and VerifyUserInfoAndIdTokenInTokenEndpointSameSub), and
// every standard claim of the scopes there (VerifyScopesReturnedInUserInfoClaims: the suite only
// warns; the product meets it once the user has them, so it is asserted). Its own WARNINGs: no name
// in the ID token (EnsureIdTokenDoesNotContainName) nor in userinfo
// (EnsureUserInfoDoesNotContainName), both met and asserted; and, as an access token was issued, no
// email in the ID token (EnsureIdTokenDoesNotContainEmailForScopeEmail, OIDCC-5.4). The product
// puts email and email_verified in the ID token too (mint::profile_claims), so that one is a todo:
// it reports without failing the run until the product leaves scope claims out of the ID token.

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

const SCOPE = 'openid email';
// AbstractVerifyScopesReturnedInClaims.SCOPE_STANDARD_CLAIMS, the claims each scope stands for.
const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'profile', 'picture', 'website', 'gender',
    'birthdate', 'zoneinfo', 'locale', 'updated_at', 'preferred_username'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

conformanceModule('oidcc-scope-email', ['basic', 'formpost'], async (op, t) => {
  const missing = SCOPE.split(' ').filter((s) => !op.metadata.scopes_supported?.includes(s));
  if (missing.length) {
    t.skip(`scopes_supported lacks ${missing}: the suite skips`);
    return;
  }
  await giveProfile(op);
  const rp = await op.client();
  const cb = await op.authorize(rp, { scope: SCOPE });
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub); // CallProtectedResource
  const res = await fetch(op.metadata.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' },
  });
  assert.equal(res.status, 200, 'EnsureHttpStatusCodeIs200');
  const info = checkClaims(JSON.parse(await res.text())); // ExtractUserInfoFromUserInfoEndpointResponse, then below
  assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
  const absent = SCOPE.split(' ').flatMap((s) => SCOPE_CLAIMS[s]).filter((c) => !(c in info));
  assert.deepEqual(absent, [], `VerifyScopesReturnedInUserInfoClaims (WARNING): missing ${absent}`);
  assert.equal(claims.name, undefined, 'EnsureIdTokenDoesNotContainName (WARNING)');
  assert.equal(info.name, undefined, 'EnsureUserInfoDoesNotContainName (WARNING)');
  const todo = 'mint::profile_claims puts email in the ID token';
  await t.test('EnsureIdTokenDoesNotContainEmailForScopeEmail (WARNING)', { todo }, () => {
    assert.equal(claims.email, undefined, `email in the ID token: ${claims.email}`);
  });
});

// The harness's users have only a name and an email; the suite's test user is given a full
// profile through the management API (docs/conformance.md), so every scope's claims exist.
const PROFILE = {
  given_name: 'Conformance', family_name: 'User', middle_name: 'Q', nickname: 'Conf',
  profile: 'https://suite.conformance.test/users/conf', picture: 'https://suite.conformance.test/users/conf.png',
  website: 'https://suite.conformance.test/', gender: 'female', birthdate: '1990-06-15',
  zoneinfo: 'Europe/London', locale: 'en-GB', phone_number: '+44 20 7946 0958', phone_number_verified: true,
  address: {
    formatted: '1 Test Street\nLondon SW1A 1AA\nUnited Kingdom', street_address: '1 Test Street',
    locality: 'London', region: 'Greater London', postal_code: 'SW1A 1AA', country: 'GB',
  },
};

async function giveProfile(op) {
  const r = await op.api('PATCH', `/users/${op.user.id}`, { profile: PROFILE });
  assert.equal(r.status, 200, `PATCH the user's profile: ${r.status} ${r.text}`);
}

// ---- the claims checks of AbstractOIDCCUserInfoTest / AbstractOIDCCReturnedClaimsServerTest
// (a candidate for op.mjs). FAILURE: ValidateUserInfoStandardClaims (each known claim of its
// type; unknown ones are only logged), EnsureUserInfoContainsSub, EnsureUserInfoUpdatedAtValid
// (1990..now+5 min), EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources.
function checkClaims(info) {
  assert.ok(isObject(info) && Object.keys(info).length > 0, 'ValidateUserInfoStandardClaims: an object with claims');
  for (const [k, v] of Object.entries(info)) {
    const valid = TEXT.test(k) ? isText(v) : (VALID[k] ?? (() => true))(v);
    assert.ok(valid, `ValidateUserInfoStandardClaims: ${k} = ${JSON.stringify(v)}`);
  }
  assert.ok(info.sub, 'EnsureUserInfoContainsSub');
  if (info.updated_at !== undefined) {
    assert.ok(info.updated_at >= 631152000 && info.updated_at <= Date.now() / 1000 + 300, 'EnsureUserInfoUpdatedAtValid');
  }
  assert.equal(info._claim_names === undefined, info._claim_sources === undefined, '_claim_names and _claim_sources together');
  const named = new Set(Object.values(info._claim_names ?? {}));
  for (const s of Object.keys(info._claim_sources ?? {})) assert.ok(named.has(s), `_claim_sources.${s} is referenced`);
  return info;
}
const TEXT = new RegExp(`^(${['sub', 'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username',
  'profile', 'picture', 'website', 'email', 'gender', 'zoneinfo', 'locale', 'phone_number', 'txn'].join('|')})$`);
const ADDRESS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'];
const isText = (v) => typeof v === 'string' && v.trim() !== '' && v.toLowerCase() !== 'null';
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isBool = (v) => typeof v === 'boolean';
const VALID = {
  email_verified: isBool,
  phone_number_verified: isBool,
  updated_at: (v) => typeof v === 'number',
  address: (v) => isObject(v) && Object.keys(v).length > 0 && ADDRESS.every((f) => v[f] === undefined || isText(v[f])),
  _claim_names: isObject,
  _claim_sources: isObject,
  birthdate: (v) => { // YYYY-MM-DD (or 0000-MM-DD) or YYYY, the year within 1850..now
    const m = typeof v === 'string' && /^(\d{4})(?:-(\d{2})-(\d{2}))?$/.exec(v);
    if (!m) return false;
    const y = +m[1];
    const sane = y >= 1850 && y <= new Date().getUTCFullYear();
    if (!m[2]) return sane;
    const d = new Date(Date.UTC(y || 2000, m[2] - 1, +m[3]));
    return (y === 0 || sane) && d.getUTCMonth() === m[2] - 1 && d.getUTCDate() === +m[3];
  },
};
