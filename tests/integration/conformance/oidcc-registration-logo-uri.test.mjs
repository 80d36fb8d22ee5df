// oidcc-registration-logo-uri (OIDCCRegistrationLogoUri, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (private_key_jwt in the Dynamic plan) with a logo_uri on the
// suite's own host (CreateLogoUri: <suite host>/images/openid.png;
// AddLogoUriToDynamicRegistrationRequest), registered as any client (201, JSON); then, cookies
// cleared as the module asks, an authorization request whose login page must show that logo
// (ExpectLoginPageWithLogo: a screenshot the tester uploads). Here the suite's host serves an image,
// and the logo must be on the login page and loaded (visible in the screenshot).

import assert from 'node:assert/strict';

import { SUITE, conformanceModule } from './op.mjs';

const LOGO_URI = `${new URL(SUITE).origin}/images/openid.png`;
// The suite's image stands in as an SVG (the browser goes by the content type), visible in the screenshot.
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48"><rect width="160" height="48" rx="8" fill="#f7931e"/>'
  + '<text x="80" y="32" font-family="sans-serif" font-size="24" text-anchor="middle" fill="#fff">OpenID</text></svg>';

conformanceModule('oidcc-registration-logo-uri', ['dynamic'], async (op) => {
  await op.context.route(LOGO_URI, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO }));
  await op.loginPage(await op.client({ logo_uri: LOGO_URI }));
  const logo = op.page.locator(`img[src="${LOGO_URI}"]`);
  assert.equal(await logo.count(), 1, 'ExpectLoginPageWithLogo: the logo_uri registered is on the login page');
  assert.ok(await logo.isVisible(), 'the logo is visible');
  assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo is loaded');
});
