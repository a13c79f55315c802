//! Bearer-token auth (SPEC §7): tokens from `--auth FILE` (TOML) and `TASKYARD_TOKEN`,
//! four roles, and which role may use which class of route. Tokens are kept only as
//! SHA-256 digests, compared in constant time, and never logged.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Executor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Executor => "executor",
            Role::Admin => "admin",
        }
    }

    pub fn may(self, class: RouteClass) -> bool {
        match class {
            RouteClass::Public | RouteClass::Read => true,
            RouteClass::Operate => matches!(self, Role::Operator | Role::Admin),
            RouteClass::Execute => matches!(self, Role::Executor | Role::Admin),
            RouteClass::Admin => self == Role::Admin,
        }
    }
}

/// What a route does, which decides the roles that may call it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RouteClass {
    /// `/healthz`, the OpenAPI document: no token needed.
    Public,
    /// Every GET.
    Read,
    /// `POST /api/v1/actions`.
    Operate,
    /// `POST /api/v1/executor/*`.
    Execute,
    /// Changing definitions and schedules.
    Admin,
}

impl RouteClass {
    pub fn of(method: &axum::http::Method, path: &str) -> RouteClass {
        let path = path.trim_end_matches('/');
        if path == "/healthz" || path == "/api/v1/openapi.json" {
            return RouteClass::Public;
        }
        if path.starts_with("/api/v1/executor/") || path == "/api/v1/executor" {
            return RouteClass::Execute;
        }
        if path == "/api/v1/actions" {
            return RouteClass::Operate;
        }
        let read = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
        if (path.starts_with("/api/v1/definitions") || path.starts_with("/api/v1/schedules"))
            && !read
        {
            return RouteClass::Admin;
        }
        if read {
            RouteClass::Read
        } else {
            // Unknown writes: a valid token is needed to learn that the route is unknown;
            // the router then answers 404 or 405.
            RouteClass::Read
        }
    }

    pub fn needs(self) -> &'static str {
        match self {
            RouteClass::Public | RouteClass::Read => "any role",
            RouteClass::Operate => "role operator or admin",
            RouteClass::Execute => "role executor or admin",
            RouteClass::Admin => "role admin",
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    name: String,
    role: Role,
    digest: [u8; 32],
}

/// The tokens a server accepts; empty means auth is off.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    tokens: Vec<Token>,
}

/// Who a valid token belongs to.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    role: Role,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    token_sha256: Option<String>,
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Auth {
    pub fn is_enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Parses the TOML of an auth file; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Auth, String> {
        let file: AuthFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let mut auth = Auth::default();
        for (i, entry) in file.token.into_iter().enumerate() {
            let at = format!("{origin}: token #{} (`{}`)", i + 1, entry.name);
            if entry.name.trim().is_empty() {
                return Err(format!("{at}: `name` must not be empty"));
            }
            let digest = match (&entry.token, &entry.token_sha256) {
                (Some(plain), None) if !plain.is_empty() => sha256(plain),
                (None, Some(hex)) => parse_hex_digest(hex).ok_or_else(|| {
                    format!(
                        "{at}: `token_sha256` must be 64 hex digits (the output of `sha256sum`)"
                    )
                })?,
                _ => {
                    return Err(format!(
                        "{at}: give exactly one of `token = \"<plain>\"` or `token_sha256 = \"<hex>\"`"
                    ));
                }
            };
            auth.add(entry.name, entry.role, digest)?;
        }
        Ok(auth)
    }

    pub fn load(path: &Path) -> Result<Auth, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the auth file {}: {e}", path.display()))?;
        Auth::parse(&text, &path.display().to_string())
    }

    /// `TASKYARD_TOKEN`: one token named `admin` with role admin.
    pub fn add_admin_token(&mut self, token: &str) -> Result<(), String> {
        if token.is_empty() {
            return Err("TASKYARD_TOKEN is set but empty; unset it or give it a value".into());
        }
        self.add("admin".into(), Role::Admin, sha256(token))
    }

    fn add(&mut self, name: String, role: Role, digest: [u8; 32]) -> Result<(), String> {
        if self.tokens.iter().any(|t| t.name == name) {
            return Err(format!(
                "two tokens are named `{name}`; names must be unique (they show as requester)"
            ));
        }
        self.tokens.push(Token { name, role, digest });
        Ok(())
    }

    /// The owner of a presented token, if it is one of ours. Every stored digest is
    /// compared, in constant time, so timing tells nothing about which one matched.
    pub fn verify(&self, presented: &str) -> Option<Principal> {
        let digest = sha256(presented);
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.digest.ct_eq(&digest)) {
                found = Some(Principal {
                    name: t.name.clone(),
                    role: t.role,
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_hashed_tokens() {
        let hex: String = sha256("s3cret")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let text = format!(
            "[[token]]\nname = \"alice\"\nrole = \"operator\"\ntoken = \"pw\"\n\n[[token]]\nname = \"bob\"\nrole = \"viewer\"\ntoken_sha256 = \"{hex}\"\n"
        );
        let auth = Auth::parse(&text, "auth.toml").unwrap();
        assert_eq!(auth.verify("pw").unwrap().name, "alice");
        assert_eq!(auth.verify("s3cret").unwrap().role, Role::Viewer);
        assert!(auth.verify("nope").is_none());
    }

    #[test]
    fn refuses_bad_files_with_a_reason() {
        let err =
            Auth::parse("[[token]]\nname=\"a\"\nrole=\"root\"\ntoken=\"x\"", "f").unwrap_err();
        assert!(err.contains("root"), "{err}");
        let err = Auth::parse("[[token]]\nname=\"a\"\nrole=\"admin\"", "f").unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
        let err = Auth::parse(
            "[[token]]\nname=\"a\"\nrole=\"admin\"\ntoken_sha256=\"zz\"",
            "f",
        )
        .unwrap_err();
        assert!(err.contains("64 hex"), "{err}");
        let dup = "[[token]]\nname=\"a\"\nrole=\"admin\"\ntoken=\"x\"\n[[token]]\nname=\"a\"\nrole=\"viewer\"\ntoken=\"y\"";
        assert!(Auth::parse(dup, "f").unwrap_err().contains("unique"));
    }

    #[test]
    fn roles_cover_route_classes() {
        use RouteClass::*;
        assert!(Role::Viewer.may(Read) && !Role::Viewer.may(Operate));
        assert!(Role::Operator.may(Operate) && !Role::Operator.may(Execute));
        assert!(Role::Executor.may(Execute) && !Role::Executor.may(Admin));
        assert!(Role::Admin.may(Admin) && Role::Admin.may(Execute));
        let post = axum::http::Method::POST;
        assert_eq!(RouteClass::of(&post, "/api/v1/executor/poll"), Execute);
        assert_eq!(
            RouteClass::of(&axum::http::Method::PUT, "/api/v1/definitions/x"),
            Admin
        );
        assert_eq!(
            RouteClass::of(&axum::http::Method::GET, "/api/v1/definitions/x"),
            Read
        );
        assert_eq!(RouteClass::of(&axum::http::Method::GET, "/healthz"), Public);
    }
}
