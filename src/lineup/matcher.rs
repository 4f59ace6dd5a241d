//! Which videos of the shared library a channel airs: its [`Sources`] (globs over
//! paths relative to its folders, creators), compiled against its folders into a
//! [`Matcher`].

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::settings::Invalid;

/// Which videos of the shared library belong to a channel, beyond its folders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Globs a video's path (relative to its folder) must match one of; none:
    /// every video.
    pub include: Vec<String>,
    /// Globs a video's path must match none of; they win over `include`.
    pub exclude: Vec<String>,
    /// Creators (case and surrounding spaces aside) a video must be by one of;
    /// none: any creator, or none known.
    pub creators: Vec<String>,
}

/// A channel's [`Sources`] compiled against its folders: whether a video is the
/// channel's.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The channel's folders, absolute, deepest first (a video under two nested
    /// folders is judged relative to the nearer one).
    folders: Vec<PathBuf>,
    /// None: everything is included.
    include: Option<GlobSet>,
    exclude: GlobSet,
    /// Trimmed and lower-cased.
    creators: Vec<String>,
}

impl Matcher {
    /// Compiles `sources` for videos under `folders`; the error names the key
    /// (`include: invalid glob ...`).
    pub fn new(folders: &[PathBuf], sources: &Sources) -> Result<Matcher, String> {
        Matcher::build(folders, sources).map_err(|e| e.to_string())
    }

    pub(super) fn build(folders: &[PathBuf], sources: &Sources) -> Result<Matcher, Invalid> {
        let mut folders: Vec<PathBuf> = folders.iter().map(|f| absolute(f).into_owned()).collect();
        folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
        let include = if sources.include.is_empty() {
            None
        } else {
            Some(glob_set("include", &sources.include)?)
        };
        Ok(Matcher {
            folders,
            include,
            exclude: glob_set("exclude", &sources.exclude)?,
            creators: sources.creators.iter().map(|c| creator_key(c)).collect(),
        })
    }

    /// Whether the video at `path` (under one of the folders; a relative path is
    /// taken from the working directory, as the folders are) by `creator` is the
    /// channel's: under one of its folders, its path relative to that folder
    /// included and not excluded, and by one of its creators if it names any.
    pub fn matches(&self, path: &Path, creator: Option<&str>) -> bool {
        let path = absolute(path);
        let Some(relative) = self
            .folders
            .iter()
            .find_map(|f| path.strip_prefix(f).ok())
            .filter(|r| !r.as_os_str().is_empty())
        else {
            return false;
        };
        let candidate = Candidate::new(relative);
        if self
            .include
            .as_ref()
            .is_some_and(|g| !g.is_match_candidate(&candidate))
            || self.exclude.is_match_candidate(&candidate)
        {
            return false;
        }
        self.creators.is_empty() || creator.is_some_and(|c| self.creators.contains(&creator_key(c)))
    }

    /// The folders it matches under, absolute, deepest first.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }
}

/// A creator as compared: case and surrounding spaces do not count.
fn creator_key(c: &str) -> String {
    c.trim().to_lowercase()
}

/// `p` from the root, without touching the disk (no symlinks resolved), so that
/// relative folders and absolute paths compare; `p` itself if that fails.
fn absolute(p: &Path) -> Cow<'_, Path> {
    if p.is_absolute() {
        return Cow::Borrowed(p);
    }
    std::path::absolute(p).map_or(Cow::Borrowed(p), Cow::Owned)
}

/// One glob of `include` or `exclude`: `*` stays within a folder, `**` crosses
/// folders, `**/` also matches no folder.
pub(super) fn glob(pattern: &str) -> Result<globset::Glob, String> {
    if pattern.is_empty() {
        return Err("a glob must not be empty".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "`{pattern}` starts with /: globs match paths relative to the channel's folders"
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

fn glob_set(field: &'static str, patterns: &[String]) -> Result<GlobSet, Invalid> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(glob(p).map_err(|reason| Invalid::of(field, reason))?);
    }
    set.build().map_err(|e| Invalid::of(field, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(include: &[&str], exclude: &[&str], creators: &[&str]) -> Matcher {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        let sources = Sources {
            include: list(include),
            exclude: list(exclude),
            creators: list(creators),
        };
        Matcher::new(&["/lib/a".into(), "/lib/b".into()], &sources).unwrap()
    }

    fn yes(m: &Matcher, path: &str) -> bool {
        m.matches(Path::new(path), None)
    }

    #[test]
    fn globs_match_paths_relative_to_the_folder() {
        let all = matcher(&["**/*.mp4"], &[], &[]);
        assert!(yes(&all, "/lib/a/a.mp4"));
        assert!(yes(&all, "/lib/b/x/y/a.mp4"));
        assert!(!yes(&all, "/lib/a/a.mkv"));
        let top = matcher(&["*.mp4"], &[], &[]);
        assert!(yes(&top, "/lib/a/a.mp4"));
        assert!(!yes(&top, "/lib/a/x/a.mp4"), "* stays within a folder");
        let not_trailers = matcher(&[], &["**/trailers/**"], &[]);
        assert!(!yes(&not_trailers, "/lib/a/trailers/a.mp4"));
        assert!(!yes(&not_trailers, "/lib/b/x/trailers/b.mp4"));
        assert!(yes(&not_trailers, "/lib/b/x/trailer.mp4"));
        let both = matcher(&["**/*.mp4"], &["x/**"], &[]);
        assert!(yes(&both, "/lib/a/y/a.mp4"));
        assert!(!yes(&both, "/lib/a/x/a.mp4"), "exclude wins");
        // The folder's name is not part of what globs see.
        assert!(!yes(&matcher(&["a/**"], &[], &[]), "/lib/a/v.mp4"));
    }

    #[test]
    fn paths_outside_the_folders_never_match() {
        let m = matcher(&[], &[], &[]);
        assert!(yes(&m, "/lib/a/v.mp4"));
        assert!(!yes(&m, "/lib/c/v.mp4"));
        assert!(!yes(&m, "/lib/ab/v.mp4"), "a folder is whole components");
        assert!(!yes(&m, "/lib/a"), "the folder itself is no video");
        assert!(!yes(&m, "v.mp4"));
    }

    #[test]
    fn nested_folders_judge_by_the_nearer_one() {
        let sources = Sources {
            include: vec!["*.mp4".into()],
            ..Sources::default()
        };
        let m = Matcher::new(&["/lib".into(), "/lib/a".into()], &sources).unwrap();
        assert!(m.matches(Path::new("/lib/a/v.mp4"), None));
        assert_eq!(m.folders()[0], Path::new("/lib/a"));
    }

    #[test]
    fn creators_filter_case_and_spaces_aside() {
        let m = matcher(&[], &[], &[" David Attenborough ", "bbc"]);
        let by = |c| m.matches(Path::new("/lib/a/v.mp4"), c);
        assert!(by(Some("david attenborough")));
        assert!(by(Some("BBC ")));
        assert!(!by(Some("Someone")));
        assert!(!by(None), "an unknown creator is none of them");
        assert!(matcher(&[], &[], &[]).matches(Path::new("/lib/a/v.mp4"), None));
    }

    #[test]
    fn a_bad_glob_is_named_by_its_key() {
        let bad = Sources {
            exclude: vec!["{a".into()],
            ..Sources::default()
        };
        let e = Matcher::new(&[], &bad).unwrap_err();
        assert!(e.starts_with("exclude: invalid glob `{a`: "), "{e}");
    }
}
