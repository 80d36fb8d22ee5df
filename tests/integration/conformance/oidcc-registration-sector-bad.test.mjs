// oidcc-registration-sector-bad (OIDCCRegistrationSectorBad, an AbstractOIDCCDynamicRegistrationTest):
// skipped unless discovery's subject_types_supported lists pairwise (onConfigure, fireTestSkipped).
// Otherwise the suite serves a sector identifier document that does not hold its redirect URI
// (CreateInvalidSectorRedirectUris: ["https://example.com/op"]), and its registration request
// (private_key_jwt in the Dynamic plan) adds subject_type=pairwise and that sector_identifier_uri: the
// provider, having fetched the document (OpenID Connect Registration §5), must refuse with JSON
// (EnsureContentTypeJson) and 400 (EnsureHttpStatusCodeIs400), both FAILURE, error
// invalid_client_metadata (CheckErrorFromDynamicRegistrationEndpointIsInvalidClientMetadata; the suite
// only warns otherwise, asserted here). The product lists only public, so the suite skips; its
// registration ignores subject_type and sector_identifier_uri (201), which would fail here otherwise.

import assert from 'node:assert/strict';

import { withSectorDocument } from './local.mjs';
import { CALLBACK, Op, conformanceModule, randomToken } from './op.mjs';

conformanceModule('oidcc-registration-sector-bad', ['dynamic'], (op, t) =>
  withSectorDocument(op, t, ['https://example.com/op'], async (sectorUri) => {
    const r = await op.register({
      client_name: `OIDF conformance ${randomToken(4)}`,
      grant_types: ['authorization_code'],
      jwks: (await Op.clientKey()).jwks,
      token_endpoint_auth_method: 'private_key_jwt',
      response_types: ['code'],
      redirect_uris: [CALLBACK],
      contacts: ['certification@oidf.org'],
      subject_type: 'pairwise',
      sector_identifier_uri: sectorUri,
    });
    assert.equal(r.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'EnsureContentTypeJson');
    assert.equal(r.status, 400, `EnsureHttpStatusCodeIs400: ${r.text}`);
    assert.equal(r.json?.error, 'invalid_client_metadata', 'CheckErrorFromDynamicRegistrationEndpointIsInvalidClientMetadata (WARNING)');
  }));
