// Quick start (issue 17): a ready-to-paste snippet per application type, filled in with the
// issuer, the client id and the redirect URI. No DOM here: application.js shows it, and
// tests/integration/quickstart.test.mjs imports this module in Node and runs the snippets.
//
// Each JavaScript snippet is an ES module whose steps are exported functions (login, then
// callback at the redirect URI), so it can be pasted as is and wired to routes or buttons.

/** A JavaScript / Kotlin string literal. */
const str = (s) => JSON.stringify(String(s));
/** A single-quoted shell word. */
const sh = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** What each type's snippet is: its heading, language and what to install. */
export const QUICKSTART = {
  spa: { title: 'Single-page app: oauth4webapi (authorization code + PKCE in the browser)', language: 'javascript', install: 'npm install oauth4webapi' },
  traditional: { title: 'Traditional web app: openid-client v6 (Node, client_secret_basic)', language: 'javascript', install: 'npm install openid-client' },
  native: { title: 'Native app: AppAuth-Android (Kotlin)', language: 'kotlin', install: 'implementation("net.openid:appauth:0.11.1")' },
  m2m: { title: 'Machine-to-machine: client credentials with curl', language: 'shell', install: null },
};

/**
 * The snippet for an application of `type`. issuer: the provider's issuer (no trailing
 * slash); tokenEndpoint: from discovery (default issuer + /token); redirectUri: the app's
 * first one, if any; audience and scope: for m2m, an allowed API and scopes (optional).
 */
export function snippet(type, { issuer, clientId, redirectUri, tokenEndpoint, audience, scope } = {}) {
  const insecure = /^http:/i.test(issuer ?? '');
  switch (type) {
    case 'spa': return spa(issuer, clientId, redirectUri || 'https://app.example.com/callback', insecure);
    case 'traditional': return traditional(issuer, clientId, redirectUri || 'https://app.example.com/callback', insecure);
    case 'native': return native(issuer, clientId, redirectUri || 'com.example.app:/callback');
    case 'm2m': return m2m(tokenEndpoint || `${issuer}/token`, clientId, audience, scope);
    default: return '';
  }
}

function spa(issuer, clientId, redirectUri, insecure) {
  return `// ${QUICKSTART.spa.install}
import * as oauth from 'oauth4webapi';

const issuer = new URL(${str(issuer)});
const client = { client_id: ${str(clientId)} };
const redirect_uri = ${str(redirectUri)};
${insecure ? `// The issuer is plain http (local development): allowed explicitly.
const options = { [oauth.allowInsecureRequests]: true };` : 'const options = {};'}

const as = await oauth.processDiscoveryResponse(issuer,
  await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' }));

// 1. On "Sign in": keep the PKCE verifier in this tab, go to the provider.
export async function login() {
  const code_verifier = oauth.generateRandomCodeVerifier();
  sessionStorage.setItem('code_verifier', code_verifier);
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', redirect_uri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid profile email');
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(code_verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url);
}

// 2. Back at redirect_uri (?code=...): exchange the code, check the ID token, read /userinfo.
export async function callback() {
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), oauth.expectNoState);
  const code_verifier = sessionStorage.getItem('code_verifier');
  sessionStorage.removeItem('code_verifier');
  // A public client: oauth.None() sends the client_id, no secret.
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params,
    redirect_uri, code_verifier, options);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub,
    await oauth.userInfoRequest(as, client, tokens.access_token, options));
  return { tokens, claims, userinfo };
}
`;
}

function traditional(issuer, clientId, redirectUri, insecure) {
  return `// ${QUICKSTART.traditional.install}
import * as client from 'openid-client';

const redirect_uri = ${str(redirectUri)};
const config = await client.discovery(
  new URL(${str(issuer)}),
  ${str(clientId)},
  undefined,
  client.ClientSecretBasic(process.env.CLIENT_SECRET),${insecure ? `
  { execute: [client.allowInsecureRequests] }, // plain http: local development only` : ''}
);

// 1. Start the login: keep codeVerifier and state in the user's session, redirect to url.
export async function login() {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url, codeVerifier, state };
}

// 2. At redirect_uri: currentUrl is the full URL of the request (with ?code=...&state=...).
export async function callback(currentUrl, { codeVerifier, state }) {
  const tokens = await client.authorizationCodeGrant(config, new URL(currentUrl), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  return { tokens, claims, userinfo };
}
`;
}

function native(issuer, clientId, redirectUri) {
  const scheme = redirectUri.includes(':') ? redirectUri.slice(0, redirectUri.indexOf(':')) : 'com.example.app';
  return `// build.gradle: ${QUICKSTART.native.install}
//   android.defaultConfig.manifestPlaceholders["appAuthRedirectScheme"] = ${str(scheme)}
import net.openid.appauth.*
import android.net.Uri

val authService = AuthorizationService(context)

// 1. Discovery, then the authorization request (AppAuth adds PKCE and state).
AuthorizationServiceConfiguration.fetchFromIssuer(Uri.parse(${str(issuer)})) { config, ex ->
    if (config == null) return@fetchFromIssuer // ex says why
    val request = AuthorizationRequest.Builder(
        config,
        ${str(clientId)},
        ResponseTypeValues.CODE,
        Uri.parse(${str(redirectUri)}),
    ).setScope("openid profile email").build()
    launcher.launch(authService.getAuthorizationRequestIntent(request))
}

// 2. In the launcher's result: exchange the code (a public client: no secret).
val response = AuthorizationResponse.fromIntent(result.data!!)
authService.performTokenRequest(response!!.createTokenExchangeRequest()) { tokens, ex ->
    // tokens?.accessToken, tokens?.idToken, tokens?.refreshToken
}
`;
}

function m2m(tokenEndpoint, clientId, audience, scope) {
  const extra = [
    ...(audience ? [`  -d resource=${sh(audience)} \\`] : []),
    ...(scope ? [`  -d scope=${sh(scope)} \\`] : []),
  ];
  return `# The client secret is in the environment (shown once, when created or rotated).
curl -sS ${sh(tokenEndpoint)} \\
  -u ${sh(clientId)}":$CLIENT_SECRET" \\
  -d grant_type=client_credentials \\
${extra.length ? `${extra.join('\n')}\n` : ''}  -H 'accept: application/json'
`;
}
