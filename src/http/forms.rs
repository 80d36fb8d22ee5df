//! The self-service pages (issue 18): sign-up, password reset, and the pages their mailed
//! links open. Plain forms like the login page's (`pages`): no script, its style and CSP,
//! every value escaped, CSRF-protected by the caller.

use super::pages::{escape, layout, Brand};

/// A text field of a form.
pub struct Input<'a> {
    pub id: &'a str,
    pub label: &'a str,
    /// `email`, `text`, `password`.
    pub kind: &'a str,
    /// The `autocomplete` token (`username`, `new-password`, `name`), so password managers
    /// do the right thing.
    pub autocomplete: &'a str,
    pub value: &'a str,
    pub required: bool,
    /// Said under the field (and tied to it with `aria-describedby`).
    pub hint: Option<&'a str>,
}

/// A page with one form.
pub struct Form<'a> {
    pub title: &'a str,
    /// A sentence under the heading.
    pub intro: &'a str,
    pub app_name: Option<&'a str>,
    pub brand: Brand<'a>,
    pub error: Option<&'a str>,
    pub action: &'a str,
    /// Hidden fields (the CSRF token, the carried request or link).
    pub hidden: &'a [(&'a str, &'a str)],
    /// The account a new password is for: a hidden `username` field, so password managers
    /// file the password under it.
    pub username: Option<&'a str>,
    pub inputs: &'a [Input<'a>],
    pub button: &'a str,
    /// Links under the form: (label, URL).
    pub links: &'a [(&'a str, &'a str)],
}

fn link_line(links: &[(&str, &str)]) -> String {
    if links.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = links
        .iter()
        .map(|(label, url)| format!("<a href=\"{}\">{}</a>", escape(url), escape(label)))
        .collect();
    format!("<p class=\"links\">{}</p>", shown.join(" · "))
}

pub fn form(f: &Form) -> String {
    let mut body = f.app_name.map(|n| f.brand.logo(n)).unwrap_or_default();
    body.push_str(&format!(
        "<h1>{}</h1><p>{}</p>",
        escape(f.title),
        escape(f.intro)
    ));
    if let Some(e) = f.error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        escape(f.action)
    ));
    for (name, value) in f.hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    if let Some(u) = f.username {
        body.push_str(&format!(
            "<input type=\"text\" name=\"username\" autocomplete=\"username\" value=\"{}\" hidden>",
            escape(u)
        ));
    }
    for i in f.inputs {
        let described = i
            .hint
            .map(|_| format!(" aria-describedby=\"{}-hint\"", escape(i.id)))
            .unwrap_or_default();
        body.push_str(&format!(
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\" type=\"{kind}\" \
             autocomplete=\"{auto}\" value=\"{value}\"{required}{described}>",
            id = escape(i.id),
            label = escape(i.label),
            kind = escape(i.kind),
            auto = escape(i.autocomplete),
            value = escape(i.value),
            required = if i.required { " required" } else { "" },
        ));
        if let Some(hint) = i.hint {
            body.push_str(&format!(
                "<small id=\"{}-hint\">{}</small>",
                escape(i.id),
                escape(hint)
            ));
        }
    }
    body.push_str(&format!(
        "<button type=\"submit\">{}</button></form>",
        escape(f.button)
    ));
    body.push_str(&link_line(f.links));
    if let Some(n) = f.app_name {
        body.push_str(&f.brand.links(n));
    }
    layout(f.title, &body)
}

/// A page that only tells: a heading, paragraphs, links.
pub fn notice(title: &str, paragraphs: &[&str], links: &[(&str, &str)]) -> String {
    let text: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    layout(
        title,
        &format!("<h1>{}</h1>{text}{}", escape(title), link_line(links)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_escape_everything_and_label_every_field() {
        let page = form(&Form {
            title: "Create <account>",
            intro: "for \"x\"",
            app_name: Some("<App>"),
            brand: Brand::default(),
            error: Some("<b>bad</b>"),
            action: "/signup",
            hidden: &[("csrf_token", "t\"><script>")],
            username: Some("a@example.com"),
            inputs: &[Input {
                id: "email",
                label: "Email",
                kind: "email",
                autocomplete: "username",
                value: "\"><script>",
                required: true,
                hint: Some("We send a <link>"),
            }],
            button: "Continue",
            links: &[("Sign in", "/authorize?a=1&b=2")],
        });
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<link>"));
        assert!(page.contains("<label for=\"email\">Email</label>"));
        assert!(page.contains("aria-describedby=\"email-hint\""));
        assert!(page.contains("href=\"/authorize?a=1&amp;b=2\""));
        assert!(page.contains("role=\"alert\""));
        let n = notice("Check <your> email", &["We sent a link to <a@b>."], &[]);
        assert!(n.contains("&lt;a@b&gt;") && !n.contains("<your>"));
    }
}
