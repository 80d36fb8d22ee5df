// oidcc-registration-tos-uri (OIDCCRegistrationTosUri, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (private_key_jwt in the Dynamic plan) with tos_uri
// https://openid.net (CreateTosUri; AddTosUriToDynamicRegistrationRequest), registered as any client
// (201, JSON); then, cookies cleared as the module asks, an authorization request whose login page
// must show a link to that terms of service document (ExpectLoginPageWithTosLink: a screenshot the
// tester uploads).

import assert from 'node:assert/strict';

import { conformanceModule } from './op.mjs';

const TOS_URI = 'https://openid.net';

conformanceModule('oidcc-registration-tos-uri', ['dynamic'], async (op) => {
  const rp = await op.client({ tos_uri: TOS_URI });
  await op.clearCookies();
  const { page } = await op.browse(op.authorizationRequest(rp).url, { login: false });
  assert.ok(page, 'the browser stops on the provider\'s page');
  assert.equal(page.form, '/login', 'the login page');
  await op.screenshot('login-page');
  // The provider may keep the URI as registered or normalise it (https://openid.net/).
  const link = op.page.locator(`a[href="${TOS_URI}"], a[href="${TOS_URI}/"]`);
  assert.equal(await link.count(), 1, 'ExpectLoginPageWithTosLink: a link to the tos_uri registered');
  assert.ok(await link.isVisible(), 'the link is visible');
  assert.match(await link.innerText(), /\S/, 'the link has a text');
});
