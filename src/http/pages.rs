//! The HTML pages: login and errors. Plain forms, no script, readable without CSS.

pub use crate::model::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;\
min-height:100vh;align-items:center;justify-content:center}main{background:#fff;padding:2rem;\
border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);width:100%;max-width:22rem}h1{font-size:1.3rem;\
margin:0 0 .3rem}p{color:#444}label{display:block;margin:.8rem 0 .2rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #bbb;border-radius:4px;font-size:1rem}\
button{margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:4px;background:#2656d9;color:#fff;\
font-size:1rem;cursor:pointer}.error{color:#b00020;background:#fdecee;padding:.5rem;border-radius:4px}\
code{background:#eee;padding:0 .2rem}button.secondary{background:#fff;color:#2656d9;\
border:1px solid #2656d9;margin-top:.6rem}ul{padding-left:1.2rem}.logo{display:block;max-height:48px;\
max-width:100%;margin:0 auto 1rem}.links{font-size:.85rem;margin-top:1.2rem}\
.done{color:#05612a;background:#e6f4ea;padding:.5rem;border-radius:4px}h2{font-size:1.05rem;\
margin:1.6rem 0 .2rem}li{margin:.6rem 0}li form button{margin-top:.3rem}small{color:#555}\
main.wide{max-width:34rem;margin:2rem 1rem}button.danger{background:#b00020}";

/// The CSP source for the one inline style block: its hash (CSP Level 3 §8.3), so the pages
/// need neither `'unsafe-inline'` nor a second request for a stylesheet.
pub fn style_csp_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        use base64ct::Encoding;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(STYLE.as_bytes());
        format!("'sha256-{}'", base64ct::Base64::encode_string(&digest))
    })
}

pub(super) fn layout(title: &str, body: &str) -> String {
    page_layout(title, body, "")
}

/// As `layout`, in a wider card (the account page).
pub(super) fn wide_layout(title: &str, body: &str) -> String {
    page_layout(title, body, " class=\"wide\"")
}

fn page_layout(title: &str, body: &str, main_attrs: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{}</title><style>{STYLE}</style></head><body><main{main_attrs}>{body}</main></body></html>",
        escape(title)
    )
}

/// An application's branding (RFC 7591 §2 `logo_uri`, `policy_uri`, `tos_uri`; https, as
/// the settings check) on the pages that name it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Brand<'a> {
    pub logo_uri: Option<&'a str>,
    pub policy_uri: Option<&'a str>,
    pub tos_uri: Option<&'a str>,
}

impl<'a> Brand<'a> {
    pub fn of(app: &'a crate::model::Application) -> Self {
        Self {
            logo_uri: app.logo_uri.as_deref(),
            policy_uri: app.policy_uri.as_deref(),
            tos_uri: app.tos_uri.as_deref(),
        }
    }

    /// The logo above the title, described by the application's name.
    pub(super) fn logo(&self, app_name: &str) -> String {
        self.logo_uri
            .map(|src| {
                format!(
                    "<img class=\"logo\" src=\"{}\" alt=\"{}\">",
                    escape(src),
                    escape(app_name)
                )
            })
            .unwrap_or_default()
    }

    /// Links to the application's privacy policy and terms, opened apart from the form.
    pub(super) fn links(&self, app_name: &str) -> String {
        let mut out = String::new();
        for (uri, what) in [
            (self.policy_uri, "privacy policy"),
            (self.tos_uri, "terms of service"),
        ] {
            let Some(uri) = uri else { continue };
            out.push_str(if out.is_empty() {
                "<p class=\"links\">"
            } else {
                " · "
            });
            out.push_str(&format!(
                "<a href=\"{}\" rel=\"noreferrer noopener\" target=\"_blank\">{} {what}</a>",
                escape(uri),
                escape(app_name)
            ));
        }
        if !out.is_empty() {
            out.push_str("</p>");
        }
        out
    }
}

pub struct LoginPage<'a> {
    pub app_name: &'a str,
    pub brand: Brand<'a>,
    pub csrf_token: &'a str,
    pub auth_request: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    /// "Forgot your password?" and "Create an account", where offered: their URLs.
    pub reset_url: Option<&'a str>,
    pub signup_url: Option<&'a str>,
}

pub fn login(p: &LoginPage) -> String {
    let error = p
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            "{logo}<h1>Sign in</h1><p>to continue to <strong>{app}</strong></p>{error}\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"auth_request\" value=\"{req}\">\
             <label for=\"email\">Email</label>\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{email}\">\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Continue</button></form>{own}{links}",
            logo = p.brand.logo(p.app_name),
            own = self_service_links(&[
                ("Forgot your password?", p.reset_url),
                ("Create an account", p.signup_url),
            ]),
            links = p.brand.links(p.app_name),
            app = escape(p.app_name),
            csrf = escape(p.csrf_token),
            req = escape(p.auth_request),
            email = escape(p.email),
        ),
    )
}

/// The login page's own links, those that are set, on one line.
fn self_service_links(links: &[(&str, Option<&str>)]) -> String {
    let shown: Vec<String> = links
        .iter()
        .filter_map(|(label, url)| {
            url.map(|u| format!("<a href=\"{}\">{}</a>", escape(u), escape(label)))
        })
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    format!("<p class=\"links\">{}</p>", shown.join(" · "))
}

pub struct ConsentPage<'a> {
    pub app_name: &'a str,
    pub brand: Brand<'a>,
    /// Where the user will be sent: shown so a loopback or unexpected host is visible.
    pub redirect_host: &'a str,
    pub permissions: &'a [&'a str],
    pub csrf_token: &'a str,
    pub auth_request: &'a str,
    pub user_email: &'a str,
}

pub fn consent(p: &ConsentPage) -> String {
    let items: String = p
        .permissions
        .iter()
        .map(|d| format!("<li>{}</li>", escape(d)))
        .collect();
    layout(
        "Authorize access",
        &format!(
            "{logo}<h1>Authorize {app}</h1><p><strong>{app}</strong> wants to:</p><ul>{items}</ul>\
             <p>Signed in as {email}. You will be sent to <code>{host}</code>.</p>\
             <form method=\"post\" action=\"/consent\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"auth_request\" value=\"{req}\">\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
             </form>{links}",
            logo = p.brand.logo(p.app_name),
            links = p.brand.links(p.app_name),
            app = escape(p.app_name),
            email = escape(p.user_email),
            host = escape(p.redirect_host),
            csrf = escape(p.csrf_token),
            req = escape(p.auth_request),
        ),
    )
}

/// "Back to <application>" for a known application's registered home URL.
fn back_link(back_to: Option<(&str, &str)>) -> String {
    back_to
        .map(|(name, url)| {
            format!(
                "<p><a href=\"{}\" rel=\"noreferrer\">Back to {}</a></p>",
                escape(url),
                escape(name)
            )
        })
        .unwrap_or_default()
}

/// Asks the user to confirm a logout that no relying party vouched for.
pub fn logout_confirm(app_name: Option<&str>, csrf_token: &str, logout_request: &str) -> String {
    let from = app_name
        .map(|n| {
            format!(
                "<p><strong>{}</strong> asks to sign you out.</p>",
                escape(n)
            )
        })
        .unwrap_or_default();
    layout(
        "Sign out",
        &format!(
            "<h1>Sign out?</h1>{from}<p>You will be signed out of every application that uses \
             this sign-in.</p><form method=\"post\" action=\"/logout\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
             <input type=\"hidden\" name=\"logout_request\" value=\"{}\">\
             <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
            escape(csrf_token),
            escape(logout_request)
        ),
    )
}

/// OAuth 2.0 Form Post Response Mode §2: the answer as hidden fields of a form that
/// `/shared/form-post.js` submits to the redirect URI at once (with script off, a button).
pub fn form_post(callback: &crate::oidc::authorize::Callback) -> String {
    let fields: String = callback
        .params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    layout(
        "Returning to the application",
        &format!(
            "<h1>Returning to the application…</h1><form method=\"post\" action=\"{}\">{fields}\
             <noscript><p>Scripts are off: continue by hand.</p>\
             <button type=\"submit\">Continue</button></noscript></form>\
             <script src=\"/shared/form-post.js\"></script>",
            escape(&callback.redirect_uri)
        ),
    )
}

/// After a logout with nowhere registered to go: a link to the application's home URL.
pub fn signed_out(back_to: Option<(&str, &str)>) -> String {
    let link = back_link(back_to);
    layout(
        "Signed out",
        &format!("<h1>You are signed out</h1><p>You can close this window.</p>{link}"),
    )
}

/// A dead end: shown instead of redirecting when the client cannot be trusted. `back_to`
/// is a known application's registered home URL: (application name, URL).
pub fn error(code: &str, description: &str, back_to: Option<(&str, &str)>) -> String {
    let link = back_link(back_to);
    layout(
        "Sign-in error",
        &format!(
            "<h1>Something went wrong</h1><p class=\"error\" role=\"alert\"><code>{}</code> {}</p>\
             <p>Return to the application and try again. If this keeps happening, \
             tell the application's developer.</p>{link}",
            escape(code),
            escape(description)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_user_controlled_is_escaped() {
        let hostile = Brand {
            logo_uri: Some("https://a.example/\"><script>"),
            policy_uri: Some("https://a.example/p?<x>"),
            tos_uri: None,
        };
        let page = login(&LoginPage {
            app_name: "<script>x</script>",
            brand: hostile,
            csrf_token: "t\"",
            auth_request: "a=1&b=\"><script>",
            email: "'",
            error: Some("<b>"),
            reset_url: Some("/reset?auth_request=a%3D1\"><script>"),
            signup_url: None,
        });
        assert!(!page.contains("<script>"));
        assert!(page.contains("a=1&amp;b=&quot;&gt;&lt;script&gt;"));
        assert!(page.contains("&lt;b&gt;"));
        assert!(!error("<i>", "<u>", None).contains("<u>"));
        let with_link = error("c", "d", Some(("<App>", "https://a.example/?x=\"1\"")));
        assert!(with_link.contains("href=\"https://a.example/?x=&quot;1&quot;\""));
        assert!(with_link.contains("Back to &lt;App&gt;"));
        let page = consent(&ConsentPage {
            app_name: "<App>",
            brand: hostile,
            redirect_host: "evil\"",
            permissions: &["<script>x</script>"],
            csrf_token: "c",
            auth_request: "a&b",
            user_email: "<e>",
        });
        assert!(!page.contains("<App>") && !page.contains("<script>") && !page.contains("<e>"));
        assert!(!page.contains("<x>") && page.contains("&lt;App&gt; privacy policy"));
        assert!(page.contains("value=\"allow\"") && page.contains("value=\"deny\""));
    }

    #[test]
    fn a_brand_shows_its_logo_and_links_only_when_set() {
        let brand = Brand {
            logo_uri: Some("https://cdn.example/logo.png"),
            policy_uri: None,
            tos_uri: Some("https://app.example/tos"),
        };
        let page = |brand| {
            login(&LoginPage {
                app_name: "App",
                brand,
                csrf_token: "c",
                auth_request: "a",
                email: "",
                error: None,
                reset_url: None,
                signup_url: None,
            })
        };
        let branded = page(brand);
        assert!(branded
            .contains("<img class=\"logo\" src=\"https://cdn.example/logo.png\" alt=\"App\">"));
        assert!(branded.contains("href=\"https://app.example/tos\""));
        assert!(branded.contains("App terms of service") && !branded.contains("privacy policy"));
        let plain = page(Brand::default());
        assert!(!plain.contains("<img") && !plain.contains("class=\"links\""));
    }

    #[test]
    fn the_csp_hash_is_the_hash_of_the_style_block_the_pages_carry() {
        use base64ct::Encoding;
        use sha2::Digest;
        let page = error("t", "d", None);
        let start = page.find("<style>").unwrap() + "<style>".len();
        let end = page.find("</style>").unwrap();
        let digest = sha2::Sha256::digest(&page.as_bytes()[start..end]);
        let expected = format!("'sha256-{}'", base64ct::Base64::encode_string(&digest));
        assert_eq!(style_csp_source(), expected);
        assert!(
            !page[start..end].contains('<'),
            "the style is not escaped or altered"
        );
    }
}
