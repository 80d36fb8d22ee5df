// oidcc-registration-sector-uri (OIDCCRegistrationSectorUri, an AbstractOIDCCDynamicRegistrationTest):
// skipped unless discovery's subject_types_supported lists pairwise (onConfigure, fireTestSkipped).
// Otherwise the suite serves a sector identifier document, a JSON array holding its redirect URI
// (CreateSectorRedirectUris, at <suite>/redirect_uris.json), and its registration request (private_key_jwt
// in the Dynamic plan) adds subject_type=pairwise and that sector_identifier_uri
// (AddSubjectTypePairwiseToDynamicRegistrationRequest, AddSectorIdentifierUriToDynamicRegistrationRequest):
// the provider fetches the document (OpenID Connect Registration §5) and must register the client
// (CallDynamicRegistrationEndpointAndVerifySuccessfulResponse: 201, JSON). No authorization request.
// The product lists only public, so the suite skips; registration itself ignores subject_type and
// sector_identifier_uri (201, public subjects), as unknown metadata.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { CALLBACK, conformanceModule } from './op.mjs';

/** The sector identifier document, served where the provider can fetch it: { uri, close }. */
async function serveSector(redirectUris) {
  const server = createServer((req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(redirectUris)));
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    uri: `http://127.0.0.1:${server.address().port}/redirect_uris.json`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

conformanceModule('oidcc-registration-sector-uri', ['dynamic'], async (op, t) => {
  const types = op.metadata.subject_types_supported;
  assert.ok(Array.isArray(types), 'subject_types_supported');
  if (!types.includes('pairwise')) {
    t.skip(`subject_types_supported is ${JSON.stringify(types)}, without pairwise: the suite skips`);
    return;
  }
  const sector = await serveSector([CALLBACK]);
  try {
    const rp = await op.client({ subject_type: 'pairwise', sector_identifier_uri: sector.uri });
    assert.ok(rp.id, 'registered');
  } finally {
    await sector.close();
  }
});
