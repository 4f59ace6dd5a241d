//! Static files of the web client (a built folder, e.g. `web/dist`), served for any
//! GET no other route answers. Every path is confined to the folder: no `..`, no
//! hidden files, nothing encoded that decodes to either (axum decodes once, we refuse
//! what is left), and no symlink that leads outside (the resolved path must stay
//! under the resolved root).

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// A folder requests may read files from, resolved once: a request path names a
/// regular file inside it, or nothing. The web client's files and the music
/// folder's tracks are served through it.
#[derive(Clone, Debug)]
pub struct Confined {
    root: PathBuf,
}

impl Confined {
    /// `dir`, if it exists.
    pub fn open(dir: &Path) -> Option<Confined> {
        let root = std::fs::canonicalize(dir).ok()?;
        root.is_dir().then_some(Confined { root })
    }

    /// The file a request path names, if it is a regular file inside the root.
    pub fn resolve(&self, request_path: &str) -> Option<PathBuf> {
        let rel = request_path.trim_start_matches('/');
        if !plain_relative(rel) {
            return None;
        }
        // Through every symlink: what it names must still be inside the root.
        let full = std::fs::canonicalize(self.root.join(rel)).ok()?;
        (full.starts_with(&self.root) && full.is_file()).then_some(full)
    }
}

/// Whether `rel` (already URL-decoded, once) is a plain relative path: names only,
/// none hidden, no `..`, no root, no backslash or NUL. A `%` left after the one
/// decoding is a literal character of a name, so a double-encoded `..` names a
/// file called `%2e%2e`, not the parent.
pub fn plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains(['\\', '\0'])
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(n) if !n.to_string_lossy().starts_with('.')))
}

/// The folder of the web client, resolved once.
#[derive(Clone, Debug)]
pub struct WebRoot {
    folder: Confined,
}

impl WebRoot {
    /// The web client in `dir`, if it holds an `index.html`.
    pub fn open(dir: &Path) -> Option<WebRoot> {
        let folder = Confined::open(dir)?;
        folder
            .root
            .join("index.html")
            .is_file()
            .then_some(WebRoot { folder })
    }

    /// The file a request path names, if it is a regular file inside the root
    /// (the root itself is its index.html).
    pub fn resolve(&self, request_path: &str) -> Option<PathBuf> {
        match request_path.trim_start_matches('/') {
            "" => Some(self.index()),
            rel => self.folder.resolve(rel),
        }
    }

    /// The single-page app's entry, for client-side routes.
    fn index(&self) -> PathBuf {
        self.folder.root.join("index.html")
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers a GET for `request_path` from `root`: the file, or the app's index for a
/// path without an extension (a client-side route), or a JSON 404.
pub async fn serve(root: Option<&WebRoot>, request_path: &str) -> Response {
    let Some(root) = root else {
        return ApiError::not_found("no such route").into_response();
    };
    let file = match root.resolve(request_path) {
        Some(f) => f,
        None if !request_path.contains('.') && !request_path.starts_with("/api/") => root.index(),
        None => return ApiError::not_found("no such file").into_response(),
    };
    let Ok(body) = tokio::fs::read(&file).await else {
        return ApiError::not_found("no such file").into_response();
    };
    // Built assets carry a content hash in their names: cache them for ever. The
    // rest (index.html, the service worker) must be revalidated.
    let immutable = file
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "assets");
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (tempfile::TempDir, WebRoot) {
        let d = tempfile::tempdir().unwrap();
        let web = d.path().join("web");
        std::fs::create_dir_all(web.join("assets")).unwrap();
        std::fs::write(web.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(web.join("assets/app-1a2b.js"), "x").unwrap();
        std::fs::write(web.join(".env"), "SECRET=1").unwrap();
        std::fs::write(d.path().join("outside.txt"), "secret").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("outside.txt"), web.join("escape.txt"))
                .unwrap();
            std::os::unix::fs::symlink(d.path(), web.join("up")).unwrap();
            std::os::unix::fs::symlink(web.join("assets/app-1a2b.js"), web.join("inside.js"))
                .unwrap();
        }
        let root = WebRoot::open(&web).unwrap();
        (d, root)
    }

    #[test]
    fn a_confined_folder_serves_only_its_own_regular_files() {
        let d = tempfile::tempdir().unwrap();
        let music = d.path().join("audio");
        std::fs::create_dir_all(music.join("album")).unwrap();
        std::fs::write(music.join("album/a.mp3"), b"x").unwrap();
        // A sibling whose name starts like the folder's: the original's prefix check
        // let `/audio2` pass as `/audio`.
        std::fs::create_dir_all(d.path().join("audio2")).unwrap();
        std::fs::write(d.path().join("audio2/b.mp3"), b"x").unwrap();
        let f = Confined::open(&music).unwrap();
        assert!(f.resolve("album/a.mp3").is_some());
        for bad in [
            "",
            "album",
            "../audio2/b.mp3",
            "album/../../audio2/b.mp3",
            "%2e%2e/audio2/b.mp3",
            "/etc/passwd",
            ".hidden",
        ] {
            assert!(f.resolve(bad).is_none(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("audio2/b.mp3"), music.join("out.mp3"))
                .unwrap();
            assert!(f.resolve("out.mp3").is_none(), "a symlink leading out");
        }
        assert!(Confined::open(&d.path().join("missing")).is_none());
    }

    #[test]
    fn paths_stay_inside_the_folder() {
        let (_d, root) = site();
        assert!(root.resolve("/").unwrap().ends_with("index.html"));
        assert!(root.resolve("/assets/app-1a2b.js").is_some());
        for bad in [
            "/../outside.txt",
            "/assets/../../outside.txt",
            "/%2e%2e/outside.txt",
            "/%252e%252e%252foutside.txt",
            "/..\\outside.txt",
            "/.env",
            "/assets/.hidden",
            "//etc/passwd",
            "/escape.txt",
            "/up/outside.txt",
            "/nul\0",
        ] {
            assert_eq!(root.resolve(bad), None, "{bad}");
        }
        #[cfg(unix)]
        assert!(
            root.resolve("/inside.js").is_some(),
            "a link that stays inside is fine"
        );
        assert!(WebRoot::open(Path::new("/nonexistent/web")).is_none());
    }

    #[tokio::test]
    async fn answers_files_app_routes_and_404s() {
        let (_d, root) = site();
        let r = serve(Some(&root), "/assets/app-1a2b.js").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(
            r.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let r = serve(Some(&root), "/library").await;
        assert_eq!(
            (
                r.status(),
                r.headers()[header::CACHE_CONTROL].to_str().unwrap()
            ),
            (StatusCode::OK, "no-cache")
        );
        assert_eq!(serve(Some(&root), "/missing.js").await.status(), 404);
        assert_eq!(serve(Some(&root), "/escape.txt").await.status(), 404);
        assert_eq!(serve(Some(&root), "/api/nothing").await.status(), 404);
        assert_eq!(serve(None, "/").await.status(), 404);
    }
}
