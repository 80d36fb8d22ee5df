// The application types the dashboard offers and what each may use: the provider's rules
// (AppType in src/model.rs), repeated here to draw the forms.

export const TYPES = [
  ['traditional', 'Traditional web', 'Server-rendered app with a backend that keeps a secret.'],
  ['spa', 'Single-page app', 'Runs in the browser, uses PKCE, no secret.'],
  ['native', 'Native', 'Mobile or desktop app, PKCE, custom-scheme or loopback redirects.'],
  ['m2m', 'Machine-to-machine', 'A backend service calling APIs with client credentials, no users.'],
];
export const TYPE_LABEL = Object.fromEntries(TYPES.map(([t, l]) => [t, l]));
export const CONFIDENTIAL = new Set(['traditional', 'm2m']);
export const GRANTS = {
  traditional: ['authorization_code', 'refresh_token', 'client_credentials'],
  spa: ['authorization_code', 'refresh_token'],
  native: ['authorization_code', 'refresh_token'],
  m2m: ['client_credentials'],
};
export const GRANT_LABEL = {
  authorization_code: 'Authorization code',
  refresh_token: 'Refresh token',
  client_credentials: 'Client credentials',
};
