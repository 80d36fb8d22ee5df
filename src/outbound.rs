//! The Workers side of the provider's own outbound traffic: HTTP requests through the
//! runtime's `fetch` (`runtime::Outbound`: logout tokens, clients' `jwks_uri`) and mail
//! (`oidc::mail`) through the transport the deployment chose. Part of the adapter: it
//! touches the runtime.

use wasm_bindgen::JsValue;
use worker::Env;

use crate::error::log_error;
use crate::oidc::mail::Mail;
use crate::runtime::Outbound;

/// Outbound requests through the runtime's `fetch`, given up after `OUTBOUND_TIMEOUT`.
pub struct WorkerFetch;

/// How long a relying party may take to answer a logout token (Back-Channel Logout 1.0
/// §2.5 leaves it to the OP), or to serve its keys; the runtime keeps `waitUntil` work
/// alive for 30 s.
const OUTBOUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn js_text(e: JsValue) -> String {
    format!("{e:?}")
}

/// `fut`, or an error once `OUTBOUND_TIMEOUT` has passed.
async fn in_time<T>(
    fut: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    use std::future::Future;
    use std::task::Poll;
    let mut fut = std::pin::pin!(fut);
    let mut timeout = std::pin::pin!(worker::Delay::from(OUTBOUND_TIMEOUT));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        match timeout.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err("no answer in time".into())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

impl WorkerFetch {
    /// One request, redirects not followed (a redirect is the answer).
    async fn send(url: &str, init: web_sys::RequestInit) -> Result<web_sys::Response, String> {
        use wasm_bindgen::JsCast;
        init.set_redirect(web_sys::RequestRedirect::Manual);
        let global = js_sys::global();
        let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
            .map_err(js_text)?
            .dyn_into()
            .map_err(js_text)?;
        let promise = fetch
            .call2(&global, &JsValue::from_str(url), &init)
            .map_err(js_text)?;
        let answer = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
            .await
            .map_err(js_text)?;
        Ok(answer.unchecked_into())
    }
}

impl WorkerFetch {
    /// POSTs `body` as `content_type` (with an `Authorization` header when given), without
    /// following redirects, within the time limit: the answer's status.
    async fn post(
        &self,
        url: &str,
        content_type: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> Result<u16, String> {
        let headers = web_sys::Headers::new().map_err(js_text)?;
        headers.set("Content-Type", content_type).map_err(js_text)?;
        if let Some(a) = authorization {
            headers.set("Authorization", a).map_err(js_text)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(body));
        in_time(async { Ok(Self::send(url, init).await?.status()) }).await
    }
}

impl Outbound for WorkerFetch {
    async fn post_form(&self, url: &str, body: &str) -> Result<u16, String> {
        self.post(url, "application/x-www-form-urlencoded", None, body)
            .await
    }

    async fn get(&self, url: &str, max_bytes: usize) -> Result<(u16, String), String> {
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        in_time(async {
            let res = Self::send(url, init).await?;
            let declared = res.headers().get("content-length").ok().flatten();
            if declared
                .and_then(|l| l.parse::<usize>().ok())
                .is_some_and(|l| l > max_bytes)
            {
                return Err("the answer is too large".into());
            }
            let text = wasm_bindgen_futures::JsFuture::from(res.text().map_err(js_text)?)
                .await
                .map_err(js_text)?
                .as_string()
                .unwrap_or_default();
            if text.len() > max_bytes {
                return Err("the answer is too large".into());
            }
            Ok((res.status(), text))
        })
        .await
    }
}

/// The binding name of Cloudflare's `send_email` (`[[send_email]]` in wrangler.toml).
pub const SEND_EMAIL_BINDING: &str = "EMAIL";

/// How mail leaves, chosen at deploy time (`MAIL_TRANSPORT`).
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `MAIL_TRANSPORT = "send_email"`: Cloudflare's `send_email` binding (`EMAIL`).
    SendEmail { from: String },
    /// `MAIL_TRANSPORT = "http"`: an HTTP email API taking Resend's JSON
    /// (`{from, to: [..], subject, text, html}`, `Authorization: Bearer MAIL_API_KEY`) at
    /// `MAIL_API_URL`. Locally and in tests that URL is the mail sink
    /// (`scripts/mail-sink.mjs`), so the same code delivers there.
    Http {
        url: String,
        key: String,
        from: String,
    },
}

impl MailTransport {
    /// The transport the vars and secrets describe; `None` (and a log line saying why) when
    /// none is set up, and then nothing that needs mail is offered.
    pub fn from_env(
        var: &dyn Fn(&str) -> Option<String>,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        let kind = var("MAIL_TRANSPORT").filter(|k| !k.trim().is_empty())?;
        let from = var("MAIL_FROM").filter(|f| f.contains('@'));
        let transport = match (kind.trim(), from) {
            (_, None) => Err("MAIL_FROM (an address) is not set"),
            ("send_email", Some(from)) => Ok(Self::SendEmail { from }),
            ("http", Some(from)) => match (var("MAIL_API_URL"), secret("MAIL_API_KEY")) {
                (Some(url), Some(key)) if url.starts_with("http") => {
                    Ok(Self::Http { url, key, from })
                }
                _ => Err("MAIL_API_URL and the MAIL_API_KEY secret are needed"),
            },
            _ => Err("MAIL_TRANSPORT must be send_email or http"),
        };
        transport
            .map_err(|why| log_error(&format!("mail is off: {why}")))
            .ok()
    }

    /// Sends one message; why not, when it could not.
    pub async fn send(&self, env: &Env, mail: &Mail) -> Result<(), String> {
        match self {
            Self::SendEmail { from } => {
                let binding = env
                    .send_email(SEND_EMAIL_BINDING)
                    .map_err(|e| e.to_string())?;
                let message = worker::SendEmailBuilder::builder(from, &mail.to, &mail.subject)
                    .text(&mail.text)
                    .html(&mail.html)
                    .build();
                binding
                    .send_with_builder(&message)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("send_email: {e:?}"))
            }
            Self::Http { url, key, from } => {
                let body = serde_json::json!({
                    "from": from,
                    "to": [mail.to],
                    "subject": mail.subject,
                    "text": mail.text,
                    "html": mail.html,
                });
                let bearer = format!("Bearer {key}");
                let status = WorkerFetch
                    .post(url, "application/json", Some(&bearer), &body.to_string())
                    .await?;
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(format!("the mail API answered {status}"))
                }
            }
        }
    }
}
