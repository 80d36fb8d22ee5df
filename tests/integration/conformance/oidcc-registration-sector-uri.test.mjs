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

import { withSectorDocument } from './local.mjs';
import { CALLBACK, conformanceModule } from './op.mjs';

conformanceModule('oidcc-registration-sector-uri', ['dynamic'], (op, t) =>
  withSectorDocument(op, t, [CALLBACK], async (sectorUri) => {
    const rp = await op.client({ subject_type: 'pairwise', sector_identifier_uri: sectorUri });
    assert.ok(rp.id, 'registered');
  }));
