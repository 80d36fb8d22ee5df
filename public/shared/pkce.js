// PKCE (RFC 7636, S256 only) and the random values of an authorization request, shared by
// the admin dashboard (public/admin/auth.js) and the demo (public/demo/app.js). Plain
// WebCrypto, no DOM: it runs in the browser and in Node (tests/unit-js/pkce.test.mjs).

/** Bytes as unpadded base64url (RFC 4648 §5), as PKCE and JWTs use it. */
export function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `bytes` random bytes as base64url: 32 give 43 characters (256 bits), for state and nonce. */
export function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A code verifier: 43 characters of [A-Za-z0-9-_], within RFC 7636 §4.1's 43-128 unreserved. */
export function createVerifier() {
  return randomString(32);
}

/** The S256 code challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))), RFC 7636 §4.2. */
export async function s256Challenge(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
