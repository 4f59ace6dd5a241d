//! Settings from the command line, the environment, a `.env` file in the working
//! folder and defaults, in that order of precedence.
//!
//! Two stages, like ripgrep's low/high args: [`ServeArgs`] holds what clap parsed
//! (flags only, as text), [`Config::resolve`] layers the environment and `.env` under
//! it, reads every value into the typed [`Config`] and validates it, naming the
//! setting as the user wrote it. What the settings are lives in `crate::settings`:
//! this module derives the flags and the layering from that table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::settings::{self, Problem, SPECS, Scope, Spec};
pub use crate::settings::{Config, LogFormat};

/// Command line of the `shufflecast` binary.
#[derive(Debug, Parser)]
#[command(
    name = "shufflecast",
    version,
    about = "A never-ending TV channel from a folder of videos"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What the binary is asked to do.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once, at start
pub enum Command {
    /// Run the channel: library, generator, live engine and HTTP server in one process.
    Serve(ServeArgs),
    /// Print the HTTP API's OpenAPI document (what /api/openapi.json serves) and exit.
    #[command(hide = true)]
    Openapi,
}

/// Flags of `shufflecast serve`, one per setting of the table, as given (text).
/// Every flag can also be set by the environment variable named in its help, or in
/// `.env`.
#[derive(Clone, Debug, Default)]
pub struct ServeArgs {
    given: HashMap<&'static str, Vec<String>>,
}

impl ServeArgs {
    /// These flags and `--<flag of key> value` (tests, and callers that build a
    /// command line): `key` is the setting's name (`clip_max`).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> ServeArgs {
        let spec = settings::spec(key).unwrap_or_else(|| panic!("no setting {key}"));
        self.given.entry(spec.key).or_default().push(value.into());
        self
    }
}

/// `--help`'s line: the help, then where else it can be set and its default.
fn help_line(s: &Spec) -> String {
    let vars = s.meta.env.join(" or ");
    format!("{} [env: {vars}; default: {}]", s.help, s.default_display())
}

impl Args for ServeArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for s in SPECS {
            let Some(flag) = s.meta.flag else { continue };
            let mut arg = Arg::new(s.key)
                .long(flag)
                .value_name(s.meta.value_name)
                .help(help_line(s))
                .help_heading(s.meta.group)
                .action(if s.ops.list {
                    ArgAction::Append
                } else {
                    ArgAction::Set
                });
            if s.ops.number {
                arg = arg.allow_negative_numbers(true);
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for ServeArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = ServeArgs::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for s in SPECS.iter().filter(|s| s.meta.flag.is_some()) {
            if let Some(values) = m.get_many::<String>(s.key) {
                self.given.insert(s.key, values.cloned().collect());
            }
        }
        Ok(())
    }
}

/// A setting was missing, malformed or out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be parsed or is out of range.
    #[error("invalid value {value:?} for {setting}: {reason}")]
    Invalid {
        /// The flag or variable the value came from, as the user wrote it.
        setting: String,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A folder setting names something that is not a folder.
    #[error("{setting}: folder {path} does not exist or is not a folder")]
    MissingFolder {
        /// The flag or variable that named it.
        setting: String,
        /// The path as given.
        path: PathBuf,
    },
    /// The `.env` file exists but could not be read or parsed.
    #[error("cannot read {path}: {source}")]
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The error dotenvy reported.
        source: dotenvy::Error,
    },
}

/// Names from the original tool's `.env` that we accept but do not use (yet), so
/// an existing `.env` keeps working without a warning for each.
const KNOWN_UNUSED: &[&str] = &["STATS_DIR", "HLS_PORT", "TZ"];

/// Where a value came from, so an error names the setting the user actually wrote.
struct Layers<'a> {
    args: &'a ServeArgs,
    env: &'a dyn Fn(&str) -> Option<String>,
    dotenv: HashMap<String, String>,
}

/// A value as found: the name it was given under and its text.
enum Found {
    Flag(String, Vec<String>),
    Var(String, String),
}

impl Layers<'_> {
    /// The flag's values, else the first of the variables set in the environment,
    /// else in `.env`. An empty variable is unset.
    fn find(&self, s: &Spec) -> Option<Found> {
        if let Some(v) = self.args.given.get(s.key) {
            let flag = format!("--{}", s.meta.flag.unwrap_or(s.key));
            return Some(Found::Flag(flag, v.clone()));
        }
        for n in s.meta.env {
            if let Some(v) = (self.env)(n).filter(|v| !v.is_empty()) {
                return Some(Found::Var(n.to_string(), v));
            }
        }
        for n in s.meta.env {
            if let Some(v) = self.dotenv.get(*n).filter(|v| !v.is_empty()) {
                return Some(Found::Var(n.to_string(), v.clone()));
            }
        }
        None
    }

    /// Reads the settings of `specs` into `c`; returns the name each was found under.
    fn read<'s>(
        &self,
        specs: impl Iterator<Item = &'s Spec>,
        c: &mut Config,
    ) -> Result<HashMap<&'static str, (String, String)>, ConfigError> {
        let mut origin = HashMap::new();
        for s in specs {
            let (name, text, parsed) = match self.find(s) {
                None => continue,
                Some(Found::Flag(name, values)) => {
                    let parsed = (s.ops.parse_flags)(c, &values);
                    (name, values.join(" "), parsed)
                }
                Some(Found::Var(name, value)) => {
                    let parsed = (s.ops.parse)(c, &value);
                    (name, value, parsed)
                }
            };
            let shown = if s.meta.secret {
                "(hidden)".to_string()
            } else {
                text
            };
            if let Err(reason) = parsed {
                return Err(invalid(&name, &shown, reason));
            }
            origin.insert(s.key, (name, shown));
        }
        Ok(origin)
    }
}

fn invalid(setting: &str, value: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

impl Config {
    /// Resolves the settings from flags, the process environment and `dir/.env`.
    pub fn from_env(args: &ServeArgs, dir: &Path) -> Result<Config, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        Config::resolve(args, &env, &dir.join(".env"))
    }

    /// Resolves settings with an explicit environment lookup (tests pass their own).
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        dotenv_path: &Path,
    ) -> Result<Config, ConfigError> {
        let layers = Layers {
            args,
            env,
            dotenv: read_dotenv(dotenv_path)?,
        };
        let mut c = Config::default();
        let origin = layers.read(SPECS.iter(), &mut c)?;
        if let Err((s, problem)) = settings::validate(&c, Scope::All) {
            let (name, text) = origin
                .get(s.key)
                .cloned()
                .unwrap_or_else(|| (s.var().to_string(), (s.ops.text)(&c)));
            return Err(match problem {
                Problem::Reason(reason) => invalid(&name, &text, reason),
                Problem::MissingFolder(path) => ConfigError::MissingFolder {
                    setting: name,
                    path,
                },
            });
        }
        for key in layers.dotenv.keys() {
            let known = SPECS.iter().any(|s| s.meta.env.contains(&key.as_str()));
            if !known && !KNOWN_UNUSED.contains(&key.as_str()) {
                tracing::warn!(setting = %key, file = %dotenv_path.display(), "unknown setting in .env, ignored");
            }
        }
        Ok(c)
    }
}

/// The logging settings, resolved on their own and before [`Config`]: logging has
/// to be set up first, so that the settings' own errors and warnings (an unknown
/// name in `.env`) already come out in the chosen format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// RUST_LOG's filter (`info`, `shufflecast=debug,tower_http=warn`), if set.
    pub filter: Option<String>,
}

impl LogSettings {
    /// Resolves LOG_FORMAT and RUST_LOG from flags, the process environment and `dir/.env`.
    pub fn from_env(args: &ServeArgs, dir: &Path) -> Result<LogSettings, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        LogSettings::resolve(args, &env, &dir.join(".env"))
    }

    /// Resolves with an explicit environment lookup (tests pass their own).
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
        dotenv_path: &Path,
    ) -> Result<LogSettings, ConfigError> {
        let layers = Layers {
            args,
            env,
            dotenv: read_dotenv(dotenv_path)?,
        };
        let mut c = Config::default();
        let logging = SPECS
            .iter()
            .filter(|s| matches!(s.key, "log_format" | "rust_log"));
        layers.read(logging, &mut c)?;
        Ok(LogSettings {
            format: c.server.log_format,
            filter: c.server.rust_log,
        })
    }
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let iter = dotenvy::from_path_iter(path).map_err(|source| ConfigError::DotEnv {
        path: path.into(),
        source,
    })?;
    iter.map(|item| {
        item.map_err(|source| ConfigError::DotEnv {
            path: path.into(),
            source,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::WatermarkMode;
    use crate::transcode::{ColorGrade, HwAccel};
    use std::time::Duration;

    /// Calls `f` with an environment of `env` and a `.env` file holding `dotenv`.
    fn with_env<T>(
        env: &[(&str, &str)],
        dotenv: &str,
        f: impl FnOnce(&dyn Fn(&str) -> Option<String>, &Path) -> T,
    ) -> T {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, dotenv).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f(&move |k| env.get(k).cloned(), &path)
    }

    fn resolve(
        args: &ServeArgs,
        env: &[(&str, &str)],
        dotenv: &str,
    ) -> Result<Config, ConfigError> {
        with_env(env, dotenv, |env, path| Config::resolve(args, env, path))
    }

    #[test]
    fn defaults() {
        let c = resolve(&ServeArgs::default(), &[], "").unwrap();
        assert_eq!(c.server.listen_addr().port(), 8081);
        assert_eq!(
            (c.output.width, c.output.height, c.output.fps),
            (1280, 720, 30)
        );
        assert_eq!(c.output.profile().gop_frames, 60);
        assert_eq!(c.server.data, PathBuf::from("data"));
        assert!(c.channel.videos.is_empty());
        assert_eq!(c.output.hw_accel, HwAccel::None);
    }

    #[test]
    fn flag_beats_env_beats_dotenv() {
        let args = ServeArgs::default().with("clip_max", "9");
        let c = resolve(
            &args,
            &[("CLIP_MAX", "8"), ("CLIP_MIN", "3")],
            "CLIP_MAX=7\nCLIP_MIN=2\nCHUNK_DURATION=60\n",
        )
        .unwrap();
        assert_eq!(c.channel.clip_max, 9.0);
        assert_eq!(c.channel.clip_min, 3.0);
        assert_eq!(c.channel.chunk_duration, 60.0);
    }

    #[test]
    fn original_names_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let dotenv = format!(
            "VIDEO_FOLDER={d}\nAUDIO_FOLDER={d}\nCHUNK_FOLDER={d}/chunks\nPORT=9000\nHW_ACCEL=nvidia\nMAX_CHUNKS=12\nTZ=UTC\n"
        );
        let c = resolve(&ServeArgs::default(), &[], &dotenv).unwrap();
        assert_eq!(c.channel.videos, vec![dir.path().to_path_buf()]);
        assert_eq!(c.channel.audio.as_deref(), Some(dir.path()));
        assert_eq!(c.server.data, dir.path().join("chunks"));
        assert_eq!(c.server.listen_addr(), "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.output.hw_accel, HwAccel::Nvidia);
        assert_eq!(c.channel.max_chunks, 12);
    }

    #[test]
    fn listen_takes_addresses_and_host_names() {
        let c = resolve(&ServeArgs::default().with("listen", "127.0.0.1:9"), &[], "").unwrap();
        assert_eq!(c.server.listen_addr(), "127.0.0.1:9".parse().unwrap());
        let c = resolve(&ServeArgs::default(), &[("LISTEN", "localhost:8090")], "").unwrap();
        assert!(c.server.listen_addr().ip().is_loopback() && c.server.listen_addr().port() == 8090);
        let e = resolve(&ServeArgs::default().with("listen", "8081"), &[], "").unwrap_err();
        assert!(
            e.to_string().contains("--listen") && e.to_string().contains("ADDR:PORT"),
            "{e}"
        );
    }

    #[test]
    fn data_dir_beats_chunk_folder() {
        let c = resolve(
            &ServeArgs::default(),
            &[("DATA_DIR", "/a")],
            "CHUNK_FOLDER=/b\n",
        )
        .unwrap();
        assert_eq!(c.server.data, PathBuf::from("/a"));
    }

    #[test]
    fn errors_name_the_setting() {
        let err = |args: ServeArgs, env: &[(&str, &str)]| {
            resolve(&args, env, "").unwrap_err().to_string()
        };
        assert!(err(ServeArgs::default(), &[("CLIP_MIN", "abc")]).contains("CLIP_MIN"));
        assert!(err(ServeArgs::default().with("fps", "7"), &[]).contains("--fps"));
        assert!(err(ServeArgs::default(), &[("HW_ACCEL", "cuda")]).contains("HW_ACCEL"));
        assert!(err(ServeArgs::default(), &[("PORT", "99999")]).contains("PORT"));
        assert!(
            err(
                ServeArgs::default(),
                &[("CLIP_MIN", "8"), ("CLIP_MAX", "4")]
            )
            .contains("CLIP_MAX")
        );
        assert!(err(ServeArgs::default().with("width", "641"), &[]).contains("--width"));
        assert!(
            err(ServeArgs::default().with("segment_duration", "0.01"), &[])
                .contains("--segment-duration")
        );
        let e = err(ServeArgs::default().with("videos", "/no/such/folder"), &[]);
        assert!(
            e.contains("--videos") && e.contains("/no/such/folder"),
            "{e}"
        );
        assert!(
            err(ServeArgs::default(), &[("AUDIO_FOLDER", "/no/such")]).contains("AUDIO_FOLDER")
        );
    }

    #[test]
    fn several_video_folders_from_env() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let v = format!("{}:{}", a.path().display(), b.path().display());
        let c = resolve(&ServeArgs::default(), &[("VIDEO_FOLDER", &v)], "").unwrap();
        assert_eq!(c.channel.videos.len(), 2);
    }

    #[test]
    fn generation_and_look_settings() {
        let c = resolve(
            &ServeArgs::default(),
            &[],
            "READY_CHUNKS=3\nCHUNKS_PER_RUN=5\nGENERATOR_JOBS=2\nENCODE_STALL_SECS=15\nDISK_BUDGET=1.5G\nGENERATE_SCHEDULE=\"0 2 * * *\"\n\
             COLOR_GRADE=Moody\nVIDEO_WALL=yes\nWATERMARK=creator\nWATERMARK_FALLBACK=\" My channel \"\n\
             MUSIC_LOUDNESS=-23\nSEED=42\nTUBEARCHIVIST_URL=http://ta:8000/\nTUBEARCHIVIST_TOKEN=abc\n",
        )
        .unwrap();
        assert_eq!(
            (
                c.channel.ready_chunks,
                c.channel.chunks_per_run,
                c.server.generator_jobs
            ),
            (3, 5, 2)
        );
        assert_eq!(c.server.encode_stall(), Duration::from_secs(15));
        assert_eq!(c.channel.disk_budget_bytes(), Some(1_500_000_000));
        assert_eq!(c.channel.schedule.unwrap().to_string(), "0 2 * * *");
        assert_eq!(c.channel.color_grade, ColorGrade::Moody);
        assert!(c.channel.video_wall);
        assert_eq!(c.channel.watermark, WatermarkMode::Creator);
        assert_eq!(c.channel.watermark_fallback.as_deref(), Some("My channel"));
        assert_eq!(c.channel.music_loudness, -23.0);
        assert_eq!(c.server.seed, Some(42));
        assert_eq!(
            c.server.tubearchivist(),
            Some(("http://ta:8000".into(), "abc".into()))
        );

        let d = resolve(&ServeArgs::default(), &[], "").unwrap();
        assert_eq!(
            (
                d.channel.ready_chunks,
                d.channel.chunks_per_run,
                d.server.generator_jobs
            ),
            (2, 4, 1)
        );
        assert_eq!(d.server.encode_stall(), Duration::from_secs(60));
        assert_eq!(d.channel.disk_budget_bytes(), None);
        assert!(d.channel.schedule.is_none() && !d.channel.video_wall && d.server.seed.is_none());
    }

    #[test]
    fn bad_generation_settings_name_the_setting() {
        for (dotenv, setting) in [
            ("DISK_BUDGET=lots\n", "DISK_BUDGET"),
            ("DISK_BUDGET=20Q\n", "DISK_BUDGET"),
            ("GENERATE_SCHEDULE=\"every night\"\n", "GENERATE_SCHEDULE"),
            ("COLOR_GRADE=sepia\n", "COLOR_GRADE"),
            ("VIDEO_WALL=maybe\n", "VIDEO_WALL"),
            ("WATERMARK=logo\n", "WATERMARK"),
            ("MUSIC_LOUDNESS=0\n", "MUSIC_LOUDNESS"),
            ("READY_CHUNKS=0\n", "READY_CHUNKS"),
            ("MAX_CHUNKS=3\nREADY_CHUNKS=3\n", "READY_CHUNKS"),
            ("GENERATOR_JOBS=99\n", "GENERATOR_JOBS"),
            ("ENCODE_STALL_SECS=0\n", "ENCODE_STALL_SECS"),
            ("SEED=-1\n", "SEED"),
            (
                "TUBEARCHIVIST_URL=ftp://x\nTUBEARCHIVIST_TOKEN=a\n",
                "TUBEARCHIVIST_URL",
            ),
            ("TUBEARCHIVIST_URL=http://x\n", "TUBEARCHIVIST_TOKEN"),
        ] {
            let e = resolve(&ServeArgs::default(), &[], dotenv).unwrap_err();
            assert!(e.to_string().contains(setting), "{dotenv}: {e}");
        }
    }

    fn log_settings(
        args: &ServeArgs,
        env: &[(&str, &str)],
        dotenv: &str,
    ) -> Result<LogSettings, ConfigError> {
        with_env(env, dotenv, |env, path| {
            LogSettings::resolve(args, env, path)
        })
    }

    #[test]
    fn log_format_and_filter_layer_like_the_other_settings() {
        assert_eq!(
            log_settings(&ServeArgs::default(), &[], "").unwrap(),
            LogSettings::default()
        );
        let s = log_settings(
            &ServeArgs::default(),
            &[],
            "LOG_FORMAT=JSON\nRUST_LOG=debug\n",
        )
        .unwrap();
        assert_eq!(s.format, LogFormat::Json);
        assert_eq!(s.filter.as_deref(), Some("debug"));
        let s = log_settings(
            &ServeArgs::default(),
            &[("LOG_FORMAT", "text"), ("RUST_LOG", "warn")],
            "LOG_FORMAT=json\nRUST_LOG=debug\n",
        )
        .unwrap();
        assert_eq!(s.format, LogFormat::Text, "the environment beats .env");
        assert_eq!(s.filter.as_deref(), Some("warn"));
        let args = ServeArgs::default().with("log_format", "json");
        let s = log_settings(&args, &[("LOG_FORMAT", "text")], "").unwrap();
        assert_eq!(s.format, LogFormat::Json, "the flag beats the environment");

        let e = log_settings(&ServeArgs::default(), &[("LOG_FORMAT", "yaml")], "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOG_FORMAT") && e.contains("yaml"), "{e}");
        let e = log_settings(&ServeArgs::default().with("log_format", "xml"), &[], "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--log-format"), "{e}");
    }

    #[test]
    fn log_settings_in_dotenv_are_known_to_the_main_settings() {
        // They are read by LogSettings, but Config reads the same .env and must
        // neither reject nor complain about them.
        let c = resolve(
            &ServeArgs::default(),
            &[],
            "LOG_FORMAT=json\nRUST_LOG=info\n",
        );
        assert!(c.is_ok());
    }
}
