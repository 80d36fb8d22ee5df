// Benchmark peer: oidc-provider (node-oidc-provider) with its defaults: in-memory adapter, the
// built-in development interactions (used once, at setup, to log in and consent), opaque access
// tokens and RS256 ID tokens. What a deployment must configure anyway is set as it would be:
// its own signing key, cookie keys and the one client (public, PKCE, token_endpoint_auth_method
// none). Usage: node server.mjs PORT REDIRECT_URI
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
if (!port || !redirectUri) throw new Error('usage: node server.mjs PORT REDIRECT_URI');
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench',
      client_name: 'bench',
      token_endpoint_auth_method: 'none',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
