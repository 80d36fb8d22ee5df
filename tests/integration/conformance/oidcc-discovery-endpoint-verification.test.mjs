// oidcc-discovery-endpoint-verification (OIDCCDiscoveryEndpointVerification), in the Config plan
// (static_client) and the Dynamic plan (dynamic_client). The discovery document answers 200 JSON
// (EnsureDiscoveryEndpointResponseStatusCodeIs200, CheckDiscoveryEndpointReturnedJsonContentType),
// and then, all FAILURE: the response types (OIDCCCheckDiscEndpointResponseTypesSupported, or
// ...Dynamic), CheckDiscEndpointDiscoveryUrl, CheckDiscEndpointIssuer, CheckDiscEndpointIssuerIsValidUrl,
// ValidateServerMetadataAgainstSchema, CheckDiscEndpointSubjectTypesSupported,
// OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported (RS256), ...UserinfoSigningAlgValuesSupported,
// the authorization, token, userinfo and registration endpoints, CheckJwksUri and the JWKS
// (ValidateJwksSequence), the grant types (OIDCCCheckDiscEndpointGrantTypesSupported, or ...Dynamic),
// CheckDiscEndpointScopesSupportedContainsOpenId, CheckDiscEndpointScopesSupportedSyntax,
// CheckDiscEndpointLocalesSyntax, CheckDiscEndpointAllEndpointsAreHttps and
// EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray. WARNINGs, asserted here since
// the product meets them: CheckForUnexpectedParametersInServerMetadata, OIDCCCheckDiscEndpointClaimsSupported.
//
// The test server is http: the https halves of CheckDiscEndpointDiscoveryUrl,
// CheckDiscEndpointIssuerIsValidUrl, the endpoint checks and CheckDiscEndpointAllEndpointsAreHttps
// cannot hold here. The rest of each is checked, and every URL must use the issuer's own scheme
// (so an https deployment, as docs/conformance.md requires, publishes https endpoints only).
//
// In the Dynamic plan the module fails by design: the implicit flow is left out (RFC 9700
// §2.1.2; docs/conformance.md, "Code flow only, by design"), so
// OIDCCCheckDiscEndpointResponseTypesSupportedDynamic (code, id_token and "token id_token") and
// OIDCCCheckDiscEndpointGrantTypesSupportedDynamic (authorization_code and implicit) fail. That
// is asserted here; every other condition must pass as in the Config plan.

import assert from 'node:assert/strict';

import { importJWK } from 'jose';

import { conformanceModule } from './op.mjs';

// The properties of the suite's json-schemas/rfc8414/oauth_authorization_server_metadata.json
// (additionalProperties: false) a provider like this one may publish, by type.
const URLS = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'registration_endpoint', 'service_documentation', 'op_policy_uri', 'op_tos_uri', 'revocation_endpoint', 'introspection_endpoint', 'userinfo_endpoint', 'end_session_endpoint', 'check_session_iframe', 'pushed_authorization_request_endpoint', 'device_authorization_endpoint', 'backchannel_authentication_endpoint'];
const BOOLEANS = ['claims_parameter_supported', 'request_parameter_supported', 'request_uri_parameter_supported', 'require_request_uri_registration', 'frontchannel_logout_supported', 'frontchannel_logout_session_supported', 'backchannel_logout_supported', 'backchannel_logout_session_supported', 'authorization_response_iss_parameter_supported', 'require_pushed_authorization_requests', 'tls_client_certificate_bound_access_tokens', 'require_signed_request_object'];
const ARRAYS = ['scopes_supported', 'response_types_supported', 'response_modes_supported', 'grant_types_supported', 'token_endpoint_auth_methods_supported', 'token_endpoint_auth_signing_alg_values_supported', 'ui_locales_supported', 'revocation_endpoint_auth_methods_supported', 'revocation_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint_auth_methods_supported', 'introspection_endpoint_auth_signing_alg_values_supported', 'code_challenge_methods_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported', 'id_token_encryption_alg_values_supported', 'id_token_encryption_enc_values_supported', 'userinfo_signing_alg_values_supported', 'userinfo_encryption_alg_values_supported', 'userinfo_encryption_enc_values_supported', 'request_object_signing_alg_values_supported', 'request_object_encryption_alg_values_supported', 'request_object_encryption_enc_values_supported', 'display_values_supported', 'claim_types_supported', 'claims_supported', 'claims_locales_supported', 'acr_values_supported', 'prompt_values_supported', 'dpop_signing_alg_values_supported'];

const sameTypes = (a, b) => a.split(' ').sort().join(' ') === b.split(' ').sort().join(' ');
/** AbstractValidateResponseTypesArray: how many of `wanted` the list has (space-separated sets). */
const countTypes = (list, wanted) => wanted.filter((w) => list.some((t) => sameTypes(t, w))).length;

conformanceModule('oidcc-discovery-endpoint-verification', ['config', 'dynamic'], async (op) => {
  const discoveryUrl = `${op.issuer}/.well-known/openid-configuration`;
  const res = await fetch(discoveryUrl);
  assert.equal(res.status, 200, 'EnsureDiscoveryEndpointResponseStatusCodeIs200');
  assert.equal(res.headers.get('content-type')?.split(';')[0].trim(), 'application/json', 'CheckDiscoveryEndpointReturnedJsonContentType');
  const md = await res.json();
  const scheme = new URL(op.issuer).protocol;
  const dynamic = op.planKey === 'dynamic';

  // Response and grant types: the Config plan's conditions, and the Dynamic plan's, which fail.
  const types = md.response_types_supported;
  assert.ok(Array.isArray(types), 'response_types_supported');
  assert.ok(countTypes(types, ['code', 'code id_token', 'id_token', 'token id_token', 'code id_token token', 'code token']) >= 1, 'OIDCCCheckDiscEndpointResponseTypesSupported');
  assert.ok(Array.isArray(md.grant_types_supported) && md.grant_types_supported.length > 0, 'OIDCCCheckDiscEndpointGrantTypesSupported');
  if (dynamic) {
    // Fails by design: no implicit flow (RFC 9700 §2.1.2, docs/conformance.md). What is published:
    assert.deepEqual(types, ['code'], 'response_types_supported is ["code"]: no id_token, no token id_token');
    assert.ok(md.grant_types_supported.includes('authorization_code'), 'grant_types_supported has authorization_code');
    assert.ok(countTypes(types, ['code', 'id_token', 'token id_token']) < 3, 'OIDCCCheckDiscEndpointResponseTypesSupportedDynamic fails');
    assert.ok(!md.grant_types_supported.includes('implicit'), 'grant_types_supported has no implicit');
    assert.ok(!['authorization_code', 'implicit'].every((g) => md.grant_types_supported.includes(g)), 'OIDCCCheckDiscEndpointGrantTypesSupportedDynamic fails');
  }

  // CheckDiscEndpointDiscoveryUrl (https aside), CheckDiscEndpointIssuer, CheckDiscEndpointIssuerIsValidUrl.
  assert.ok(new URL(discoveryUrl).pathname.endsWith('/.well-known/openid-configuration'), 'CheckDiscEndpointDiscoveryUrl');
  assert.equal(md.issuer.replace(/\/$/, ''), discoveryUrl.slice(0, -'.well-known/openid-configuration'.length).replace(/\/$/, ''), 'CheckDiscEndpointIssuer');
  const iss = new URL(md.issuer);
  assert.ok(iss.hostname && !md.issuer.includes('#') && !md.issuer.includes('?') && !iss.username && !iss.password, 'CheckDiscEndpointIssuerIsValidUrl');

  // ValidateServerMetadataAgainstSchema, and CheckForUnexpectedParametersInServerMetadata (WARNING).
  for (const [k, v] of Object.entries(md)) {
    if (URLS.includes(k)) assert.equal(new URL(v).protocol, scheme, `${k}: a URL with the issuer's scheme`);
    else if (BOOLEANS.includes(k)) assert.equal(typeof v, 'boolean', `${k}: a boolean`);
    else if (ARRAYS.includes(k)) assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), `${k}: an array of strings`);
    else assert.fail(`CheckForUnexpectedParametersInServerMetadata (WARNING): ${k}`);
  }
  // CheckDiscEndpointAllEndpointsAreHttps (https aside): every *_endpoint is a URL.
  for (const k of Object.keys(md).filter((k) => k.endsWith('_endpoint'))) assert.equal(new URL(md[k]).protocol, scheme, k);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) assert.ok(md[k], `${k} present`);

  assert.ok(['public', 'pairwise'].some((s) => md.subject_types_supported?.includes(s)), 'CheckDiscEndpointSubjectTypesSupported');
  assert.ok(md.id_token_signing_alg_values_supported?.includes('RS256'), 'OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported');
  if (md.userinfo_signing_alg_values_supported) assert.ok(Array.isArray(md.userinfo_signing_alg_values_supported), 'OIDCCCheckDiscEndpointUserinfoSigningAlgValuesSupported');
  if (md.request_object_signing_alg_values_supported) assert.ok(md.request_object_signing_alg_values_supported.includes('RS256'), 'CheckDiscEndpointRequestObjectSigningAlgValuesSupportedIncludesRS256 (WARNING)');
  assert.ok(Array.isArray(md.claims_supported), 'OIDCCCheckDiscEndpointClaimsSupported (WARNING)');
  assert.ok(md.scopes_supported?.includes('openid'), 'CheckDiscEndpointScopesSupportedContainsOpenId');
  for (const s of md.scopes_supported) assert.match(s, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'CheckDiscEndpointScopesSupportedSyntax');
  for (const k of ['ui_locales_supported', 'claims_locales_supported']) {
    for (const tag of md[k] ?? []) assert.match(tag, /^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$/, `CheckDiscEndpointLocalesSyntax: ${k}`);
  }
  const pkce = md.code_challenge_methods_supported;
  if (pkce?.length) assert.ok(pkce.includes('S256') || pkce.includes('plain'), 'EnsureServerConfigurationCodeChallengeMethodsSupportedIsAnArray');

  // CheckJwksUri, FetchServerKeys, ValidateJwksSequence: public keys only, well formed, usable.
  const jwks = await (await fetch(md.jwks_uri)).json();
  assert.ok(Array.isArray(jwks.keys), 'ValidateJwksStructure');
  for (const key of jwks.keys) {
    for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) assert.equal(key[p], undefined, `EnsureJwksHasNoPrivateOrSymmetricKeyMaterial: ${key.kid} has ${p}`);
    assert.notEqual(key.kty, 'oct', 'EnsureJwksHasNoPrivateOrSymmetricKeyMaterial: a symmetric key');
    await importJWK(key, key.alg); // ParseUsableJwksKeys
  }
});
