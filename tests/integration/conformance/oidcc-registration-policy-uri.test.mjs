// oidcc-registration-policy-uri (OIDCCRegistrationPolicyUri, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (private_key_jwt in the Dynamic plan) with a policy_uri on the
// suite's own host (CreatePolicyUri: <suite host>/login.html; AddPolicyUriToDynamicRegistrationRequest),
// registered as any client (201, JSON); then, cookies cleared as the module asks, an authorization
// request whose login page must show a link to that policy document (ExpectLoginPageWithPolicyLink:
// a screenshot the tester uploads).

import { SUITE, checkVisibleLink, conformanceModule } from './op.mjs';

const POLICY_URI = `${new URL(SUITE).origin}/login.html`;

conformanceModule('oidcc-registration-policy-uri', ['dynamic'], async (op) => {
  await op.loginPage(await op.client({ policy_uri: POLICY_URI }));
  await checkVisibleLink(op.page.locator(`a[href="${POLICY_URI}"]`), 'ExpectLoginPageWithPolicyLink: a link to the policy_uri registered');
});
