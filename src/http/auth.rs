//! Who may do what: the admin token guards every mutating route; an optional viewer
//! token guards the rest. Mutating routes also refuse foreign origins, so a page on
//! another site cannot drive the channel through a logged-in browser.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The tokens in force.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// Required by every mutating route.
    pub admin: String,
    /// Required by the stream and read-only routes when set.
    pub viewer: Option<String>,
}

impl Tokens {
    /// True when `token`, given in a URL path by a client that can send neither
    /// headers nor a query string, opens the viewer routes: the viewer token or the
    /// admin one; any, when no viewer token is set (nothing is closed then).
    pub fn viewer_in_path(&self, token: &str) -> bool {
        match &self.viewer {
            None => true,
            Some(viewer) => same(token, viewer) || same(token, &self.admin),
        }
    }

    /// True when a request's headers or query (`query`) carry a token that opens
    /// the viewer routes; any request, when no viewer token is set.
    pub fn viewer_presented(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        match (&self.viewer, presented(headers, query)) {
            (None, _) => true,
            (Some(viewer), Some(t)) => same(&t, viewer) || same(&t, &self.admin),
            (Some(_), None) => false,
        }
    }
}

/// The admin token: `configured` if set, else the one stored in `data/admin-token`,
/// else a new random one, stored there (mode 0600) and printed once. Returns the token
/// and whether it was just made.
pub fn admin_token(configured: Option<&str>, data: &Path) -> std::io::Result<(String, bool)> {
    if let Some(t) = configured.filter(|t| !t.trim().is_empty()) {
        return Ok((t.trim().to_string(), false));
    }
    let path = data.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim();
        if !t.is_empty() {
            return Ok((t.to_string(), false));
        }
    }
    let token: String = {
        use rand::RngExt;
        let mut rng = rand::rng();
        (0..32)
            .map(|_| {
                let c = rng.random_range(0..62u8);
                (match c {
                    0..=9 => b'0' + c,
                    10..=35 => b'a' + c - 10,
                    _ => b'A' + c - 36,
                }) as char
            })
            .collect()
    };
    write_private(&path, &token)?;
    Ok((token, true))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

/// The token a request carries: `Authorization: Bearer …`, `X-Admin-Token`, or
/// (for players and IPTV apps that cannot set headers) a `token` query parameter.
fn presented(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    if let Some(v) = headers.get("x-admin-token").and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_string());
    }
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(percent_decode)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// True when the request's Origin (if any) is this server: browsers send Origin on
/// cross-site requests, so a foreign one means another site's page is calling.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser, or a same-origin GET
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

/// Middleware of the admin routes: same origin, admin token.
pub async fn require_admin(State(tokens): State<Tokens>, req: Request, next: Next) -> Response {
    if !same_origin(req.headers()) {
        return ApiError::forbidden("cross-origin requests may not change the channel")
            .into_response();
    }
    match presented(req.headers(), req.uri().query()) {
        Some(t) if same(&t, &tokens.admin) => next.run(req).await,
        Some(_) => ApiError::unauthorized("wrong admin token").into_response(),
        None => ApiError::unauthorized(
            "admin token required: send Authorization: Bearer <token> (it is in DATA/admin-token)",
        )
        .into_response(),
    }
}

/// Middleware of viewer routes: the viewer token when one is set (the admin token
/// works too). Nothing these routes do changes the channel (an HDHomeRun's
/// `POST /lineup.post` scan only answers that it is done).
pub async fn require_viewer(State(tokens): State<Tokens>, req: Request, next: Next) -> Response {
    let Some(viewer) = &tokens.viewer else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    match presented(req.headers(), req.uri().query()) {
        Some(t) if same(&t, viewer) || same(&t, &tokens.admin) => next.run(req).await,
        _ => ApiError::unauthorized("viewer token required").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_is_made_once_and_kept_private() {
        let d = tempfile::tempdir().unwrap();
        let (a, made) = admin_token(None, d.path()).unwrap();
        assert!(made && a.len() == 32 && a.chars().all(|c| c.is_ascii_alphanumeric()));
        let (b, made) = admin_token(None, d.path()).unwrap();
        assert_eq!((b.as_str(), made), (a.as_str(), false));
        assert_eq!(
            admin_token(Some(" set "), d.path()).unwrap(),
            ("set".into(), false)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("admin-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read it");
        }
    }

    #[test]
    fn tokens_are_read_from_headers_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, Some("a=1&token=x%2By")), Some("x+y".into()));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(presented(&h, None), Some("abc".into()));
        let mut h = HeaderMap::new();
        h.insert("x-admin-token", "def".parse().unwrap());
        assert_eq!(presented(&h, None), Some("def".into()));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, "tv.local:8081".parse().unwrap());
        h.insert(header::ORIGIN, "http://tv.local:8081".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
