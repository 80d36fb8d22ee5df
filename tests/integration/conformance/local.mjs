// What the suite makes up and serves itself for the provider to fetch: random request URIs and
// the request objects at them, a client's jwks_uri, a sector identifier document. The suite
// serves them under its own base URL; here a node:http server on 127.0.0.1 does (serveLocal),
// which the provider may fetch over http.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random letters and digits. */
export const alnum = (n) => Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');

/**
 * A loopback HTTP server answering GET `path` with `body()`, read at each request (so a module
 * may change what is served), as `type`: a string as it is, anything else as JSON; undefined,
 * and any other path, is a 404. Returns { url (http://127.0.0.1:<port><path>), close }.
 */
export async function serveLocal(path, body, type = 'application/json') {
  const server = createServer((req, res) => {
    const content = req.url === path ? body() : undefined;
    if (content === undefined) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': type }).end(typeof content === 'string' ? content : JSON.stringify(content));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}${path}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * CreateRandomRequestUriWithFragment: <base>/requesturi/<64 alphanumerics>#<base64url SHA-256>,
 * as { path, fragment }.
 */
export function randomRequestUri() {
  return { path: `/requesturi/${alnum(64)}`, fragment: createHash('sha256').update(alnum(64)).digest('base64url') };
}

/** A request URI served locally: { url (with the fragment), serve(jwt), close }; 404 until served. */
export async function serveRequestObject() {
  let object;
  const { path, fragment } = randomRequestUri();
  const server = await serveLocal(path, () => object, 'application/jwt');
  return { url: `${server.url}#${fragment}`, serve: (jwt) => (object = jwt), close: server.close };
}

/** An unsigned request object (alg "none", SerializeRequestObjectWithNullAlgorithm). */
export function unsignedJwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none' })}.${b64(claims)}.`;
}

/**
 * The sector identifier modules (AbstractOIDCCDynamicRegistrationTest with pairwise subjects):
 * skipped unless discovery's subject_types_supported lists pairwise (onConfigure,
 * fireTestSkipped); otherwise body(uri) runs while the sector identifier document, a JSON array
 * of `redirectUris`, is served at `uri` (<suite>/redirect_uris.json).
 */
export async function withSectorDocument(op, t, redirectUris, body) {
  const types = op.metadata.subject_types_supported;
  assert.ok(Array.isArray(types), 'subject_types_supported');
  if (!types.includes('pairwise')) {
    t.skip(`subject_types_supported is ${JSON.stringify(types)}, without pairwise: the suite skips`);
    return;
  }
  const sector = await serveLocal('/redirect_uris.json', () => redirectUris);
  try {
    await body(sector.url);
  } finally {
    await sector.close();
  }
}
