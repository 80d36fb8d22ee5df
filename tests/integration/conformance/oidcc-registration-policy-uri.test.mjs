// oidcc-registration-policy-uri (OIDCCRegistrationPolicyUri, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (private_key_jwt in the Dynamic plan) with a policy_uri on the
// suite's own host (CreatePolicyUri: <suite host>/login.html; AddPolicyUriToDynamicRegistrationRequest),
// registered as any client (201, JSON); then, cookies cleared as the module asks, an authorization
// request whose login page must show a link to that policy document (ExpectLoginPageWithPolicyLink:
// a screenshot the tester uploads).

import assert from 'node:assert/strict';

import { SUITE, conformanceModule } from './op.mjs';

const POLICY_URI = `${new URL(SUITE).origin}/login.html`;

conformanceModule('oidcc-registration-policy-uri', ['dynamic'], async (op) => {
  const rp = await op.client({ policy_uri: POLICY_URI });
  await op.clearCookies();
  const { page } = await op.browse(op.authorizationRequest(rp).url, { login: false });
  assert.ok(page, 'the browser stops on the provider\'s page');
  assert.equal(page.form, '/login', 'the login page');
  await op.screenshot('login-page');
  const link = op.page.locator(`a[href="${POLICY_URI}"]`);
  assert.equal(await link.count(), 1, 'ExpectLoginPageWithPolicyLink: a link to the policy_uri registered');
  assert.ok(await link.isVisible(), 'the link is visible');
  assert.match(await link.innerText(), /\S/, 'the link has a text');
});
