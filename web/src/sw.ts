// The service worker: keeps the app shell (the page and its hashed assets) so the
// app opens without the network and installs as a PWA. It never caches the live
// playlist, segments, the API, events or guides: a live channel is only live.
const sw = self as unknown as ServiceWorkerGlobalScope;

const CACHE = "shufflecast-shell-v1";
const SHELL = ["/", "/manifest.webmanifest", "/icon.svg", "/icon-192.png", "/icon-512.png"];
const NEVER = /^\/(hls|api|metrics|healthz|readyz|iptv\.m3u|epg\.xml|logo\.svg)/;

sw.addEventListener("install", (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== sw.location.origin || NEVER.test(url.pathname)) return;
  if (url.pathname.startsWith("/assets/")) {
    // Hashed names: a cached copy is the right copy.
    e.respondWith(
      caches.match(e.request).then(
        (hit) =>
          hit ??
          fetch(e.request).then((r) => {
            if (r.ok) {
              const copy = r.clone();
              void caches.open(CACHE).then((c) => c.put(e.request, copy));
            }
            return r;
          }),
      ),
    );
    return;
  }
  if (e.request.mode === "navigate" || SHELL.includes(url.pathname)) {
    // The network first, so an upgraded server serves its own client.
    e.respondWith(
      fetch(e.request)
        .then((r) => {
          if (r.ok) {
            const copy = r.clone();
            void caches.open(CACHE).then((c) => c.put(e.request.mode === "navigate" ? "/" : e.request, copy));
          }
          return r;
        })
        .catch(async () => (await caches.match(e.request.mode === "navigate" ? "/" : e.request)) ?? Response.error()),
    );
  }
});
