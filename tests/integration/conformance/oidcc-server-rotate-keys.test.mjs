// oidcc-server-rotate-keys (OIDCCServerRotateKeys): the JWKS is fetched and validated, the tester
// rotates the OP's keys, then the JWKS is fetched and validated again and compared. Each fetch:
// FetchServerKeys, CheckServerKeysIsValid and ValidateJwksSequence
// (EnsureJwksHasNoPrivateOrSymmetricKeyMaterial, ValidateJwksStructure, ParseUsableJwksKeys, all
// FAILURE; WarnOnUnusableJwksKeys, a WARNING the product meets), CheckForKeyIdInServerJWKs,
// CheckDistinctKeyIdValueInServerJWKs (FAILURE). Then, over the signing keys (`use` sig or none):
// VerifyNewJwksHasNewSigningKey (FAILURE): a key (public members + kid) not in the old set, whose
// kid is new and whose `n` (RSA) or `x` (EC) is new; any other kty fails it ("unknown key type");
// VerifyNewJwksStillHasOldSigningKey (WARNING, asserted: old keys stay published for
// RETIRED_PUBLISH_SECS): some key object unchanged in both.
// The tester's rotation is POST /api/v1/keys/rotate {"alg":"RS256"} (docs/conformance.md): RS256
// alone, since a new Ed25519 (OKP) key would fail VerifyNewJwksHasNewSigningKey. The rotation
// clears this isolate's key cache (KeyRing::rotate) and local dev runs one isolate, so the JWKS
// right after it is fresh; elsewhere the tester waits KEY_CACHE_SECS (60 s) before pressing Start.
// It rotates the shared server's RS256 keys; old keys stay published, so other tests are unaffected.

import assert from 'node:assert/strict';

import { importJWK } from 'jose';

import { conformanceModule } from './op.mjs';

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const REQUIRED = { RSA: ['e', 'n'], EC: ['x', 'y'], OKP: ['x', 'crv'] };
const PUBLIC = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };
const CURVES = { EC: ['P-256', 'secp256k1', 'P-384', 'P-521'], OKP: ['Ed25519', 'Ed448', 'X25519', 'X448'] };
const canon = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));

async function fetchAndValidateJwks(op) {
  const res = await fetch(op.metadata.jwks_uri);
  assert.equal(res.status, 200, 'FetchServerKeys');
  const jwks = await res.json();
  assert.ok(Array.isArray(jwks.keys), 'ValidateJwksStructure: a keys array');
  for (const k of jwks.keys) {
    assert.notEqual(k.kty, 'oct', `EnsureJwksHasNoPrivateOrSymmetricKeyMaterial: ${k.kid}`);
    for (const m of PRIVATE) assert.ok(!(m in k), `EnsureJwksHasNoPrivateOrSymmetricKeyMaterial: ${m} in ${k.kid}`);
    assert.ok(REQUIRED[k.kty], `WarnOnUnusableJwksKeys (WARNING): kty ${k.kty}`);
    if (CURVES[k.kty]) assert.ok(CURVES[k.kty].includes(k.crv), `WarnOnUnusableJwksKeys (WARNING): crv ${k.crv}`);
    for (const m of REQUIRED[k.kty]) assert.match(String(k[m] ?? '-'), m === 'crv' ? /./ : /^[\w-]+$/, `ValidateJwksStructure: ${m} of ${k.kid}`);
    await importJWK(k, k.alg); // ParseUsableJwksKeys
    assert.ok(k.kid, 'CheckForKeyIdInServerJWKs');
  }
  assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, jwks.keys.length, 'CheckDistinctKeyIdValueInServerJWKs');
  return jwks.keys.filter((k) => k.use === undefined || k.use === 'sig');
}

conformanceModule('oidcc-server-rotate-keys', ['dynamic'], async (op) => {
  const original = await fetchAndValidateJwks(op);
  const r = await op.api('POST', '/keys/rotate', { alg: 'RS256' }); // TellUserToRotateOpKeys
  assert.equal(r.status, 200, `the rotation: ${r.status} ${r.text}`);
  const latest = await fetchAndValidateJwks(op);

  // VerifyNewJwksHasNewSigningKey
  const pub = (k) => canon(Object.fromEntries([...(PUBLIC[k.kty] ?? ['kty']), 'kid'].map((m) => [m, k[m]])));
  const known = new Set(original.map(pub));
  const onlyInNew = latest.filter((k) => !known.has(pub(k)));
  assert.ok(onlyInNew.length > 0, 'VerifyNewJwksHasNewSigningKey: no new signing key');
  for (const k of onlyInNew) {
    assert.ok(!original.some((o) => o.kid === k.kid), `VerifyNewJwksHasNewSigningKey: kid ${k.kid} reused`);
    const field = { RSA: 'n', EC: 'x' }[k.kty];
    assert.ok(field, `VerifyNewJwksHasNewSigningKey: unknown key type '${k.kty}' (${k.kid})`);
    assert.ok(!original.some((o) => o[field] === k[field]), `VerifyNewJwksHasNewSigningKey: ${field} of ${k.kid} reused`);
  }
  // VerifyNewJwksStillHasOldSigningKey (WARNING)
  const before = new Set(original.map(canon));
  assert.ok(latest.some((k) => before.has(canon(k))), 'VerifyNewJwksStillHasOldSigningKey (WARNING)');
});
