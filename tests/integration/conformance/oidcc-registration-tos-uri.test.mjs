// oidcc-registration-tos-uri (OIDCCRegistrationTosUri, an AbstractOIDCCDynamicRegistrationTest):
// the suite's registration request (private_key_jwt in the Dynamic plan) with tos_uri
// https://openid.net (CreateTosUri; AddTosUriToDynamicRegistrationRequest), registered as any client
// (201, JSON); then, cookies cleared as the module asks, an authorization request whose login page
// must show a link to that terms of service document (ExpectLoginPageWithTosLink: a screenshot the
// tester uploads).

import { checkVisibleLink, conformanceModule } from './op.mjs';

const TOS_URI = 'https://openid.net';

conformanceModule('oidcc-registration-tos-uri', ['dynamic'], async (op) => {
  await op.loginPage(await op.client({ tos_uri: TOS_URI }));
  // The provider may keep the URI as registered or normalise it (https://openid.net/).
  const link = op.page.locator(`a[href="${TOS_URI}"], a[href="${TOS_URI}/"]`);
  await checkVisibleLink(link, 'ExpectLoginPageWithTosLink: a link to the tos_uri registered');
});
