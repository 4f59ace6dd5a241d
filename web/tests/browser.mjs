// The web client in a real browser (playwright-core driving Debian's Chromium)
// against a real shufflecast server on the demo library, which this script starts
// on a free loopback port and stops. Checks, each with its figure:
//   playback   currentTime advances 15 s across clip switches with no stall
//   skip       "Skip video" changes now playing within two segment durations
//   play next  the chosen chunk airs next
//   views      every view fills in, with no console error, at desktop, phone
//              (no sideways scrolling) and 4K sizes; a screenshot of each; no
//              header of the stats tables wraps (1280x800 and the phone)
//   tv         in TV mode every control of every view is reachable with the arrow
//              keys from where the focus starts, and Enter and Back work
//   channels   a second channel made through the form shows in the guide; its row
//              plays it (the player's playlist is /hls/<slug>/stream.m3u8, the
//              views say and ask for that channel); PageDown in TV mode switches
//              channel and shows the banner; a name edited through the form shows in
//              the guide; clip_min = 0 is refused by the field; the classic channel
//              is read-only; the channel is deleted through the form
//   errors     the server's validation message shows by its field; a wrong token,
//              and the server going away, are said in words
//   guide      the timeline grid has a row per channel and blocks sized by their
//              length (the same pixels per second for each), one on air, a now
//              line; focusing a block shows its clips; in TV mode the arrow keys
//              reach a block, its clips show, Enter plays its channel
//   preview    a chunk's preview dialog plays its VOD playlist with hls.js: the
//              video's time advances 4 s or more in 5 s, with no error
//   music      a track's Listen button plays it (the audio's time advances), one
//              track at a time
//   stats      the airtime chart has 30 bars, an accessible title and labelled axes
//   pictures   every picture the views show loads (naturalWidth > 0); a missing
//              one is a placeholder
// Usage: node tests/browser.mjs --bin PATH --web-dir DIR [--out DIR]
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const opt = Object.fromEntries(
  process.argv
    .slice(2)
    .join(" ")
    .split(/\s*--/)
    .filter(Boolean)
    .map((kv) => kv.split(/\s+/)),
);
if (!opt.bin || !opt["web-dir"]) {
  console.error("usage: node tests/browser.mjs --bin PATH --web-dir DIR [--out DIR]");
  process.exit(2);
}
const out = resolve(opt.out ?? "test-artifacts");
mkdirSync(out, { recursive: true });

// ---- the server -------------------------------------------------------------
const port = await new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const token = `browser-test-${process.pid}`;
const work = mkdtempSync(join(tmpdir(), "shufflecast-web-"));
const logPath = join(work, "server.log");
const log = openSync(logPath, "w");
const server = spawn(
  resolve(opt.bin),
  ["serve", "--listen", `127.0.0.1:${port}`, "--discovery", "false", "--data", join(work, "data"), "--web-dir", resolve(opt["web-dir"]), "--admin-token", token, "--chunk-duration", "12"],
  { stdio: ["ignore", log, log] },
);
let serverExited = false;
server.on("exit", () => (serverExited = true));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const json = (path, init = {}) =>
  fetch(base + path, { ...init, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(init.headers ?? {}) } }).then((r) => r.json());

let browser;
async function fail(msg, page) {
  console.error(`FAIL: ${msg}`);
  if (page) await page.screenshot({ path: `${out}/failure.png` }).catch(() => {});
  console.error("---- server log (tail) ----");
  console.error(readFileSync(logPath, "utf8").split("\n").slice(-40).join("\n"));
  await browser?.close().catch(() => {});
  server.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
process.on("unhandledRejection", (e) => fail(`unexpected: ${e?.stack ?? e}`));

let segment = 2;
for (;;) {
  if (serverExited) await fail("the server exited at start");
  if (Date.now() - started > 180_000) await fail("the stream did not come on air within 180 s");
  const r = await fetch(`${base}/hls/stream.m3u8`).catch(() => null);
  if (r?.ok) {
    const m = /#EXT-X-TARGETDURATION:(\d+)/.exec(await r.text());
    if (m) segment = Number(m[1]);
    break;
  }
  await sleep(200);
}
console.log(`on air after ${((Date.now() - started) / 1000).toFixed(1)} s; segments of ${segment} s`);

browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--autoplay-policy=no-user-gesture-required", "--no-sandbox", "--disable-dev-shm-usage"],
});

/** A page with the admin token set, collecting console errors. */
async function open(viewport, url, tokenValue = token) {
  const ctx = await browser.newContext({ viewport });
  await ctx.addInitScript((t) => localStorage.setItem("shufflecast.adminToken", t), tokenValue);
  const page = await ctx.newPage();
  page.errors = [];
  page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  await page.goto(base + url);
  return page;
}

const READY = {
  guide: "#guide li[data-channel] .epg-block",
  "channel/new": "#channel-form #ch-slug",
  live: "#now-title[data-clip]:not([data-clip=''])",
  "library/chunks": "#chunk-list li[data-chunk]",
  "library/music": "#track-list li",
  "library/videos": "#video-list li",
  generation: "#gen-state:not(:empty)",
  system: "#gauges .gauge",
  stats: "#stats .cards",
  settings: "#setting-clip_min:not([value=''])",
};
async function show(page, view) {
  await page.evaluate((v) => (location.hash = `#/${v}`), view);
  await page.waitForSelector(READY[view], { timeout: 60_000 });
  if (view === "settings") await page.waitForFunction(() => document.querySelector("#setting-clip_min").value !== "");
}

// ---- playback -----------------------------------------------------------------
const page = await open({ width: 1280, height: 800 }, "/#/live");
await page.waitForFunction(() => document.querySelector("video")?.currentTime > 0, null, { timeout: 60_000 }).catch(() => fail("the player never started", page));
{
  const clips = new Set();
  const t0 = await page.evaluate(() => document.querySelector("video").currentTime);
  let last = t0;
  let lastMove = Date.now();
  let longestStall = 0;
  while (last - t0 < 15 || clips.size < 2) {
    await sleep(200);
    const s = await page.evaluate(() => ({ t: document.querySelector("video").currentTime, clip: document.querySelector("#now-title").dataset.clip, err: document.querySelector("video").error?.message }));
    if (s.err) await fail(`the video element failed: ${s.err}`, page);
    if (s.clip) clips.add(s.clip);
    if (s.t > last) {
      longestStall = Math.max(longestStall, Date.now() - lastMove);
      last = s.t;
      lastMove = Date.now();
    } else if (Date.now() - lastMove > 2500) {
      await fail(`playback stalled at ${s.t.toFixed(2)} s`, page);
    }
    if (last - t0 > 60) await fail(`no clip switch in 60 s of playback`, page);
  }
  const waiting = await page.evaluate(() => document.querySelector("video").getVideoPlaybackQuality?.().droppedVideoFrames ?? 0);
  console.log(`ok playback: ${(last - t0).toFixed(1)} s played across ${clips.size - 1} clip switch(es), longest gap between time updates ${longestStall} ms, ${waiting} dropped frames`);
  // What airs and what comes next, named as a viewer reads them: titles, never ids.
  await page.waitForFunction(() => /^In “.+” until \d\d:\d\d/.test(document.querySelector("#now-chunk").textContent), null, { timeout: 20_000 }).catch(async () => fail(`the programme on air is not named: ${await page.textContent("#now-chunk")}`, page));
  const named = await page.evaluate(() => [document.querySelector("#now-chunk").textContent, document.querySelector("#next-chunk").textContent]);
  if (named.some((t) => /\d{8}-\d{6}-[0-9a-f]{8}/.test(t))) await fail(`the live view names chunks by id: ${named.join(" / ")}`, page);
  console.log(`ok live names: ${named.join(" / ")}`);
}

// ---- the quality ladder ---------------------------------------------------------------
{
  // The demo channel airs the default ladder (720p, 480p, 360p): hls.js plays it
  // with its own adaptation, and the quality button pins a rung.
  const height = () => page.evaluate(() => document.querySelector("video").videoHeight);
  const q = () => page.evaluate(() => ({ ...document.querySelector("#quality").dataset, text: document.querySelector("#quality").textContent, hidden: document.querySelector("#quality").hidden }));
  await page.waitForFunction(() => !document.querySelector("#quality").hidden, null, { timeout: 30_000 }).catch(() => fail("no quality button for the ladder", page));
  const pinTo = async (want) => {
    for (let i = 0; i < 5 && (await q()).pinned !== want; i++) await page.click("#quality");
    if ((await q()).pinned !== want) await fail(`the quality button never pinned ${want}: ${JSON.stringify(await q())}`, page);
  };
  const shows = async (h, what) =>
    page.waitForFunction((h) => document.querySelector("video").videoHeight === h, h, { timeout: 60_000 }).catch(async () => fail(`${what}: the picture is ${await height()} lines, not ${h}`, page));
  await pinTo("360");
  await shows(360, "pinned to 360p");
  if ((await page.evaluate(() => localStorage.getItem("shufflecast.quality"))) !== "360") await fail("the pinned rung is not kept on the device", page);
  console.log(`ok quality: pinned to 360p, the picture is 360 lines (${(await q()).text})`);
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#quality")?.dataset.pinned === "360", null, { timeout: 30_000 }).catch(() => fail("the pinned rung was not kept across a reload", page));
  await shows(360, "pinned across a reload");
  await pinTo("auto");
  // Auto on a fast network climbs to the top rung.
  await shows(720, "Auto on loopback");
  // A slow network: hls.js steps down without stalling, and back up when it is fast again.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const rate = 2_000_000;
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 40, downloadThroughput: rate / 8, uploadThroughput: rate / 8 });
  const watch = async (done, what, limit) => {
    let last = await page.evaluate(() => document.querySelector("video").currentTime);
    let moved = Date.now();
    let longest = 0;
    const t0 = Date.now();
    for (;;) {
      await sleep(250);
      const s = await page.evaluate(() => ({ t: document.querySelector("video").currentTime, h: document.querySelector("video").videoHeight }));
      if (s.t > last) {
        longest = Math.max(longest, Date.now() - moved);
        last = s.t;
        moved = Date.now();
      }
      if (Date.now() - moved > 4000) await fail(`${what}: playback stalled at ${s.t.toFixed(1)} s (${s.h} lines)`, page);
      if (done(s.h)) return { took: Date.now() - t0, longest, h: s.h };
      if (Date.now() - t0 > limit) await fail(`${what}: still ${s.h} lines after ${limit / 1000} s`, page);
    }
  };
  const down = await watch((h) => h > 0 && h <= 480, "at 2 Mb/s", 90_000);
  console.log(`ok quality: at 2 Mb/s hls.js stepped down to ${down.h} lines in ${(down.took / 1000).toFixed(1)} s, longest gap between time updates ${down.longest} ms`);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const up = await watch((h) => h === 720, "the throttle lifted", 150_000);
  console.log(`ok quality: the throttle lifted, back to 720 lines in ${(up.took / 1000).toFixed(1)} s, longest gap ${up.longest} ms`);
  await cdp.detach();
  // TV mode: the remote reaches the button from the player's controls.
  const tv = await open({ width: 1280, height: 720 }, "/?tv=1#/live");
  await tv.waitForFunction(() => !document.querySelector("#quality").hidden, null, { timeout: 30_000 }).catch(() => fail("no quality button in TV mode", tv));
  await tv.focus("#mute");
  for (let i = 0; i < 6 && (await tv.evaluate(() => document.activeElement?.id)) !== "quality"; i++) await tv.keyboard.press("ArrowRight");
  if ((await tv.evaluate(() => document.activeElement?.id)) !== "quality") await fail("the remote does not reach the quality button", tv);
  const before = await tv.evaluate(() => document.querySelector("#quality").dataset.pinned);
  await tv.keyboard.press("Enter");
  const after = await tv.evaluate(() => document.querySelector("#quality").dataset.pinned);
  if (before === after) await fail("Enter on the quality button changed nothing", tv);
  await tv.evaluate(() => localStorage.setItem("shufflecast.quality", "auto"));
  console.log(`ok quality: TV mode reaches the button with the remote (${before} → ${after})`);
  await tv.context().close();
}

// ---- skip -------------------------------------------------------------------------
{
  // Something to skip to: a ready chunk besides the one on air (a busy machine
  // encodes slower than real time, and then airs the slate).
  for (const until = Date.now() + 300_000; ; await sleep(1000)) {
    const status = await json("/api/stream-status");
    const chunks = (await json("/api/chunks?limit=100")).chunks;
    if (status.clip && chunks.some((c) => c.state === "ready" && c.id !== status.chunk)) break;
    if (Date.now() > until) await fail("no chunk to skip to after 300 s", page);
  }
  const before = await page.getAttribute("#now-title", "data-clip");
  const t = Date.now();
  await page.click("#skip-video");
  // The goal is two segments; the deadline is for a skip that never happens (a
  // starved machine takes longer), and the time taken is printed.
  const limit = 2 * segment * 1000;
  await page
    .waitForFunction((id) => { const c = document.querySelector("#now-title").dataset.clip; return c && c !== id; }, before, { timeout: 30_000, polling: 50 })
    .catch(() => fail(`skip did not change now playing within 30 s`, page));
  const took = Date.now() - t;
  if (took > limit) await fail(`skip took ${took} ms, more than two segments (${limit} ms)`, page);
  console.log(`ok skip: now playing changed ${took} ms after the click (goal ${limit} ms)`);
}

// ---- play next --------------------------------------------------------------------
{
  let chosen = null;
  const until = Date.now() + 150_000;
  while (!chosen) {
    const [list, status] = await Promise.all([json("/api/chunks?limit=100"), json("/api/stream-status")]);
    const ready = list.chunks.filter((c) => c.state === "ready" && !c.on_air && c.id !== status.chunk);
    chosen = ready.find((c) => c.id !== status.next_chunk) ?? null;
    if (!chosen && Date.now() > until) await fail(`no second ready chunk to play next after 150 s: ${JSON.stringify(list.chunks.map((c) => [c.id, c.state]))}`, page);
    if (!chosen) await sleep(1000);
  }
  await show(page, "library/chunks");
  await page.fill("#chunk-search", chosen.id);
  const button = page.locator(`li[data-chunk="${chosen.id}"] button:has-text("Play next")`);
  await button.waitFor({ timeout: 10_000 });
  const airing = (await json("/api/stream-status")).chunk;
  await button.click();
  await page.waitForSelector(`#notice.ok:has-text("${chosen.id}")`, { timeout: 5000 }).catch(() => fail("play next did not confirm", page));
  const next = (await json("/api/stream-status")).next_chunk;
  if (next !== chosen.id && (await json("/api/stream-status")).chunk !== chosen.id) await fail(`next chunk is ${next}, not ${chosen.id}`, page);
  const t = Date.now();
  let now;
  for (;;) {
    now = (await json("/api/stream-status")).chunk;
    if (now !== airing) break;
    if (Date.now() - t > 60_000) await fail(`chunk ${airing} never ended`, page);
    await sleep(250);
  }
  if (now !== chosen.id) await fail(`after ${airing} came ${now}, not the chosen ${chosen.id}`, page);
  console.log(`ok play next: chunk ${chosen.id} aired right after ${airing} (${((Date.now() - t) / 1000).toFixed(1)} s later)`);
}

// ---- every view, at three sizes ------------------------------------------------
/** Fails if a header of the stats tables wraps (two line boxes, or text wider than
 *  its cell): "Creato r" at 1280 px was a header broken inside a word. */
async function statsHeadersOnOneLine(p, where) {
  await show(p, "stats");
  await p.waitForSelector("#stats table.top th", { timeout: 10_000 });
  const { count, wrapped } = await p.evaluate(() => {
    const ths = [...document.querySelectorAll("#stats table.top th")];
    const wrapped = ths
      .filter((th) => {
        const r = document.createRange();
        r.selectNodeContents(th);
        const lines = new Set([...r.getClientRects()].map((q) => Math.round(q.top)));
        return lines.size !== 1 || th.scrollWidth > th.clientWidth;
      })
      .map((th) => `${th.closest("table").caption?.textContent}: "${th.textContent}" (${th.clientWidth}x${th.clientHeight})`);
    return { count: ths.length, wrapped };
  });
  if (count < 10) await fail(`stats at ${where}: ${count} table headers, expected 10`, p);
  if (wrapped.length) await fail(`stats headers wrap at ${where}: ${wrapped.join(", ")}`, p);
  return count;
}
const VIEWS = Object.keys(READY);
for (const v of VIEWS) {
  await show(page, v);
  await sleep(v === "system" ? 3500 : 500);
  await page.screenshot({ path: `${out}/desktop-${v.replace("/", "-")}.png` });
}
console.log(`ok views: ${VIEWS.length} views filled in at 1280x800`);
console.log(`ok stats: ${await statsHeadersOnOneLine(page, "1280x800")} table headers on one line each at 1280x800`);
{
  const phone = await open({ width: 390, height: 844 }, "/#/live");
  for (const v of VIEWS) {
    await show(phone, v);
    await sleep(300);
    const over = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (over > 1) await fail(`view ${v} scrolls sideways on a phone by ${over} px`, phone);
    if (v === "stats") await statsHeadersOnOneLine(phone, "390x844");
    await phone.screenshot({ path: `${out}/phone-${v.replace("/", "-")}.png`, fullPage: true });
  }
  if (phone.errors.length) await fail(`console errors on the phone: ${phone.errors.join(" | ")}`, phone);
  await phone.context().close();
  const uhd = await open({ width: 3840, height: 2160 }, "/#/live");
  await show(uhd, "live");
  await sleep(1000);
  const size = await uhd.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  if (size < 30) await fail(`the 4K layout keeps small type (${size}px)`, uhd);
  await uhd.screenshot({ path: `${out}/4k-live.png` });
  if (uhd.errors.length) await fail(`console errors at 4K: ${uhd.errors.join(" | ")}`, uhd);
  await uhd.context().close();
  console.log(`ok layout: no sideways scrolling on a 390 px phone; 4K type ${size}px`);
}
if (page.errors.length) await fail(`console errors: ${page.errors.join(" | ")}`, page);

// ---- pictures: every one shown loads, a missing one is a placeholder ----------
/** Loads every picture of the view (lazy ones too) and returns what came of them. */
async function pictures(p) {
  return p.evaluate(async () => {
    const imgs = [...document.querySelectorAll("#view img.picture")];
    await Promise.all(
      imgs.map((i) => {
        i.loading = "eager";
        return i.complete ? null : new Promise((ok) => (i.addEventListener("load", ok, { once: true }), i.addEventListener("error", ok, { once: true }), setTimeout(ok, 10_000)));
      }),
    );
    const shown = imgs.filter((i) => i.isConnected);
    return {
      loaded: shown.filter((i) => i.naturalWidth > 0).length,
      broken: [...shown.filter((i) => i.naturalWidth === 0).map((i) => i.src), ...[...document.querySelectorAll("#view .placeholder[data-failed]")].map((e) => e.dataset.failed)],
      placeholders: document.querySelectorAll("#view .picture.placeholder:not([data-failed])").length,
    };
  });
}
{
  const counts = [];
  for (const v of ["guide", "live", "library/chunks", "library/videos", "stats"]) {
    // Pictures are made as clips, chunks and probes are: shown again until one is there.
    let r;
    for (const until = Date.now() + 60_000; ; await sleep(2000)) {
      await show(page, "system");
      await show(page, v);
      if (v === "live") await page.waitForSelector("#coming-clips li", { timeout: 30_000 }).catch(() => fail("Live shows no coming clips", page));
      r = await pictures(page);
      if (r.broken.length) await fail(`${v}: pictures that do not load: ${r.broken.join(", ")}`, page);
      if (r.loaded > 0) break;
      if (Date.now() > until) await fail(`${v}: no picture shows after 60 s (${r.placeholders} placeholders)`, page);
    }
    counts.push(`${v} ${r.loaded} loaded, ${r.placeholders} placeholders`);
  }
  console.log(`ok pictures: ${counts.join("; ")}`);
}

// ---- the guide: a timeline grid, clips on focus ---------------------------------
{
  await show(page, "guide");
  const g = await page.evaluate(() => ({
    rows: document.querySelectorAll("#guide li[data-channel]").length,
    blocks: [...document.querySelectorAll("#guide .epg-block")].map((b) => ({ w: b.getBoundingClientRect().width, start: Number(b.dataset.start), stop: Number(b.dataset.stop), clipped: b.hasAttribute("data-clipped"), onAir: b.classList.contains("on-air") })),
    now: !document.querySelector("#guide-now").hidden,
  }));
  const channels = (await json("/api/channels")).channels.length;
  if (g.rows !== channels) await fail(`the guide has ${g.rows} rows for ${channels} channels`, page);
  if (g.blocks.length < 2) await fail(`the guide has ${g.blocks.length} blocks`, page);
  if (g.blocks.filter((b) => b.onAir).length !== g.rows) await fail(`not one block on air per row: ${JSON.stringify(g.blocks.slice(0, 3))}`, page);
  if (!g.now) await fail("the guide has no now line", page);
  // Sized by their length: each whole block has the same pixels per second (2 px
  // of each are the gap between blocks).
  const pps = g.blocks.filter((b) => !b.clipped && b.stop > b.start).map((b) => (b.w + 2) / (b.stop - b.start));
  if (pps.length < 2 || Math.max(...pps) / Math.min(...pps) > 1.03) await fail(`blocks are not sized by their length: ${pps.map((x) => x.toFixed(2)).join(", ")} px/s`, page);
  // The programme on air: its clips (the first 24) below the grid; one far ahead:
  // the channel's own description.
  const block = page.locator("#guide .epg-block.on-air").first();
  await block.focus();
  const key = await block.getAttribute("data-key");
  await page.waitForFunction((k) => document.querySelector("#guide-detail").dataset.key === k, key, { timeout: 5000 }).catch(() => fail("focusing a block does not show it below the grid", page));
  const [slug, start] = [await block.getAttribute("data-channel"), Number(await block.getAttribute("data-start"))];
  const prog = (await json("/api/guide?hours=1")).channels.find((c) => c.slug === slug).programmes.find((p) => p.start === start);
  const got = await page.locator("#guide-clips li").count();
  if (!prog?.known || got < 1 || got > Math.min(24, prog.clips.length) + 2) await fail(`the detail shows ${got} clips of the programme on air, which has ${prog?.clips.length}`, page);
  const last = page.locator("#guide .epg-block").last();
  await last.focus();
  await page.waitForFunction(() => (document.querySelector("#guide-detail .guide-description")?.textContent ?? "").length > 20, null, { timeout: 5000 }).catch(() => fail("a programme far ahead shows no description", page));
  await page.screenshot({ path: `${out}/desktop-guide-detail.png` });
  console.log(`ok guide grid: ${g.rows} row(s), ${g.blocks.length} blocks at ${Math.min(...pps).toFixed(2)}–${Math.max(...pps).toFixed(2)} px/s, a now line; a focused block shows its ${got} clips`);
}

// ---- a chunk's preview: its VOD playlist in a dialog ----------------------------
{
  await show(page, "library/chunks");
  const first = page.locator("#chunk-list button[data-preview]").first();
  const chunk = await first.getAttribute("data-preview");
  await first.click();
  await page.waitForSelector("#preview-dialog[open] #preview-video", { timeout: 5000 }).catch(() => fail("the preview dialog did not open", page));
  await page.waitForFunction(() => document.querySelector("#preview-video").currentTime > 0, null, { timeout: 30_000 }).catch(async () => fail(`the preview of ${chunk} did not start: ${await page.textContent("#preview-problem")}`, page));
  const t0 = await page.evaluate(() => document.querySelector("#preview-video").currentTime);
  await sleep(5000);
  const r = await page.evaluate(() => ({ t: document.querySelector("#preview-video").currentTime, err: document.querySelector("#preview-video").error?.message ?? null, problem: document.querySelector("#preview-problem").hidden ? null : document.querySelector("#preview-problem").textContent, src: document.querySelector("#preview-video").dataset.src }));
  if (r.err || r.problem) await fail(`the preview failed: ${r.err ?? r.problem}`, page);
  if (r.t - t0 < 4) await fail(`the preview played ${(r.t - t0).toFixed(2)} s in 5 s`, page);
  await page.screenshot({ path: `${out}/desktop-preview.png` });
  if (!(await page.isVisible("#preview-dialog #preview-play-next"))) await fail("the preview has no Play next", page);
  await page.click("#preview-close");
  await page.waitForSelector("#preview-dialog", { state: "detached", timeout: 5000 }).catch(() => fail("the preview dialog did not close", page));
  console.log(`ok preview: chunk ${chunk} (${r.src}) played ${(r.t - t0).toFixed(2)} s in 5 s with no error`);
}

// ---- music: a track heard in the page, one at a time ---------------------------
{
  // The demo's second track is made right after the first (a busy machine takes
  // longer: the deadline is for a hang, not for speed).
  for (const until = Date.now() + 300_000; (await json("/api/audio")).tracks.length < 2; await sleep(1000)) {
    if (Date.now() > until) await fail("the demo music has fewer than 2 tracks after 300 s", page);
  }
  await show(page, "library/music");
  await page.waitForFunction(() => document.querySelectorAll("#track-list button[data-listen]").length >= 2, null, { timeout: 10_000 }).catch(() => fail("the music list has fewer than 2 Listen buttons", page));
  const buttons = page.locator("#track-list button[data-listen]");
  if ((await buttons.count()) < 1) await fail("no Listen button in the music list", page);
  await buttons.first().click();
  await page.waitForFunction(() => document.querySelector("#track-audio").currentTime > 1, null, { timeout: 20_000 }).catch(async () => fail(`the track did not play: ${await page.evaluate(() => document.querySelector("#track-audio").error?.message ?? "no error")} ${await page.textContent("#notice")}`, page));
  const a = await page.evaluate(() => ({ t: document.querySelector("#track-audio").currentTime, track: document.querySelector("#track-audio").dataset.track, src: document.querySelector("#track-audio").src }));
  await sleep(1500);
  const b = await page.evaluate(() => ({ t: document.querySelector("#track-audio").currentTime, err: document.querySelector("#track-audio").error?.message ?? null, pressed: [...document.querySelectorAll("button[data-listen][aria-pressed=true]")].map((e) => e.dataset.listen) }));
  if (b.err || b.t <= a.t) await fail(`the track stopped at ${b.t} s: ${b.err}`, page);
  if (b.pressed.length !== 1 || b.pressed[0] !== a.track) await fail(`the pressed Listen buttons are ${JSON.stringify(b.pressed)}, not ${a.track}`, page);
  await page.screenshot({ path: `${out}/desktop-music-listen.png` });
  let other = null;
  {
    await buttons.nth(1).click();
    await page.waitForFunction((t) => document.querySelector("#track-audio").dataset.track !== t && document.querySelector("#track-audio").currentTime > 0.5, a.track, { timeout: 20_000 }).catch(() => fail("the second track did not play", page));
    const pressed = await page.evaluate(() => [...document.querySelectorAll("button[data-listen][aria-pressed=true]")].map((e) => e.dataset.listen));
    other = pressed.join(", ");
    if (pressed.length !== 1) await fail(`two tracks play at once: ${pressed.join(", ")}`, page);
  }
  await page.locator("#track-list button[data-listen][aria-pressed=true]").click();
  await page.waitForFunction(() => document.querySelector("#track-audio").paused, null, { timeout: 5000 }).catch(() => fail("Stop did not stop the track", page));
  console.log(`ok music: ${a.track} (${new URL(a.src).pathname}) played ${b.t.toFixed(1)} s${other ? `; then ${other} alone` : ""}; Stop stops`);
}

// ---- stats: airtime per day ---------------------------------------------------
{
  await show(page, "stats");
  const c = await page.evaluate(() => {
    const svg = document.querySelector("#airtime-chart");
    const ids = (svg?.getAttribute("aria-labelledby") ?? "").split(/\s+/).filter(Boolean);
    return {
      bars: svg?.querySelectorAll("rect.bar").length ?? 0,
      role: svg?.getAttribute("role"),
      title: ids.map((i) => document.getElementById(i)?.textContent ?? "").join(" / "),
      axes: [...(svg?.querySelectorAll("text.axis-name") ?? [])].map((t) => t.textContent),
      today: Number(svg?.querySelector("rect.bar:last-of-type")?.getAttribute("height") ?? 0),
    };
  });
  if (c.bars !== 30) await fail(`the airtime chart has ${c.bars} bars`, page);
  if (c.role !== "img" || !/Airtime per day/.test(c.title)) await fail(`the chart has no accessible title: ${JSON.stringify(c)}`, page);
  if (c.axes.length !== 2) await fail(`the chart's axes are not named: ${c.axes.join(", ")}`, page);
  if (!(c.today > 0)) await fail("today's bar is empty though the channel is on air", page);
  console.log(`ok stats chart: ${c.bars} bars, “${c.title}”, axes ${c.axes.join(" and ")}`);
}
if (page.errors.length) await fail(`console errors: ${page.errors.join(" | ")}`, page);

// ---- installable: manifest, icons, a service worker that leaves the stream alone ----
{
  const manifest = await (await fetch(`${base}/manifest.webmanifest`)).json();
  for (const icon of manifest.icons) {
    const r = await fetch(base + icon.src);
    if (!r.ok) await fail(`manifest icon ${icon.src}: HTTP ${r.status}`);
  }
  if (!manifest.icons.some((i) => i.sizes === "512x512") || manifest.display !== "standalone") await fail("the manifest is not installable");
  const sw = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    const keys = [];
    for (const n of await caches.keys()) for (const req of await (await caches.open(n)).keys()) keys.push(new URL(req.url).pathname);
    return { scope: reg.scope, keys, controlled: !!navigator.serviceWorker.controller };
  });
  if (!sw.keys.includes("/")) await fail(`the service worker did not keep the app shell: ${sw.keys.join(", ")}`, page);
  const live = sw.keys.filter((k) => /^\/(hls|api|iptv|epg)/.test(k));
  if (live.length) await fail(`the service worker cached live resources: ${live.join(", ")}`, page);
  console.log(`ok pwa: manifest with ${manifest.icons.length} icons, service worker at ${sw.scope} keeps ${sw.keys.length} shell files and nothing live`);
}

// ---- TV mode ------------------------------------------------------------------------
{
  const tv = await open({ width: 1920, height: 1080 }, "/?tv=1#/live");
  if (!(await tv.evaluate(() => document.documentElement.classList.contains("tv")))) await fail("?tv=1 did not turn TV mode on", tv);
  await tv.waitForSelector(READY.live);

  // The focus graph as the keyboard makes it: from each control, where each arrow goes.
  const graph = async () => {
    const n = await tv.evaluate(() => {
      const sel = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])';
      const all = [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length > 0 && !e.closest("[hidden], details:not([open]) > :not(summary)") && !e.closest("dialog"));
      all.forEach((e, i) => (e.dataset.tvid = String(i)));
      return all.length;
    });
    const start = await tv.evaluate(() => document.activeElement?.dataset?.tvid ?? null);
    const edges = new Map();
    for (let i = 0; i < n; i++) {
      const e = {};
      for (const key of ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]) {
        await tv.evaluate((id) => document.querySelector(`[data-tvid="${id}"]`).focus(), String(i));
        await tv.keyboard.press(key);
        const to = await tv.evaluate(() => document.activeElement?.dataset?.tvid ?? null);
        if (to !== null && to !== String(i)) e[key] = to;
      }
      edges.set(String(i), e);
    }
    return { n, start, edges };
  };
  const path = (g, from, to) => {
    const prev = new Map([[from, null]]);
    const queue = [from];
    while (queue.length) {
      const a = queue.shift();
      if (a === to) break;
      for (const [key, b] of Object.entries(g.edges.get(a) ?? {})) if (!prev.has(b)) (prev.set(b, [a, key]), queue.push(b));
    }
    if (!prev.has(to)) return null;
    const keys = [];
    for (let at = to; prev.get(at); at = prev.get(at)[0]) keys.unshift(prev.get(at)[1]);
    return keys;
  };
  /** Moves the focus with arrow keys only from where it is to `selector`, then presses Enter. */
  const reachAndPress = async (g, selector) => {
    const from = await tv.evaluate(() => document.activeElement?.dataset?.tvid ?? null);
    const to = await tv.evaluate((s) => document.querySelector(s)?.dataset?.tvid ?? null, selector);
    if (from === null || to === null) await fail(`TV: no focus or no ${selector}`, tv);
    const keys = path(g, from, to);
    if (!keys) await fail(`TV: ${selector} cannot be reached from the focus`, tv);
    for (const k of keys) await tv.keyboard.press(k);
    const at = await tv.evaluate((s) => document.activeElement === document.querySelector(s), selector);
    if (!at) await fail(`TV: the keys ${keys.join(" ")} did not reach ${selector}`, tv);
    await tv.keyboard.press("Enter");
    return keys.length;
  };

  let controls = 0;
  for (const v of VIEWS) {
    await show(tv, v);
    await sleep(v === "system" ? 3500 : 300);
    // Where the view puts the focus when it opens, or the first control.
    await tv.evaluate(() => { if (document.activeElement === document.body) document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true })); });
    const focusVisible = await tv.evaluate(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 3; });
    if (!focusVisible) await fail(`TV: the focus is not clearly visible in ${v}`, tv);
    const startId = await tv.evaluate(() => document.activeElement?.dataset?.tvid ?? null);
    const g = await graph();
    const start = startId ?? g.start ?? "0";
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length) for (const b of Object.values(g.edges.get(queue.shift()) ?? {})) if (!seen.has(b)) (seen.add(b), queue.push(b));
    if (seen.size !== g.n) {
      const missing = await tv.evaluate((ids) => ids.map((i) => document.querySelector(`[data-tvid="${i}"]`).outerHTML.slice(0, 80)), [...Array(g.n).keys()].map(String).filter((i) => !seen.has(i)));
      await fail(`TV: in ${v}, ${g.n - seen.size} of ${g.n} controls cannot be reached with arrows: ${missing.join(" | ")}`, tv);
    }
    controls += g.n;
    await tv.evaluate((id) => document.querySelector(`[data-tvid="${id}"]`).focus(), start);
    await tv.screenshot({ path: `${out}/tv-${v.replace("/", "-")}.png` });

    // Enter on the view's main action, reached with arrows only.
    const expect = { live: ["#skip-video", "/api/skip_to_next"], "library/chunks": ['button[data-chunk]', "/api/play_chunk"], generation: ["#gen-start", "/api/generate_chunk"], settings: ["#settings-save", null] }[v];
    if (expect) {
      const [sel, api] = expect;
      const resp = api ? tv.waitForResponse((r) => new URL(r.url()).pathname === api && r.status() === 202, { timeout: 10_000 }) : null;
      await reachAndPress(g, sel);
      if (resp) await resp.catch(() => fail(`TV: Enter on ${sel} did not call ${api}`, tv));
      else await tv.waitForSelector("#notice:not([hidden])", { timeout: 5000 }).catch(() => fail(`TV: Enter on ${sel} did nothing`, tv));
    }
  }
  // The guide: the arrow keys reach a block of the grid, what it holds shows, Enter
  // plays its channel.
  {
    await show(tv, "guide");
    await sleep(300);
    const g = await graph();
    const target = '#guide .epg-block:not(.on-air)';
    await tv.evaluate(() => document.querySelector("header nav a[data-view=guide]").focus());
    const from = await tv.evaluate(() => document.activeElement.dataset.tvid);
    const to = await tv.evaluate((s) => document.querySelector(s)?.dataset.tvid ?? null, target);
    const keys = to === null ? null : path(g, from, to);
    if (!keys) await fail("TV: no block of the guide can be reached from the menu", tv);
    for (const k of keys) await tv.keyboard.press(k);
    const at = await tv.evaluate(() => ({ key: document.activeElement.dataset.key ?? null, channel: document.activeElement.dataset.channel ?? null, title: document.activeElement.querySelector(".epg-title")?.textContent ?? null }));
    if (!at.key) await fail(`TV: the keys ${keys.join(" ")} did not reach a block`, tv);
    // Its clips when they are known, else the channel's description of it.
    await tv.waitForFunction((k) => document.querySelector("#guide-detail").dataset.key === k && (document.querySelectorAll("#guide-clips li").length > 0 || (document.querySelector("#guide-detail .guide-description")?.textContent ?? "").length > 20), at.key, { timeout: 5000 }).catch(() => fail("TV: the focused block's clips or description do not show", tv));
    const detailTitle = await tv.textContent("#guide-detail-title");
    if (detailTitle !== at.title) await fail(`TV: the detail says “${detailTitle}” for the block “${at.title}”`, tv);
    await tv.screenshot({ path: `${out}/tv-guide-detail.png` });
    await tv.keyboard.press("Enter");
    await tv.waitForFunction(() => location.hash === "#/live", null, { timeout: 5000 }).catch(() => fail("TV: Enter on a block of the guide did not play its channel", tv));
    await tv.waitForSelector(`video[data-stream="/hls/${at.channel}/stream.m3u8"]`, { timeout: 10_000 }).catch(() => fail(`TV: the player does not play ${at.channel}`, tv));
    console.log(`ok tv guide: ${keys.length} arrow keys from the menu to “${at.title}”, its clips shown, Enter plays ${at.channel}`);
  }

  // Enter on a menu link opens its view; Back returns to Live.
  await show(tv, "live");
  await tv.evaluate(() => document.querySelector("#skip-video").focus());
  const g = await graph();
  await reachAndPress(g, 'header nav a[data-view="stats"]');
  await tv.waitForFunction(() => location.hash === "#/stats", null, { timeout: 5000 }).catch(() => fail("TV: Enter on the Stats link did not open it", tv));
  await tv.keyboard.press("Escape");
  await tv.waitForFunction(() => location.hash === "#/live", null, { timeout: 5000 }).catch(() => fail("TV: Back did not return to Live", tv));
  if (tv.errors.length) await fail(`console errors in TV mode: ${tv.errors.join(" | ")}`, tv);
  await tv.context().close();
  console.log(`ok tv: all ${controls} controls of ${VIEWS.length} views reachable with arrow keys; Enter skips, plays next, generates, saves and opens; Back returns`);
}

// ---- channels: the guide, the form, switching -------------------------------------
{
  const slug = "second";
  const folder = join(work, "data", "demo", "videos");
  if (!existsSync(folder)) await fail(`no demo folder at ${folder}`);
  const before = await json("/api/channels");
  const c = await open({ width: 1280, height: 800 }, "/#/channel/new");
  await c.waitForSelector("#ch-slug");
  await c.waitForFunction(() => document.querySelector("#ch-number").value !== "", null, { timeout: 10_000 }).catch(() => fail("the form did not suggest a number", c));
  // Its settings come from the server's schema of the settings: every setting of
  // channel scope has a field, labelled with the schema's title (the old
  // hand-written form had three), and no server-wide one has.
  {
    const schema = await json("/api/settings/schema");
    const scope = (s) => schema["x-order"].filter((k) => schema.properties[k]["x-scope"] === s);
    const offered = await c.evaluate((keys) => keys.filter((k) => document.getElementById(`ch-${k}`)), schema["x-order"]);
    const missing = scope("channel").filter((k) => !offered.includes(k));
    const leaked = scope("server").filter((k) => offered.includes(k));
    if (missing.length || leaked.length) await fail(`the channel form misses channel settings ${missing.join(", ") || "none"} and offers server settings ${leaked.join(", ") || "none"}`, c);
    if (!offered.includes("watermark") || offered.includes("width") || offered.includes("generator_jobs")) await fail(`the channel form offers ${offered.join(", ")}`, c);
    const label = await c.textContent('label[for="ch-watermark"]');
    if (label !== schema.properties.watermark.title) await fail(`the channel's watermark field is labelled “${label}”, not the schema's “${schema.properties.watermark.title}”`, c);
    const described = await c.evaluate(() => document.querySelector("#ch-watermark").getAttribute("aria-describedby").split(" ").map((i) => document.getElementById(i)?.textContent ?? "").join(" "));
    if (!described.includes(schema.properties.watermark.description)) await fail(`the watermark field is not described by the schema: ${described}`, c);
    await c.screenshot({ path: `${out}/channel-form.png`, fullPage: true });
    console.log(`ok channel form: ${offered.length} settings from the schema (all ${scope("channel").length} of channel scope, none of the ${scope("server").length} server-wide)`);
  }
  await c.fill("#ch-slug", slug);
  await c.fill("#ch-name", "Second");
  await c.fill("#ch-videos", folder);
  await c.click("#channel-save");
  await c.waitForFunction(() => location.hash === "#/guide", null, { timeout: 10_000 }).catch(async () => fail(`creating the channel did not return to the guide: ${await c.textContent("#notice")} ${await c.evaluate(() => [...document.querySelectorAll(".field-error")].map((e) => e.textContent).join(" "))}`, c));
  const n = before.channels.length + 1;
  await c.waitForFunction((k) => document.querySelectorAll("#guide li[data-channel]").length === k, n, { timeout: 10_000 }).catch(() => fail(`the guide does not show ${n} rows`, c));
  const made = (await json(`/api/channels/${slug}`)).definition;
  if (JSON.stringify(made.videos) !== JSON.stringify([folder])) await fail(`the form sent videos ${JSON.stringify(made.videos)}`, c);
  // Fields left empty are the server's values: left out of the definition.
  if (Object.keys(made).sort().join() !== "name,number,slug,videos") await fail(`the form sent keys it was not given: ${JSON.stringify(made)}`, c);
  await c.screenshot({ path: `${out}/guide.png` });
  console.log(`ok guide: the channel made through the form is row ${n} of the guide (number ${(await json(`/api/channels/${slug}`)).number})`);

  // Its row plays it once it is on air; the views ask for it and say so.
  const airAt = Date.now();
  while (!(await fetch(`${base}/hls/${slug}/stream.m3u8`).then((r) => r.ok, () => false))) {
    if (Date.now() - airAt > 180_000) await fail(`the second channel did not come on air within 180 s`, c);
    await sleep(500);
  }
  console.log(`second channel on air ${((Date.now() - airAt) / 1000).toFixed(1)} s after it was made`);
  await c.click(`#guide li[data-channel="${slug}"] .guide-row`);
  await c.waitForSelector(`video[data-stream="/hls/${slug}/stream.m3u8"]`, { timeout: 10_000 }).catch(() => fail("the player did not switch to the second channel's playlist", c));
  if (!(await c.evaluate(() => location.search)).includes(`channel=${slug}`)) await fail("the address does not name the selected channel", c);
  const jobs = c.waitForRequest((r) => r.url().includes("/api/jobs?channel=" + slug), { timeout: 10_000 });
  await c.evaluate(() => (location.hash = "#/generation"));
  await jobs.catch(() => fail("the generation view did not ask for the selected channel", c));
  await c.waitForSelector(`#view-channel[data-channel="${slug}"]:has-text("Second")`, { timeout: 10_000 }).catch(() => fail("the generation view does not say its channel", c));
  console.log(`ok select: the guide row plays /hls/${slug}/stream.m3u8; the generation view asks for and names it`);

  // TV mode: PageDown goes to the other channel, with a banner.
  const tv = await open({ width: 1920, height: 1080 }, "/?tv=1#/live");
  await tv.waitForSelector("video[data-stream]");
  const from = await tv.getAttribute("video", "data-stream");
  await tv.keyboard.press("PageDown");
  await tv.waitForFunction((f) => document.querySelector("video")?.dataset.stream && document.querySelector("video").dataset.stream !== f, from, { timeout: 10_000 }).catch(() => fail("PageDown did not switch channel", tv));
  const to = await tv.getAttribute("video", "data-stream");
  const banner = await tv.textContent("#channel-banner:not([hidden])", { timeout: 2000 }).catch(() => null);
  if (!banner) await fail("no channel banner after PageDown", tv);
  await tv.screenshot({ path: `${out}/tv-channel-banner.png` });
  await tv.keyboard.press("PageUp");
  await tv.waitForFunction((f) => document.querySelector("video")?.dataset.stream === f, from, { timeout: 10_000 }).catch(() => fail("PageUp did not switch back", tv));
  if (tv.errors.length) await fail(`console errors in TV mode: ${tv.errors.join(" | ")}`, tv);
  await tv.context().close();
  console.log(`ok tv channels: PageDown ${from} → ${to} with the banner “${banner}”, PageUp back`);

  // Edit the name; an invalid value is refused by its field.
  await c.evaluate((s) => (location.hash = `#/channel/${s}`), slug);
  await c.waitForFunction(() => document.querySelector("#ch-name").value === "Second", null, { timeout: 10_000 }).catch(() => fail("the edit form did not fill in", c));
  await c.fill("#ch-name", "Second renamed");
  // A setting the old form did not offer, in a group that starts collapsed: its
  // summary opens it.
  if (await c.isVisible("#ch-programme_title")) await fail("the guide's settings are not collapsed on a channel that sets none", c);
  await c.click('#channel-settings details:has(#ch-programme_title) > summary');
  await c.fill("#ch-programme_title", "Second's mix");
  await c.selectOption("#ch-delete_audio_files", "true");
  await c.click("#channel-save");
  await c.waitForSelector(`#guide li[data-channel="${slug}"] .name:has-text("Second renamed")`, { timeout: 10_000 }).catch(() => fail("the new name does not show in the guide", c));
  {
    const d = (await json(`/api/channels/${slug}`)).definition;
    if (d.programme_title !== "Second's mix" || d.delete_audio_files !== true || "clip_min" in d) await fail(`the form saved ${JSON.stringify(d)}`, c);
    console.log(`ok channel settings: programme_title and delete_audio_files saved from the schema's fields, the empty ones left out`);
  }
  await c.evaluate((s) => (location.hash = `#/channel/${s}`), slug);
  await c.waitForFunction(() => document.querySelector("#ch-name").value === "Second renamed", null, { timeout: 10_000 });
  await c.fill("#ch-clip_min", "0");
  await c.click("#channel-save");
  await c.waitForSelector("#ch-clip_min-error:not(:empty)", { timeout: 5000 }).catch(() => fail("the server's message did not show by clip_min", c));
  const msg = await c.textContent("#ch-clip_min-error");
  // The refusal's own console line (“status of 422”) is expected; nothing else is.
  c.errors = c.errors.filter((e) => !/status of 422/.test(e));
  await c.screenshot({ path: `${out}/channel-invalid.png` });
  const kept = (await json(`/api/channels/${slug}`)).definition;
  if (kept.clip_min === 0 || kept.name !== "Second renamed") await fail(`an invalid channel was saved: ${JSON.stringify(kept)}`, c);
  console.log(`ok channel edit: the new name shows in the guide; clip_min = 0 refused with “${msg}” by the field`);

  // A channel the API did not make is read-only.
  await c.evaluate((s) => (location.hash = `#/channel/${s}`), before.default);
  await c.waitForSelector("#channel-readonly:not([hidden])", { timeout: 10_000 }).catch(() => fail("the default channel's form is not marked read-only", c));
  const ro = await c.evaluate(() => ({ save: document.querySelector("#channel-save").hidden, del: document.querySelector("#channel-delete").hidden, name: document.querySelector("#ch-name").disabled }));
  if (!ro.save || !ro.del || !ro.name) await fail(`the default channel can be edited: ${JSON.stringify(ro)}`, c);

  // Delete through the form (the confirm is accepted).
  await c.evaluate((s) => (location.hash = `#/channel/${s}`), slug);
  await c.waitForSelector("#channel-delete:not([hidden])", { timeout: 10_000 });
  await c.click("#channel-delete");
  await c.waitForFunction((k) => location.hash === "#/guide" && document.querySelectorAll("#guide li[data-channel]").length === k, before.channels.length, { timeout: 10_000 }).catch(() => fail("the deleted channel still shows in the guide", c));
  const left = await fetch(`${base}/api/channels/${slug}`, { headers: { Authorization: `Bearer ${token}` } });
  if (left.status !== 404) await fail(`the deleted channel answers ${left.status}`, c);
  if (c.errors.length) await fail(`console errors: ${c.errors.join(" | ")}`, c);
  await c.context().close();
  console.log(`ok channel delete: gone from the guide and the API; the ${before.default} channel's form is read-only`);
}

// ---- errors in words (a page whose console errors are expected) ----------------
{
  const e = await open({ width: 1280, height: 800 }, "/#/settings");
  await show(e, "settings");
  const min = Number(await e.inputValue("#setting-clip_min"));
  const max = await e.inputValue("#setting-clip_max");
  await e.fill("#setting-clip_max", String(Math.max(0, min - 1)));
  await e.click("#settings-save");
  await e.waitForSelector("#setting-clip_max-error:has-text('clip_min')", { timeout: 5000 }).catch(() => fail("the server's message did not show by clip_max", e));
  await e.screenshot({ path: `${out}/settings-invalid.png` });
  const saved = await json("/api/settings");
  if (String(saved.settings.clip_max) !== max) await fail("an invalid setting was saved", e);
  console.log(`ok validation: “${await e.textContent("#setting-clip_max-error")}” shown by the field, nothing saved`);

  await e.evaluate(() => localStorage.setItem("shufflecast.adminToken", "wrong"));
  await show(e, "live");
  await e.click("#skip-video");
  await e.waitForSelector("dialog[open] #admin-token", { timeout: 5000 }).catch(() => fail("a wrong token did not ask for the token", e));
  const said = await e.textContent("#notice");
  if (!/token/i.test(said)) await fail(`a wrong token was said as “${said}”`, e);
  await e.keyboard.press("Escape");
  console.log(`ok wrong token: “${said}”, and the token dialog opened`);

  server.kill("SIGTERM");
  await e.waitForFunction(() => /does not answer|Lost the connection|not reachable/.test(document.querySelector("#notice").textContent + document.querySelector(".overlay")?.textContent), null, { timeout: 20_000 }).catch(() => fail("the server going away was not said", e));
  await e.screenshot({ path: `${out}/server-down.png` });
  const down = await e.evaluate(() => [document.querySelector("#notice").textContent, document.querySelector(".overlay")?.textContent ?? ""].filter((t) => /does not answer|Lost the connection|not reachable/.test(t)).join(" / "));
  console.log(`ok server down: “${down}”`);
}

await browser.close();
for (let i = 0; i < 100 && !serverExited; i++) await sleep(100);
if (!serverExited) server.kill("SIGKILL");
rmSync(work, { recursive: true, force: true });
console.log(`browser tests passed in ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${out}`);
