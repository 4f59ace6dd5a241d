# shufflecast in a container: the release binary, the built web client, and
# Debian's ffmpeg (which has NVENC, VAAPI and QSV: see docker-compose.gpu.yml and
# docker-compose.vaapi.yml). Plain Dockerfile syntax, no BuildKit-only features,
# so docker-compose v1's classic builder builds it too.
#   docker build -t shufflecast .
#   docker run -p 8081:8081 -v /srv/videos:/videos:ro -v /srv/music:/audio:ro -v shufflecast-data:/data shufflecast

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, against stub sources, so that a change to src/ alone does not
# rebuild them. The manifest names the benches and the test target, so those
# folders must be there for cargo to read it.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
COPY tests tests
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
# COPY keeps the files' old modification times, older than the stubs': without a
# touch cargo would take the stub build as up to date.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/shufflecast /usr/local/bin/shufflecast \
    && /usr/local/bin/shufflecast --version

FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
# npm install, not npm ci: the lock file has no resolved URLs, which npm ci refuses.
RUN npm install --no-audit --no-fund
COPY web ./
RUN npm run build

FROM debian:bookworm-slim
# Versions are not pinned: the bookworm suite only moves for security and point
# fixes, which an image rebuild should pick up.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid, so a bind-mounted data folder can be chowned to it ahead of time
# (chown 10001:10001 data). It is in the video group for /dev/dri; the render
# group's id differs between hosts and is added at run time (docker-compose.vaapi.yml).
RUN groupadd --system --gid 10001 shufflecast \
    && useradd --system --uid 10001 --gid shufflecast --groups video \
        --home-dir /data --no-create-home --shell /usr/sbin/nologin shufflecast \
    && mkdir -p /videos /audio /data \
    && chown shufflecast:shufflecast /data
COPY --from=build /usr/local/bin/shufflecast /usr/local/bin/shufflecast
COPY --from=web /web/dist /usr/share/shufflecast/web
ENV VIDEO_FOLDER=/videos \
    AUDIO_FOLDER=/audio \
    DATA_DIR=/data \
    WEB_DIR=/usr/share/shufflecast/web \
    PORT=8081
# The working folder is where a .env is read from: the data folder, as with systemd.
WORKDIR /data
VOLUME /data
EXPOSE 8081
# HDHomeRun discovery (see docker-compose.yml for what passes Docker's NAT).
EXPOSE 65001/udp
# By number, so that Kubernetes' runAsNonRoot can tell it is not root; a uid listed
# in /etc/passwd keeps that user's groups (video).
USER 10001
# /healthz answers as soon as the HTTP server runs; /readyz only once on air,
# which can take minutes on a first start with a large library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8081/healthz"]
# What docker stop sends anyway; stated because the graceful stop depends on it
# (ffmpeg children killed, partial files removed, the stream position saved).
STOPSIGNAL SIGTERM
ENTRYPOINT ["shufflecast"]
CMD ["serve"]
