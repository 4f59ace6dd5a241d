#!/usr/bin/env python3
"""Restart figures: from the start of the process to the first segment in the
playlist, and to the first real clip on air (/api/stream-status says a clip, not
the slate), after

  1. a graceful stop (SIGTERM) in the middle of the first chunk,
  2. a kill -9 in the middle of the first chunk,
  3. a graceful stop once a chunk is complete,

each restarted RUNS times (median printed). The source videos are synthetic
(ffmpeg's test sources); the channel is 640x360 with 4 s clips.

    scripts/restart-bench.py                 # builds the release binary first
    scripts/restart-bench.py --bin target/debug/shufflecast --runs 5
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return 0, ""


def segments(playlist):
    return [l for l in playlist.splitlines() if l and not l.startswith("#")]


class Server:
    def __init__(self, binary, work, videos, extra, name):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(work, f"{name}.log")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data", os.path.join(work, "data"), "--videos", videos,
             "--width", "640", "--height", "360",
             "--clip-min", "4", "--clip-max", "4", *extra],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "w"),
            stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "info"})

    def json(self, path):
        status, body = get(self.base + path)
        return json.loads(body) if status == 200 else None

    def stop(self, sig):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)

    def first_segment_and_clip(self, limit=60.0):
        """Seconds from process start to the first segment, and to a real clip."""
        seg = clip = None
        while time.monotonic() - self.t0 < limit:
            now = time.monotonic() - self.t0
            if seg is None:
                status, text = get(self.base + TOP_PLAYLIST)
                if status == 200 and segments(text):
                    seg = now
            if seg is not None:
                s = self.json("/api/stream-status")
                if s and s.get("clip") and not s.get("slate"):
                    clip = now
                    return seg, clip
            time.sleep(0.005)
        raise SystemExit(f"no clip on air after {limit} s; see {self.log}")

    def wait(self, what, cond, limit=300.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited; see {self.log}")
            if cond(self):
                return
            time.sleep(0.05)
        raise SystemExit(f"not {what} after {limit} s; see {self.log}")


# The top rung's media playlist (640x360: the default ladder has no rung below it,
# and a ladder's /hls/stream.m3u8 would list rungs, not segments).
TOP_PLAYLIST = "/hls/main/360p/stream.m3u8"


def chunks(server):
    c = server.json("/api/chunks")
    return c["chunks"] if c else []


def mid_first_chunk(server):
    c = chunks(server)
    return (len(c) == 1 and c[0]["state"] == "building" and c[0]["clips"] >= 1
            and segments(get(server.base + TOP_PLAYLIST)[1]))


def chunk_complete(server):
    return any(c["state"] == "ready" for c in chunks(server))


def scenario(binary, videos, runs, title, extra, cond, sig):
    work = tempfile.mkdtemp(prefix="restart-bench-")
    server = Server(binary, work, videos, extra, "first")
    server.wait(title, cond)
    server.stop(sig)
    segs, clips = [], []
    for i in range(runs):
        server = Server(binary, work, videos, extra, f"run{i}")
        seg, clip = server.first_segment_and_clip()
        segs.append(seg)
        clips.append(clip)
        print(f"  {title}, restart {i + 1}: first segment {seg * 1000:.0f} ms, "
              f"first clip {clip * 1000:.0f} ms")
        # Stop again in the same state: still mid-first-chunk (a long chunk), or
        # with the complete chunk there.
        server.wait(title, cond)
        time.sleep(1.0)
        server.stop(sig)
    print(f"{title}: median of {runs}: first segment {statistics.median(segs) * 1000:.0f} ms, "
          f"first clip {statistics.median(clips) * 1000:.0f} ms")
    subprocess.run(["rm", "-rf", work], check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="the shufflecast binary (default: build the release one)")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "5")))
    a = ap.parse_args()
    binary = a.bin
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "shufflecast")
    binary = os.path.abspath(binary)
    videos = tempfile.mkdtemp(prefix="restart-bench-videos-")
    for name, src in [("bars.mp4", "smptehdbars=size=320x240:rate=25"),
                      ("test.mp4", "testsrc2=size=320x240:rate=25"),
                      ("fractal.mp4", "mandelbrot=size=320x240:rate=25")]:
        subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", src, "-t", "40", "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                        os.path.join(videos, name)], check=True)
    long_chunk = ["--chunk-duration", "600"]
    scenario(binary, videos, a.runs, "SIGTERM mid-first-chunk", long_chunk,
             mid_first_chunk, signal.SIGTERM)
    scenario(binary, videos, a.runs, "kill -9 mid-first-chunk", long_chunk,
             mid_first_chunk, signal.SIGKILL)
    scenario(binary, videos, a.runs, "SIGTERM with a chunk complete",
             ["--chunk-duration", "8"], chunk_complete, signal.SIGTERM)
    subprocess.run(["rm", "-rf", videos], check=False)


if __name__ == "__main__":
    sys.exit(main())
