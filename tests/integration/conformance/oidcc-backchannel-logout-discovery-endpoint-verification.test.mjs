// oidcc-backchannel-logout-discovery-endpoint-verification
// (OIDCCBackchannelLogoutDiscoveryEndpointVerification), all FAILURE: backchannel_logout_supported
// and backchannel_logout_session_supported are the JSON boolean true (absent counts as false;
// certification requires sid), end_session_endpoint is there (CheckDiscEndSessionEndpoint), and
// every *_endpoint is https (CheckDiscEndpointAllEndpointsAreHttps; on this loopback test server,
// http under the issuer's origin: see logout.mjs).

import assert from 'node:assert/strict';

import { checkEndpointsAreHttps } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-backchannel-logout-discovery-endpoint-verification', ['backchannel'], async (op) => {
  checkEndpointsAreHttps(op);
  assert.equal(op.metadata.backchannel_logout_supported, true, 'CheckDiscEndpointBackchannelLogoutSupported');
  assert.equal(op.metadata.backchannel_logout_session_supported, true, 'CheckDiscEndpointBackchannelLogoutSessionSupported');
});
