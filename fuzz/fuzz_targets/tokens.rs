//! Token parsing and verification: `Authorization` fields and token texts against a token
//! service holding one real token (two deployments: the defaults, and a vendor prefix with a
//! pepper and bare tokens accepted). Never panics; only the real token verifies (the
//! fuzzer easily makes well-formed tokens with a valid checksum, never the secret); every
//! refusal is a 400 or 401 with its challenge and never repeats the secret.
//!
//! The input is a mode byte and a text in which `{token}` stands for the real token (so the
//! fuzzer explores near misses: the token with a character more, less or changed).
#![no_main]

use std::sync::OnceLock;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use scim_tokens::{
    AuthError, DigestKeys, MemoryStore, Pepper, Settings, TenantId, TokenFormat, TokenOptions,
    TokenService,
};

struct Deployment {
    service: TokenService<MemoryStore>,
    token: String,
}

impl Deployment {
    fn new(settings: Settings) -> Self {
        let service = TokenService::new(MemoryStore::new(), settings);
        let tenant = TenantId::new("acme").expect("tenant");
        let issued = service
            .create(&tenant, "Okta", TokenOptions::new())
            .expect("issue");
        let token = issued.token().expose_secret().to_owned();
        Deployment { service, token }
    }

    /// The secret part of the real token: what must never be echoed.
    fn secret(&self) -> &str {
        let p = self.service.settings().format().prefix().len();
        let start = p + 2 + scim_tokens::ID_LEN;
        &self.token[start..start + scim_tokens::SECRET_LEN]
    }
}

fn deployments() -> &'static [Deployment; 2] {
    static D: OnceLock<[Deployment; 2]> = OnceLock::new();
    D.get_or_init(|| {
        let pepper = Pepper::new(7, b"a pepper of at least thirty-two bytes!!").expect("pepper");
        let keys = DigestKeys::with_pepper(pepper, []).expect("keys");
        [
            Deployment::new(Settings::new()),
            Deployment::new(
                Settings::new()
                    .with_prefix("acme_corp")
                    .expect("prefix")
                    .with_digest_keys(keys)
                    .accept_bare_token(true),
            ),
        ]
    })
}

/// `text` with every `{token}` replaced by `token`.
fn substitute(text: &[u8], token: &str) -> Vec<u8> {
    const MARK: &[u8] = b"{token}";
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(MARK) {
            out.extend_from_slice(token.as_bytes());
            i += MARK.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn check_refusal(e: &AuthError, d: &Deployment) {
    let status = e.status().as_u16();
    assert!(status == 400 || status == 401, "status {status}");
    if status == 401 {
        let challenge = e.www_authenticate().expect("a 401 has a challenge");
        assert!(challenge.as_bytes().starts_with(b"Bearer"));
    }
    let shown = format!("{e} {e:?} {:?}", e.kind());
    assert!(!shown.contains(d.secret()), "the secret is shown: {shown}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    for d in deployments() {
        let input = substitute(rest, &d.token);
        let settings = d.service.settings();
        match mode % 3 {
            0 => {
                // Up to four Authorization fields, one a line.
                let mut headers = HeaderMap::new();
                for line in input.split(|&b| b == b'\n').take(4) {
                    if let Ok(v) = HeaderValue::from_bytes(line) {
                        headers.append(AUTHORIZATION, v);
                    }
                }
                let parsed = settings.parse_authorization(&headers);
                match d.service.authenticate(&headers) {
                    Ok(v) => {
                        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
                        let p = parsed.expect("what verifies parses");
                        assert_eq!(p.expose_secret(), d.secret().as_bytes());
                        assert_eq!(v.tenant().as_str(), "acme");
                        let value = headers.get(AUTHORIZATION).expect("one field").as_bytes();
                        assert!(
                            value
                                .windows(d.token.len())
                                .any(|w| w == d.token.as_bytes()),
                            "verified without the real token"
                        );
                    }
                    Err(e) => check_refusal(&e, d),
                }
            }
            1 => match d.service.verify(&input) {
                Ok(_) => assert_eq!(input, d.token.as_bytes(), "verified without the real token"),
                Err(e) => check_refusal(&e, d),
            },
            _ => {
                // A format of the fuzzer's prefix (up to the first `_`), parsing the rest.
                let cut = input.iter().position(|&b| b == b'_').unwrap_or(input.len());
                let prefix = String::from_utf8_lossy(&input[..cut]);
                if let Ok(format) = TokenFormat::new(&prefix) {
                    if let Ok(t) = format.parse(&input) {
                        assert_eq!(input.len(), format.token_len());
                        let shown = format!("{t:?}");
                        let secret = String::from_utf8_lossy(t.expose_secret());
                        assert!(!shown.contains(secret.as_ref()), "Debug shows the secret");
                        // Well formed, but only the real secret verifies.
                        if let Err(e) = settings.parse_token(&input) {
                            check_refusal(&e, d);
                        } else if d.service.verify(&input).is_ok() {
                            assert_eq!(
                                input,
                                d.token.as_bytes(),
                                "verified without the real token"
                            );
                        }
                    }
                }
            }
        }
    }
});
