//! Bad settings and a missing ffmpeg: a clear error naming the problem, exit non-zero.

use std::process::Command;

fn serve(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shufflecast"))
        .current_dir(dir)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_video_folder_is_a_clear_error() {
    let _limit = crate::limit::fast(600);
    let d = tempfile::tempdir().unwrap();
    let (ok, err) = serve(d.path(), &["--videos", "/no/such/videos"], &[]);
    assert!(!ok);
    assert!(
        err.contains("--videos") && err.contains("/no/such/videos"),
        "{err}"
    );
}

#[test]
fn missing_audio_folder_from_dotenv_is_a_clear_error() {
    let _limit = crate::limit::fast(600);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(".env"), "AUDIO_FOLDER=/no/such/music\n").unwrap();
    let (ok, err) = serve(d.path(), &[], &[]);
    assert!(!ok);
    assert!(
        err.contains("AUDIO_FOLDER") && err.contains("/no/such/music"),
        "{err}"
    );
}

#[test]
fn invalid_values_name_the_setting() {
    let _limit = crate::limit::fast(600);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join(".env"), "CLIP_MIN=soon\n").unwrap();
    let (ok, err) = serve(d.path(), &[], &[]);
    assert!(!ok);
    assert!(err.contains("CLIP_MIN") && err.contains("soon"), "{err}");

    std::fs::write(d.path().join(".env"), "").unwrap();
    let (ok, err) = serve(d.path(), &["--fps", "29.97"], &[]);
    assert!(!ok && err.contains("--fps"), "{err}");

    // The flag wins over the environment for CLIP_MIN; HW_ACCEL from the environment is checked.
    let (ok, err) = serve(
        d.path(),
        &["--clip-min", "3"],
        &[("HW_ACCEL", "cuda"), ("CLIP_MIN", "x")],
    );
    assert!(
        !ok && err.contains("HW_ACCEL") && err.contains("cuda"),
        "{err}"
    );

    let (ok, err) = serve(d.path(), &["--no-such-flag"], &[]);
    assert!(!ok && err.contains("--no-such-flag"), "{err}");
}

#[test]
fn missing_ffmpeg_says_how_to_install_it() {
    let _limit = crate::limit::fast(600);
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let (ok, err) = serve(
        d.path(),
        &["--data", data.to_str().unwrap()],
        &[("PATH", "/nonexistent")],
    );
    assert!(!ok);
    assert!(
        err.contains("ffmpeg") && err.contains("apt-get install ffmpeg"),
        "{err}"
    );
}
