// OAuth 2.0 Form Post Response Mode §2: the provider's page carries the authorization
// response as hidden fields; this posts them to the client's redirect URI at once. A file,
// not an inline script, so the page's Content-Security-Policy allows no inline script.
document.forms[0]?.submit();
