// Seeds the running dev server with a demo SPA application, a demo user and an administrator
// for the dashboard, idempotently, and prints how to log in.
// Usage: node scripts/seed.mjs <origin> <admin token> [dashboard admin password]
const [origin, adminToken, adminPassword] = process.argv.slice(2);
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

// The dashboard's administrator: created, or brought back to the admin role, enabled, with
// this checkout's password (it lives in .dev.vars next to the local secrets).
const adminEmail = 'admin@example.com';
if (adminPassword) {
  const admin = { password: adminPassword, name: 'Administrator', roles: ['admin'] };
  const made = await api('POST', '/users', { email: adminEmail, email_verified: true, ...admin });
  if (made.status === 409) {
    const found = await api('GET', `/users?q=${encodeURIComponent(adminEmail)}`);
    const existing = found.body?.users?.find((u) => u.email.toLowerCase() === adminEmail);
    if (!existing) throw new Error(`finding the admin user failed: ${JSON.stringify(found)}`);
    const fixed = await api('PATCH', `/users/${existing.id}`, { ...admin, disabled: false });
    if (fixed.status !== 200) throw new Error(`updating the admin user failed: ${JSON.stringify(fixed)}`);
  } else if (made.status !== 201) {
    throw new Error(`creating the admin user failed: ${JSON.stringify(made)}`);
  }
}

console.log(`
  Demo application (SPA, code + PKCE)
    client_id     ${app.client_id}
    redirect_uri  ${redirectUri}
  Demo user
    email         ${email}
    password      ${password}

  Open ${origin}/demo/?client_id=${app.client_id} and press "Log in".
${adminPassword ? `
  Dashboard       ${origin}/admin/
    email         ${adminEmail}
    password      ${adminPassword}
` : ''}
  Discovery: ${origin}/.well-known/openid-configuration
`);
