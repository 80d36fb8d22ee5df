// oidcc-rp-initiated-logout-discovery-endpoint-verification
// (OIDCCRpInitiatedLogoutDiscoveryEndpointVerification): the discovery document names an
// end_session_endpoint that is an https URL (CheckDiscEndSessionEndpoint, FAILURE), and so is
// every other *_endpoint (CheckDiscEndpointAllEndpointsAreHttps, FAILURE; on this loopback
// test server, http under the issuer's origin: see logout.mjs).

import { checkEndpointsAreHttps } from './logout.mjs';
import { conformanceModule } from './op.mjs';

conformanceModule('oidcc-rp-initiated-logout-discovery-endpoint-verification', ['logout'], async (op) => {
  checkEndpointsAreHttps(op);
});
