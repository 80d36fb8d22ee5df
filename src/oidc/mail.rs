//! Mail the provider sends on its own (issue 18): the link that finishes a sign-up, the note
//! to an address that signed up again, the password-reset link. A request puts its messages
//! in its `Outbox`; the adapter hands them to the deployment's transport after the response
//! (as it stores the audit log), so an answer takes as long whether a message goes or not,
//! and its timing does not tell which addresses have accounts.
//!
//! Each message is plain, accessible HTML (one column, real text, the link written out as
//! well as a button) with a text part saying the same, and names the application the person
//! came from.

use std::cell::RefCell;

use crate::model::html::escape;

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a request will send, sent after its response.
#[derive(Debug, Default)]
pub struct Outbox(RefCell<Vec<Mail>>);

impl Outbox {
    pub fn send(&self, mail: Mail) {
        self.0.borrow_mut().push(mail);
    }

    pub fn take(&self) -> Vec<Mail> {
        std::mem::take(&mut self.0.borrow_mut())
    }

    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// A message: a heading, paragraphs, one action (its label and link), a closing line.
struct Message<'a> {
    to: &'a str,
    subject: String,
    paragraphs: Vec<String>,
    action: Option<(&'a str, &'a str)>,
    closing: &'a str,
}

impl Message<'_> {
    fn render(self) -> Mail {
        let mut text = String::new();
        let mut html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{subject}</title></head>\
             <body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:system-ui,sans-serif;\
             color:#222;line-height:1.5\"><div style=\"max-width:32rem;margin:0 auto;background:#fff;\
             padding:24px;border-radius:8px\"><h1 style=\"font-size:1.25rem;margin:0 0 1rem\">{subject}</h1>",
            subject = escape(&self.subject)
        );
        for p in &self.paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
            html.push_str(&format!("<p>{}</p>", escape(p)));
        }
        if let Some((label, link)) = self.action {
            text.push_str(&format!("{label}:\n{link}\n\n"));
            html.push_str(&format!(
                "<p><a href=\"{href}\" style=\"display:inline-block;background:#2656d9;color:#fff;\
                 padding:10px 16px;border-radius:4px;text-decoration:none\">{label}</a></p>\
                 <p style=\"font-size:.85rem;color:#555\">Or open this link: \
                 <a href=\"{href}\" style=\"word-break:break-all\">{text}</a></p>",
                href = escape(link),
                label = escape(label),
                text = escape(link),
            ));
        }
        text.push_str(self.closing);
        text.push('\n');
        html.push_str(&format!(
            "<p style=\"font-size:.85rem;color:#555\">{}</p></div></body></html>",
            escape(self.closing)
        ));
        Mail {
            to: self.to.to_string(),
            subject: self.subject,
            text,
            html,
        }
    }
}

const NOT_YOU: &str =
    "If this was not you, ignore this message: nothing changes until the link is opened.";

/// Finishes a sign-up: the account is made when the link is opened, so an address nobody
/// proved gets no account.
pub fn confirm_signup(app_name: &str, to: &str, link: &str, valid_hours: i64) -> Mail {
    Message {
        to,
        subject: format!("Confirm your email for {app_name}"),
        paragraphs: vec![
            format!("Someone (we hope you) asked to create an account for {app_name} with this address."),
            format!("Open the link within {valid_hours} hours to confirm the address and finish creating the account."),
        ],
        action: Some(("Confirm and create my account", link)),
        closing: NOT_YOU,
    }
    .render()
}

/// A sign-up for an address that has an account: the page said the same as for a new
/// address, and the owner hears of it here, with a way back in.
pub fn account_exists(app_name: &str, to: &str, reset_link: &str) -> Mail {
    Message {
        to,
        subject: format!("You already have an account for {app_name}"),
        paragraphs: vec![
            format!("Someone (we hope you) tried to sign up for {app_name} with this address, which already has an account."),
            "Sign in with your password, or set a new one if you have forgotten it.".to_string(),
        ],
        action: Some(("Set a new password", reset_link)),
        closing: "If this was not you, ignore this message: your account has not changed.",
    }
    .render()
}

/// A link that proves a new address for an account (the account page).
pub fn confirm_email_change(place: &str, to: &str, link: &str, valid_hours: i64) -> Mail {
    Message {
        to,
        subject: format!("Confirm your new email for {place}"),
        paragraphs: vec![
            format!("Someone (we hope you) asked to use this address for their {place} account."),
            format!("Open the link within {valid_hours} hours to confirm it. The account keeps its old address until then."),
        ],
        action: Some(("Confirm this address", link)),
        closing: NOT_YOU,
    }
    .render()
}

/// To the old address, when a change of address is asked for: the owner hears of it even
/// if someone else is at the keyboard.
pub fn email_change_notice(place: &str, to: &str, new: &str) -> Mail {
    Message {
        to,
        subject: format!("Your {place} email is about to change"),
        paragraphs: vec![
            format!("Someone signed in to your {place} account asked to change its address to {new}. It changes when that address is confirmed."),
            "If this was not you, sign in to your account page now, choose \"Sign out everywhere\" and change your password.".to_string(),
        ],
        action: None,
        closing: "This message is for your information; there is nothing to do if it was you.",
    }
    .render()
}

/// A password-reset link.
pub fn reset_password(app_name: &str, to: &str, link: &str, valid_minutes: i64) -> Mail {
    Message {
        to,
        subject: format!("Set a new password for {app_name}"),
        paragraphs: vec![
            format!("Someone (we hope you) asked to set a new password for your {app_name} account."),
            format!("The link works once, for {valid_minutes} minutes. Setting a new password signs you out everywhere."),
        ],
        action: Some(("Set a new password", link)),
        closing: NOT_YOU,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_application_escape_it_and_carry_the_link_twice() {
        let m = confirm_signup(
            "<Acme & Co>",
            "a@example.com",
            "https://id.example/x?t=1&u=2",
            24,
        );
        assert_eq!(m.to, "a@example.com");
        assert_eq!(m.subject, "Confirm your email for <Acme & Co>");
        assert!(m.text.contains("<Acme & Co>"));
        assert!(m.text.contains("https://id.example/x?t=1&u=2"));
        assert!(m.html.contains("&lt;Acme &amp; Co&gt;"));
        assert!(!m.html.contains("<Acme"));
        assert_eq!(
            m.html.matches("https://id.example/x?t=1&amp;u=2").count(),
            3
        );
        assert!(m.html.starts_with("<!doctype html><html lang=\"en\">"));
    }

    #[test]
    fn the_outbox_hands_its_messages_over_once() {
        let outbox = Outbox::default();
        assert!(outbox.is_empty());
        outbox.send(reset_password("App", "a@example.com", "https://l", 30));
        assert_eq!(outbox.take().len(), 1);
        assert!(outbox.take().is_empty());
    }
}
