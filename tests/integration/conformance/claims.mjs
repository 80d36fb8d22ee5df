// The userinfo checks the suite's claims modules share: AbstractOIDCCUserInfoTest
// (oidcc-userinfo-*) and AbstractOIDCCReturnedClaimsServerTest (oidcc-scope-*, oidcc-claims-essential,
// oidcc-alternate-happy-flow): the claims' types (checkUserInfoClaims), the scopes' claims
// (SCOPE_CLAIMS), the module's own userinfo call (userInfoFlow), the scope modules themselves
// (scopeModule), and the full profile the suite's test user is given (giveFullProfile).

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

/** AbstractVerifyScopesReturnedInClaims.SCOPE_STANDARD_CLAIMS, the claims each scope stands for. */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'profile', 'picture', 'website', 'gender',
    'birthdate', 'zoneinfo', 'locale', 'updated_at', 'preferred_username'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

// The harness's users have only a name and an email; the suite's test user is given a full
// profile through the management API (docs/conformance.md), so every scope's claims exist.
export const FULL_PROFILE = {
  given_name: 'Conformance', family_name: 'User', middle_name: 'Q', nickname: 'Conf',
  profile: 'https://suite.conformance.test/users/conf', picture: 'https://suite.conformance.test/users/conf.png',
  website: 'https://suite.conformance.test/', gender: 'female', birthdate: '1990-06-15',
  zoneinfo: 'Europe/London', locale: 'en-GB', phone_number: '+44 20 7946 0958', phone_number_verified: true,
  address: {
    formatted: '1 Test Street\nLondon SW1A 1AA\nUnited Kingdom', street_address: '1 Test Street',
    locality: 'London', region: 'Greater London', postal_code: 'SW1A 1AA', country: 'GB',
  },
};

/** Gives op.user FULL_PROFILE (PATCH /users/:id of the management API). */
export async function giveFullProfile(op) {
  const r = await op.api('PATCH', `/users/${op.user.id}`, { profile: FULL_PROFILE });
  assert.equal(r.status, 200, `PATCH the user's profile: ${r.status} ${r.text}`);
}

/**
 * The claims checks of AbstractOIDCCUserInfoTest / AbstractOIDCCReturnedClaimsServerTest, all
 * FAILURE: ValidateUserInfoStandardClaims (each known claim of its type; unknown ones are only
 * logged), EnsureUserInfoContainsSub, EnsureUserInfoUpdatedAtValid (1990..now+5 min),
 * EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources. Returns `info`.
 */
export function checkUserInfoClaims(info) {
  assert.ok(isObject(info) && Object.keys(info).length > 0, 'ValidateUserInfoStandardClaims: an object with claims');
  for (const [k, v] of Object.entries(info)) {
    const valid = TEXT.test(k) ? isText(v) : (VALID[k] ?? (() => true))(v);
    assert.ok(valid, `ValidateUserInfoStandardClaims: ${k} = ${JSON.stringify(v)}`);
  }
  assert.ok(info.sub, 'EnsureUserInfoContainsSub');
  if (info.updated_at !== undefined) {
    assert.ok(info.updated_at >= 631152000 && info.updated_at <= Date.now() / 1000 + 300, 'EnsureUserInfoUpdatedAtValid');
  }
  assert.equal(info._claim_names === undefined, info._claim_sources === undefined,
    'EnsureMemberValuesInClaimNameReferenceToMemberNamesInClaimSources: _claim_names and _claim_sources together');
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

/** OIDCCCheckScopesSupportedContainScopeTest: the scopes in `scope` that scopes_supported lacks. */
export function unsupportedScopes(op, scope) {
  return scope.split(' ').filter((s) => !op.metadata.scopes_supported?.includes(s));
}

/** VerifyScopesReturnedInUserInfoClaims: every standard claim of the scopes in `scope` is there. */
export function checkScopeClaimsReturned(info, scope) {
  const absent = scope.split(' ').flatMap((s) => SCOPE_CLAIMS[s]).filter((c) => !(c in info));
  assert.deepEqual(absent, [], `VerifyScopesReturnedInUserInfoClaims (WARNING): missing ${absent}`);
}

/** CallUserInfoEndpoint's GET: the access token in a Bearer header, Accept: application/json. */
const bearerGet = (accessToken) => ({ headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });

/**
 * The flow of AbstractOIDCCUserInfoTest and AbstractOIDCCReturnedClaimsServerTest: the code flow
 * with `params` (the ID token checked, CallProtectedResource's userinfo call answered 200), then
 * the module's own call to userinfo, `init(accessToken)` its fetch options (by default
 * CallUserInfoEndpoint's GET), answered 200 (`status`: the condition asserted), as
 * application/json when `contentType` (EnsureContentTypeJson), with claims that pass
 * checkUserInfoClaims (ExtractUserInfoFromUserInfoEndpointResponse, then those checks).
 * Returns { tokens, claims (the ID token's), info }.
 */
export async function userInfoFlow(op, { params, init = bearerGet, status = 'EnsureHttpStatusCodeIs200', contentType = false } = {}) {
  const { tokens, claims } = await op.codeFlow(await op.client(), params); // CallProtectedResource
  const res = await fetch(op.metadata.userinfo_endpoint, init(tokens.access_token));
  assert.equal(res.status, 200, status);
  if (contentType) assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'EnsureContentTypeJson');
  const info = checkUserInfoClaims(JSON.parse(await res.text()));
  return { tokens, claims, info };
}

/**
 * An oidcc-scope-* module (in Basic and Form Post): skipped unless scopes_supported lists every
 * scope in `scope` (OIDCCCheckScopesSupportedContainScopeTest, before the flow); the user given a
 * full profile, the userInfoFlow with that scope, then
 * VerifyUserInfoAndIdTokenInTokenEndpointSameSub (FAILURE) and VerifyScopesReturnedInUserInfoClaims
 * (a WARNING, asserted). `more(t, { claims, info })`: the module's own checks.
 */
export function scopeModule(name, scope, more) {
  return conformanceModule(name, ['basic', 'formpost'], async (op, t) => {
    const missing = unsupportedScopes(op, scope);
    if (missing.length) {
      t.skip(`scopes_supported lacks ${missing}: the suite skips`);
      return;
    }
    await giveFullProfile(op);
    const { claims, info } = await userInfoFlow(op, { params: { scope } });
    assert.equal(info.sub, claims.sub, 'VerifyUserInfoAndIdTokenInTokenEndpointSameSub');
    checkScopeClaimsReturned(info, scope);
    await more?.(t, { claims, info });
  });
}
