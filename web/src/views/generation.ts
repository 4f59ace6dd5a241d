// Generation: start and stop, and each job's progress (percent, speed, ETA) live
// from the server's events.
import { api, describe, events, Jobs } from "../api";
import { bar, button, clock, el } from "../dom";
import { chan, channelLine } from "../channel";
import { act, say } from "../ui";

const STATES: Record<Jobs["state"], string> = {
  idle: "Idle: enough chunks are ready.",
  generating: "Generating.",
  waiting_for_library: "Waiting for the library: no usable video yet.",
  stalled: "Stalled.",
  stopped: "Stopped by an operator: the channel re-airs the chunks it has.",
};

export function generation(view: HTMLElement): () => void {
  const state = el("p", { class: "state", id: "gen-state" });
  const facts = el("p", { class: "muted" });
  const count = el("input", { type: "number", min: "1", max: "100", value: "1", "aria-label": "Chunks to make", id: "gen-count" });
  const start = button("Generate", () => act(chan("/api/generate_chunk"), `Asked for ${count.value} more chunk(s).`, { count: Number(count.value) }));
  start.id = "gen-start";
  start.dataset.autofocus = "";
  const stop = button("Stop", () => act(chan("/api/stop_generation"), "Generation stopped."), "ghost danger");
  stop.id = "gen-stop";
  const jobs = el("div", { class: "jobs", id: "gen-jobs" });
  view.replaceChildren(
    el(
      "section",
      {},
      el("h2", {}, "Generation"),
      channelLine(),
      state,
      facts,
      el("div", { class: "row" }, el("label", { for: "gen-count" }, "Chunks"), count, start, stop),
      el("h3", {}, "Jobs"),
      jobs,
    ),
  );
  const show = (j: Jobs) => {
    state.textContent = j.state === "stalled" ? `Stalled: ${j.reason ?? "unknown reason"}` : STATES[j.state] ?? j.state;
    state.dataset.state = j.state;
    const parts = [`${j.clips_encoded} clips encoded since start`, `${j.encode_failures} failed`, `${j.requested} chunk(s) requested`];
    if (j.next_run) parts.push(`next scheduled run ${new Date(j.next_run).toLocaleString()}`);
    facts.textContent = parts.join(" · ");
    jobs.replaceChildren(
      ...(j.jobs.length
        ? j.jobs.map((job) =>
            el(
              "div",
              { class: "job", "data-chunk": job.chunk },
              el("div", { class: "row spread" }, el("strong", {}, `Chunk ${job.chunk}`), el("span", {}, `${job.percent.toFixed(0)}%`)),
              bar(`Chunk ${job.chunk}`, job.percent / 100),
              el(
                "p",
                { class: "muted small" },
                `${job.clips_done} clips · ${clock(job.secs_done)} of ${clock(job.target_secs)} · ` +
                  `${job.speed !== null ? `${job.speed.toFixed(1)}× real time` : "starting"} · ETA ${clock(job.eta_secs)}` +
                  (job.current_source ? ` · cutting ${job.current_source.split("/").pop()}` : ""),
              ),
            ),
          )
        : [el("p", { class: "muted" }, "No job running.")]),
    );
  };
  api<Jobs>(chan("/api/jobs")).then(show, (e) => say(describe(e)));
  const es = events({ jobs: show }, undefined, chan("/api/events"));
  return () => es.close();
}
