// oidcc-userinfo-get (OIDCCUserInfoGet, AbstractOIDCCUserInfoTest): after the code flow (the ID
// token checked, and CallProtectedResource's userinfo call answered 200), a GET to userinfo
// with the access token in a Bearer header (CallUserInfoEndpoint, Accept: application/json),
// answered 200 (EnsureHttpStatusCodeIs200) with a valid claims object (checkClaims below).

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-userinfo-get', ['basic', 'formpost'], async (op) => {
  const rp = await op.client();
  const cb = await op.authorize(rp);
  const { tokens, claims } = await op.exchange(rp, cb);
  await op.userinfo(rp, tokens.access_token, claims.sub); // CallProtectedResource
  const res = await fetch(op.metadata.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' },
  });
  assert.equal(res.status, 200, 'EnsureHttpStatusCodeIs200');
  assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'EnsureContentTypeJson');
  checkClaims(JSON.parse(await res.text())); // ExtractUserInfoFromUserInfoEndpointResponse, then below
});

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
