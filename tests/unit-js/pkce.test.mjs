// The shared PKCE helper (public/shared/pkce.js) under Node's WebCrypto, no browser:
// `make jsunit`, or `node --test tests/unit-js/`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { base64url, createVerifier, randomString, s256Challenge } from '../../public/shared/pkce.js';

const UNRESERVED_43_128 = /^[A-Za-z0-9\-._~]{43,128}$/; // RFC 7636 §4.1

// The values of the RFC's text (also in src/oidc/pkce.rs, the provider's side of the check).
test('the S256 challenge of RFC 7636 Appendix B', async () => {
  assert.equal(
    await s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  );
});

test('base64url: the bytes of RFC 7636 Appendix B, no padding, URL-safe alphabet', () => {
  const bytes = Uint8Array.from([
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77,
    105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
  ]);
  assert.equal(base64url(bytes), 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
  assert.equal(base64url(Uint8Array.from([0xfb, 0xff])), '-_8');
  assert.equal(base64url(new Uint8Array(0)), '');
});

test('a verifier is 43 unreserved characters, and a fresh one each time', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const v = createVerifier();
    assert.match(v, UNRESERVED_43_128);
    assert.equal(v.length, 43);
    assert.match(v, /^[A-Za-z0-9_-]+$/, 'base64url only: no padding, no + or /');
    seen.add(v);
  }
  assert.equal(seen.size, 200);
});

test('state and nonce: 32 random bytes by default, other sizes on request', () => {
  assert.equal(randomString().length, 43);
  assert.equal(randomString(16).length, 22);
  assert.notEqual(randomString(), randomString());
});

test('the challenge of a fresh verifier is 43 base64url characters', async () => {
  const c = await s256Challenge(createVerifier());
  assert.match(c, /^[A-Za-z0-9_-]{43}$/);
});
