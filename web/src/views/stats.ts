// Stats: hours streamed, chunks made and aired, airtime per day for the last 30
// days (a bar chart), the most aired sources (with their posters), creators and
// tracks.
import { api, DayAirtime, describe, Played, Stats } from "../api";
import { el, hours } from "../dom";
import { chan, channelLine } from "../channel";
import { picture } from "../pictures";
import { say } from "../ui";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/** "Nov 18" for a UTC day "2026-11-18". */
function shortDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : d.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

/** A round top for the y axis: 1, 2, 5 or 10 times a power of ten, at least `v`. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** Airtime per day as bars, oldest on the left, with labelled axes; its title and
 * description say the same in words for screen readers. */
export function airtimeChart(days: DayAirtime[], width = 640): HTMLElement {
  // Drawn at the width it is shown at (up to 640), so its type stays readable on a phone.
  const w = Math.round(Math.min(640, Math.max(300, width)));
  const h = 230;
  const pad = { left: 48, right: 10, top: 12, bottom: 40 };
  const plotW = w - pad.left - pad.right;
  const plotH = h - pad.top - pad.bottom;
  const most = Math.max(0, ...days.map((d) => d.seconds));
  const unit = most >= 2 * 3600 ? { secs: 3600, name: "hours" } : most >= 120 ? { secs: 60, name: "minutes" } : { secs: 1, name: "seconds" };
  const top = niceCeil(most / unit.secs);
  const y = (secs: number) => pad.top + plotH - (secs / unit.secs / top) * plotH;
  const total = days.reduce((s, d) => s + d.seconds, 0);
  const best = days.reduce<DayAirtime | null>((b, d) => (d.seconds > (b?.seconds ?? 0) ? d : b), null);
  const first = days[0]?.day ?? "";
  const last = days[days.length - 1]?.day ?? "";
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${w} ${h}`, class: "chart airtime-chart", id: "airtime-chart", role: "img", "aria-labelledby": "airtime-title airtime-desc" },
    svg("title", { id: "airtime-title" }, `Airtime per day, last ${days.length} days`),
    svg("desc", { id: "airtime-desc" }, `From ${first} to ${last} (UTC): ${hours(total)} in all${best ? `; the most on ${best.day}, ${hours(best.seconds)}` : "; nothing aired"}.`),
  );
  // The y axis: gridlines at 0, half and the top, and its name.
  for (const f of [0, 0.5, 1]) {
    const v = top * f;
    const yy = y(v * unit.secs);
    chart.append(
      svg("line", { x1: pad.left, x2: w - pad.right, y1: yy, y2: yy, class: "grid" }),
      svg("text", { x: pad.left - 6, y: yy + 4, class: "axis", "text-anchor": "end" }, Number.isInteger(v) ? String(v) : v.toFixed(1)),
    );
  }
  chart.append(svg("text", { x: 12, y: pad.top + plotH / 2, class: "axis axis-name", "text-anchor": "middle", transform: `rotate(-90 12 ${pad.top + plotH / 2})` }, unit.name));
  // The bars, and every fifth day named under them (the last always).
  const slot = plotW / Math.max(1, days.length);
  days.forEach((d, i) => {
    const x = pad.left + i * slot;
    const top_ = y(d.seconds);
    const bar = svg("rect", { x: x + slot * 0.15, y: top_, width: slot * 0.7, height: Math.max(0, pad.top + plotH - top_), class: "bar", "data-day": d.day, "data-seconds": d.seconds }, svg("title", {}, `${d.day}: ${hours(d.seconds)}`));
    chart.append(bar);
    if ((days.length - 1 - i) % 5 === 0) chart.append(svg("text", { x: x + slot / 2, y: h - pad.bottom + 16, class: "axis", "text-anchor": "middle" }, shortDay(d.day)));
  });
  chart.append(
    svg("line", { x1: pad.left, x2: w - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, class: "baseline" }),
    svg("text", { x: pad.left + plotW / 2, y: h - 4, class: "axis axis-name", "text-anchor": "middle" }, "day (UTC)"),
  );
  return el("figure", { class: "chart-box airtime" }, chart, el("figcaption", { class: "muted small" }, `Airtime per day, last ${days.length} days (UTC), in ${unit.name}`));
}

// Each table sits in its own box, which scrolls sideways when the table is wider
// (a phone): headers stay on one line and words are never broken.
function table(caption: string, rows: Played[], withCreator: boolean, withPicture = false): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.airtime));
  return el(
    "div",
    { class: "table-box" },
    el(
      "table",
      { class: "top" },
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Title"), withCreator ? el("th", { scope: "col" }, "Creator") : null, el("th", { scope: "col", class: "num" }, "Plays"), el("th", { scope: "col", class: "num" }, "Airtime"))),
      el(
        "tbody",
        {},
        ...(rows.length
          ? rows.map((r) => {
              const meter = el("span", { class: "meter" });
              meter.style.width = `${(100 * r.airtime) / max}%`;
              const title = withPicture ? el("span", { class: "with-picture" }, picture(r.thumbnail, `Poster of “${r.title}”`, "top-poster"), el("span", {}, r.title)) : r.title;
              return el("tr", {}, el("td", { class: "text" }, title), withCreator ? el("td", { class: "text" }, r.creator ?? "–") : null, el("td", { class: "num" }, String(r.plays)), el("td", { class: "num airtime" }, meter, hours(r.airtime)));
            })
          : [el("tr", {}, el("td", { colspan: withCreator ? "4" : "3", class: "muted" }, "Nothing aired yet."))]),
      ),
    ),
  );
}

export function stats(view: HTMLElement): () => void {
  const box = el("div", { id: "stats" }, el("p", { class: "muted" }, "Loading…"));
  view.replaceChildren(el("section", {}, el("h2", {}, "Stats"), channelLine(), box));
  api<Stats>(chan("/api/stats")).then(
    (s) =>
      box.replaceChildren(
        el(
          "div",
          { class: "cards" },
          el("div", { class: "card" }, el("span", { class: "big" }, s.hours_streamed.toFixed(s.hours_streamed < 10 ? 2 : 0)), el("span", { class: "muted" }, "hours streamed")),
          el("div", { class: "card" }, el("span", { class: "big" }, String(s.chunks_created)), el("span", { class: "muted" }, "chunks made")),
          el("div", { class: "card" }, el("span", { class: "big" }, String(s.chunks_aired)), el("span", { class: "muted" }, "chunks aired")),
        ),
        el("h3", {}, "Airtime per day"),
        airtimeChart(s.airtime_by_day, box.clientWidth - 16),
        el("div", { class: "tables" }, table("Top sources", s.top_videos, true, true), table("Top creators", s.top_creators, false), table("Music airtime", s.top_tracks, false)),
      ),
    (e) => say(describe(e)),
  );
  return () => {};
}
