// Stats: hours streamed, chunks made and aired, the most aired sources, creators
// and tracks.
import { api, describe, Played, Stats } from "../api";
import { el, hours } from "../dom";
import { chan, channelLine } from "../channel";
import { say } from "../ui";

// Each table sits in its own box, which scrolls sideways when the table is wider
// (a phone): headers stay on one line and words are never broken.
function table(caption: string, rows: Played[], withCreator: boolean): HTMLElement {
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
              return el("tr", {}, el("td", { class: "text" }, r.title), withCreator ? el("td", { class: "text" }, r.creator ?? "–") : null, el("td", { class: "num" }, String(r.plays)), el("td", { class: "num airtime" }, meter, hours(r.airtime)));
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
        el("div", { class: "tables" }, table("Top sources", s.top_videos, true), table("Top creators", s.top_creators, false), table("Music airtime", s.top_tracks, false)),
      ),
    (e) => say(describe(e)),
  );
  return () => {};
}
