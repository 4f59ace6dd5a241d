//! `GET /logos/{slug}`: every channel's logo as a PNG or a JPEG, which every IPTV
//! app and media server decodes (Kodi cannot decode SVG; Plex takes logos from the
//! XMLTV guide only, so the guide's must be one it shows).
//!
//! A channel's own PNG or JPEG is served as it is; its image of another format
//! (SVG, WebP, GIF) is converted to PNG once (`Ffmpeg::logo_from_image`); a channel
//! without one, or whose image cannot be read or converted (a warning says why),
//! gets a PNG drawn from its number and name (`Ffmpeg::drawn_logo`). Conversions and
//! drawings are kept in `data/cache/logos`, named by everything that shapes them, so
//! an edited image, a new name or number, or a new recipe makes a new file and an
//! unchanged one is never made twice. The channel is looked up by its slug in the
//! station: the only file read is the one its definition names.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::lineup::def::ChannelDef;
use crate::transcode::picture::LOGO_RECIPE;
use crate::transcode::{Ffmpeg, TranscodeError, file_stamp, fnv1a};

const PNG: &str = "image/png";

/// A logo, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// The image.
    pub bytes: Vec<u8>,
    /// Its media type: [`PNG`] or `image/jpeg`.
    pub content_type: &'static str,
}

/// The media type of a logo file served as it is, from its extension; `None` for
/// an image to convert.
fn served_as_is(image: &Path) -> Option<&'static str> {
    let ext = image.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some(PNG),
        "jpg" | "jpeg" => Some("image/jpeg"),
        _ => None,
    }
}

/// The cached PNG of the image `image` as it is now (its path, size and
/// modification time).
fn converted_name(image: &Path) -> String {
    format!("image-{:016x}.png", file_stamp(image, LOGO_RECIPE))
}

/// The cached PNG drawn for channel `number` named `name`.
fn drawn_name(number: u32, name: &str) -> String {
    let key = format!("{number}\u{0}{name}\u{0}{LOGO_RECIPE}");
    format!("drawn-{:016x}.png", fnv1a(key.as_bytes()))
}

/// Why a cached logo is not there.
enum Unmade {
    /// Its making failed earlier: not tried again until its inputs change.
    FailedBefore,
    /// Its making failed now.
    Failed(TranscodeError),
}

/// Every channel's logo, made once and kept in a folder.
pub struct Logos {
    ff: Ffmpeg,
    dir: PathBuf,
    /// The logos being made, by file: whoever asks for one meanwhile waits for that
    /// run instead of starting another.
    making: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// Conversions that failed, by file: the drawn logo stands in without another
    /// try (or another warning) until the image changes, and so its file name.
    failed: Mutex<HashSet<PathBuf>>,
}

impl Logos {
    /// Logos made by `ff`, kept in `dir` (created when the first is made).
    pub fn new(ff: Ffmpeg, dir: PathBuf) -> Logos {
        Logos {
            ff,
            dir,
            making: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashSet::new()),
        }
    }

    /// The logo of the channel `def`: its own image when it can be shown, else the
    /// one drawn for it. Fails only when the drawing fails.
    pub async fn get(&self, def: &ChannelDef) -> Result<Logo, TranscodeError> {
        if let Some(image) = &def.logo
            && let Some(logo) = self.own(def, image).await
        {
            return Ok(logo);
        }
        let out = self.dir.join(drawn_name(def.number, &def.name));
        let made = self
            .made(&out, false, || {
                self.ff.drawn_logo(def.number, &def.name, &out)
            })
            .await;
        match made {
            Ok(bytes) => Ok(Logo {
                bytes,
                content_type: PNG,
            }),
            Err(Unmade::Failed(e)) => Err(e),
            // Drawings are not remembered as failed: each request tries again.
            Err(Unmade::FailedBefore) => Err(TranscodeError::Failed {
                program: "ffmpeg".into(),
                status: "not run".into(),
                last_lines: "the drawing failed before".into(),
            }),
        }
    }

    /// The channel's own image, as it is or converted; `None`, with a warning, when
    /// it cannot be read (each time) or converted (once per version of the file).
    async fn own(&self, def: &ChannelDef, image: &Path) -> Option<Logo> {
        if let Some(content_type) = served_as_is(image) {
            return match tokio::fs::read(image).await {
                Ok(bytes) => Some(Logo {
                    bytes,
                    content_type,
                }),
                Err(e) => {
                    tracing::warn!(channel = %def.slug, file = %image.display(), error = %e, "cannot read the channel's logo: drawing one instead");
                    None
                }
            };
        }
        let out = self.dir.join(converted_name(image));
        match self
            .made(&out, true, || self.ff.logo_from_image(image, &out))
            .await
        {
            Ok(bytes) => Some(Logo {
                bytes,
                content_type: PNG,
            }),
            Err(Unmade::FailedBefore) => None,
            Err(Unmade::Failed(e)) => {
                tracing::warn!(channel = %def.slug, file = %image.display(), error = %e, "cannot convert the channel's logo to PNG: drawing one instead");
                None
            }
        }
    }

    /// The bytes of the cached file `out`, made by `make` first when it is not
    /// there: once, however many ask at the same time. A failure is remembered
    /// when `remember` says so.
    async fn made<F>(
        &self,
        out: &Path,
        remember: bool,
        make: impl FnOnce() -> F,
    ) -> Result<Vec<u8>, Unmade>
    where
        F: Future<Output = Result<(), TranscodeError>>,
    {
        if self.failed.lock().contains(out) {
            return Err(Unmade::FailedBefore);
        }
        if let Ok(bytes) = tokio::fs::read(out).await {
            return Ok(bytes);
        }
        let one = self
            .making
            .lock()
            .entry(out.to_path_buf())
            .or_default()
            .clone();
        let result = {
            let _turn = one.lock().await;
            match tokio::fs::read(out).await {
                // Made while this request waited.
                Ok(bytes) => Ok(bytes),
                Err(_) if self.failed.lock().contains(out) => Err(Unmade::FailedBefore),
                Err(_) => match make().await {
                    Ok(()) => tokio::fs::read(out).await.map_err(|e| {
                        Unmade::Failed(TranscodeError::Io {
                            context: format!("reading {}", out.display()),
                            source: e,
                        })
                    }),
                    Err(e) => {
                        if remember {
                            self.failed.lock().insert(out.to_path_buf());
                        }
                        Err(Unmade::Failed(e))
                    }
                },
            }
        };
        // The last one out forgets the lock (the map holds one reference, we one).
        let mut making = self.making.lock();
        if Arc::strong_count(&one) == 2 {
            making.remove(out);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::testkit::media::{self, ff};

    fn channel(number: u32, name: &str, logo: Option<PathBuf>) -> ChannelDef {
        let mut def = ChannelDef::classic(&Config::default());
        def.number = number;
        def.name = name.to_string();
        def.logo = logo;
        def
    }

    /// The files of `dir`, by name, with their modification times.
    fn files(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .map(|r| {
                r.map(|e| {
                    let e = e.unwrap();
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, e.metadata().unwrap().modified().unwrap())
                })
                .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Codec, width and height of a logo's bytes, as ffprobe reads them.
    fn judged(bytes: &[u8], dir: &Path) -> (String, u64, u64) {
        let f = dir.join("judged");
        std::fs::write(&f, bytes).unwrap();
        let s = &media::streams(&f)[0];
        (
            s["codec_name"].as_str().unwrap().to_string(),
            s["width"].as_u64().unwrap(),
            s["height"].as_u64().unwrap(),
        )
    }

    #[tokio::test]
    async fn pngs_and_jpegs_as_they_are_other_images_converted_once_the_rest_drawn() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("cache/logos");
        let logos = Logos::new(ff().await, cache.clone());
        // Its own PNG and JPEG, byte for byte, by their extension.
        let png = d.path().join("own.png");
        let jpeg = d.path().join("own.JPG");
        for (path, format) in [(&png, "png"), (&jpeg, "mjpeg")] {
            let mut a = media::args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=200x100"]);
            a.extend(media::args([
                "-frames:v",
                "1",
                "-f",
                "image2",
                "-c:v",
                format,
            ]));
            a.push(path.into());
            media::ffmpeg(a);
        }
        let got = logos
            .get(&channel(1, "A", Some(png.clone())))
            .await
            .unwrap();
        assert_eq!(
            (got.content_type, &got.bytes),
            (PNG, &std::fs::read(&png).unwrap())
        );
        let got = logos
            .get(&channel(1, "A", Some(jpeg.clone())))
            .await
            .unwrap();
        assert_eq!(got.content_type, "image/jpeg");
        assert_eq!(got.bytes, std::fs::read(&jpeg).unwrap());
        assert!(files(&cache).is_empty(), "nothing cached for them");

        // An SVG: converted once, by however many requests at the same time.
        let svg = d.path().join("own.svg");
        std::fs::write(
            &svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#7aa2ff"/></svg>"##,
        )
        .unwrap();
        let def = channel(2, "B", Some(svg.clone()));
        let all = futures::future::join_all((0..4).map(|_| logos.get(&def))).await;
        let first = all[0].as_ref().unwrap();
        assert!(all.iter().all(|l| l.as_ref().unwrap() == first));
        assert_eq!(first.content_type, PNG);
        assert_eq!(judged(&first.bytes, d.path()), ("png".into(), 512, 512));
        let cached = files(&cache);
        assert_eq!(cached.len(), 1, "{cached:?}");
        assert!(cached[0].0.starts_with("image-"), "{cached:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(logos.get(&def).await.unwrap(), *first);
        assert_eq!(
            files(&cache),
            cached,
            "served from the cache, not made again"
        );

        // No logo: drawn, 400x400; another name is another drawing.
        let drawn = logos.get(&channel(3, "Late Night TV", None)).await.unwrap();
        assert_eq!(drawn.content_type, PNG);
        assert_eq!(judged(&drawn.bytes, d.path()), ("png".into(), 400, 400));
        let other = logos.get(&channel(3, "Early TV", None)).await.unwrap();
        assert_ne!(drawn.bytes, other.bytes);
        assert_eq!(files(&cache).len(), 3);

        // A logo gone from the disk: drawn instead.
        std::fs::remove_file(&png).unwrap();
        let gone = logos
            .get(&channel(3, "Late Night TV", Some(png)))
            .await
            .unwrap();
        assert_eq!(gone, drawn);
        assert!(!files(&cache).iter().any(|(n, _)| n.starts_with('.')));
    }

    #[tokio::test]
    async fn an_image_that_cannot_be_converted_gets_the_drawn_logo_and_is_not_tried_again() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("logos");
        let logos = Logos::new(ff().await, cache.clone());
        let drawn = logos.get(&channel(7, "Seven", None)).await.unwrap();
        for (name, bytes) in [
            (
                "corrupt.svg",
                &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect"[..],
            ),
            ("corrupt.webp", &b"RIFF\x10\x00\x00\x00WEBPVP8 junk"[..]),
            ("corrupt.gif", &b"GIF89a\x01"[..]),
        ] {
            let bad = d.path().join(name);
            std::fs::write(&bad, bytes).unwrap();
            let def = channel(7, "Seven", Some(bad.clone()));
            assert_eq!(logos.get(&def).await.unwrap(), drawn, "{name}");
            let out = cache.join(converted_name(&bad));
            assert!(logos.failed.lock().contains(&out), "{name}");
            assert_eq!(logos.get(&def).await.unwrap(), drawn, "{name}");
        }
        let names: Vec<String> = files(&cache).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [drawn_name(7, "Seven")]);
    }

    #[tokio::test]
    async fn a_logo_is_made_once_however_many_ask_at_the_same_time() {
        let d = tempfile::tempdir().unwrap();
        let logos = Logos::new(ff().await, d.path().to_path_buf());
        let out = d.path().join("x.png");
        let runs = AtomicUsize::new(0);
        let make = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            std::fs::write(&out, b"made").unwrap();
            Ok(())
        };
        let all = futures::future::join_all((0..8).map(|_| logos.made(&out, false, make))).await;
        assert!(
            all.into_iter()
                .all(|r| r.ok().as_deref() == Some(&b"made"[..]))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(logos.making.lock().is_empty(), "the locks are forgotten");
    }

    #[test]
    fn names_follow_what_shapes_the_logo() {
        assert_eq!(drawn_name(1, "A"), drawn_name(1, "A"));
        assert_ne!(drawn_name(1, "A"), drawn_name(2, "A"));
        assert_ne!(drawn_name(1, "A"), drawn_name(1, "B"));
        assert_eq!(served_as_is(Path::new("a.PNG")), Some(PNG));
        assert_eq!(served_as_is(Path::new("a.jpeg")), Some("image/jpeg"));
        assert_eq!(served_as_is(Path::new("a.svg")), None);
        assert_eq!(served_as_is(Path::new("a")), None);
    }
}
