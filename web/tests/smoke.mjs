// A real browser against a running server: the player's time advances across a clip
// switch without a stall, skip changes what is on air, and no console errors.
// Usage: node tests/smoke.mjs http://127.0.0.1:8081 ADMIN_TOKEN [artifacts-dir]
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, token, out = "test-artifacts"] = process.argv.slice(2);
if (!base || !token) {
  console.error("usage: node tests/smoke.mjs BASE_URL ADMIN_TOKEN [ARTIFACTS_DIR]");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const errors = [];
page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
page.on("pageerror", (e) => errors.push(String(e)));
await page.addInitScript((t) => localStorage.setItem("shufflecast.adminToken", t), token);

const fail = async (msg) => {
  await page.screenshot({ path: `${out}/failure.png` });
  console.error(`FAIL: ${msg}`);
  await browser.close();
  process.exit(1);
};

await page.goto(`${base}/#/live`);
await page.waitForFunction(() => document.querySelector("video")?.currentTime > 0, null, { timeout: 30000 });
// The time advances by 15 s with no stall longer than 3 s, across clip changes.
const titles = new Set();
const t0 = await page.evaluate(() => document.querySelector("video").currentTime);
let last = t0;
let lastMove = Date.now();
while (last - t0 < 15) {
  await page.waitForTimeout(250);
  const t = await page.evaluate(() => document.querySelector("video").currentTime);
  titles.add(await page.textContent("h2"));
  if (t > last) {
    last = t;
    lastMove = Date.now();
  } else if (Date.now() - lastMove > 3000) {
    await fail(`playback stalled at ${t.toFixed(2)} s`);
  }
}
await page.screenshot({ path: `${out}/live.png` });

// Skip: now playing changes within two segments (4 s) and more.
const before = await page.evaluate(() => fetch("/api/stream-status").then((r) => r.json()));
await page.click("text=Skip video");
const changed = await page
  .waitForFunction(
    (id) => fetch("/api/stream-status").then((r) => r.json()).then((s) => s.clip && s.clip.id !== id),
    before.clip.id,
    { timeout: 6000, polling: 250 },
  )
  .then(() => true, () => false);
if (!changed) await fail("skip did not change what is on air");

for (const v of ["library", "system"]) {
  await page.goto(`${base}/#/${v}`);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${out}/${v}.png` });
}
if (errors.length) await fail(`console errors: ${errors.join(" | ")}`);
console.log(`ok: played ${(last - t0).toFixed(1)} s, titles seen: ${[...titles].join(" / ")}`);
await browser.close();
