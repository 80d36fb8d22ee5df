// Seeds the running dev server with a demo SPA application and a demo user, idempotently,
// and prints how to log in. Usage: node scripts/seed.mjs <origin> <admin token>
const [origin, adminToken] = process.argv.slice(2);
const api = async (method, path, body) => {
  const res = await fetch(`${origin}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

const redirectUri = `${origin}/demo/`;
const settings = { redirect_uris: [redirectUri], allowed_origins: [origin] };
const list = await api('GET', '/applications');
if (list.status !== 200) throw new Error(`listing applications failed: ${JSON.stringify(list)}`);
let app = list.body.applications.find((a) => a.name === 'Demo SPA');
if (app) {
  app = (await api('PATCH', `/applications/${app.client_id}`, settings)).body;
} else {
  const created = await api('POST', '/applications', { name: 'Demo SPA', type: 'spa', ...settings });
  if (created.status !== 201) throw new Error(`creating the demo app failed: ${JSON.stringify(created)}`);
  app = created.body;
}

const email = 'demo@example.com';
const password = 'demo-password';
const user = await api('POST', '/users', { email, password, name: 'Demo User', email_verified: true });
if (user.status !== 201 && user.status !== 409) {
  throw new Error(`creating the demo user failed: ${JSON.stringify(user)}`);
}

console.log(`
  Demo application (SPA, code + PKCE)
    client_id     ${app.client_id}
    redirect_uri  ${redirectUri}
  Demo user
    email         ${email}
    password      ${password}

  Open ${origin}/demo/?client_id=${app.client_id} and press "Log in".
  Discovery: ${origin}/.well-known/openid-configuration
`);
