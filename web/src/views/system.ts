// System: CPU, memory, GPU and disk gauges, and a chart of the last minutes.
import { api, describe, SystemUsage, Usage } from "../api";
import { bytes, el, every } from "../dom";
import { say } from "../ui";

const SVG = "http://www.w3.org/2000/svg";

function gauge(label: string, pct: number | null, detail: string): HTMLElement {
  const p = el("progress", { max: "100", "aria-label": label });
  p.value = pct ?? 0;
  const level = pct === null ? "" : pct > 90 ? "hot" : pct > 70 ? "warm" : "";
  return el("div", { class: `gauge ${level}` }, el("span", { class: "label" }, label), p, el("span", { class: "pct" }, pct === null ? "–" : `${pct.toFixed(0)}%`), el("span", { class: "muted small detail" }, detail));
}

/** Lines of percentages over time, newest on the right. */
function chart(history: Usage[], series: { name: string; cls: string; pick: (u: Usage) => number | null }[]): SVGSVGElement {
  const w = 600;
  const h = 160;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const t0 = history[0]?.at ?? 0;
  const t1 = history[history.length - 1]?.at ?? 1;
  const span = Math.max(1, t1 - t0);
  svg.setAttribute("aria-label", `Use over the last ${Math.round(span / 60)} minutes`);
  for (const y of [0, 50, 100]) {
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("x1", "0");
    line.setAttribute("x2", String(w));
    line.setAttribute("y1", String(h - (y / 100) * h));
    line.setAttribute("y2", String(h - (y / 100) * h));
    line.setAttribute("class", "grid");
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", "4");
    label.setAttribute("y", String(Math.max(12, h - (y / 100) * h - 4)));
    label.setAttribute("class", "axis");
    label.textContent = `${y}%`;
    svg.append(line, label);
  }
  for (const s of series) {
    const pts = history
      .map((u) => [u.at, s.pick(u)] as const)
      .filter((p): p is readonly [number, number] => p[1] !== null)
      .map(([t, v]) => `${(((t - t0) / span) * w).toFixed(1)},${(h - (Math.min(100, v) / 100) * h).toFixed(1)}`);
    if (pts.length < 2) continue;
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("class", s.cls);
    svg.append(line);
  }
  return svg;
}

export function system(view: HTMLElement): () => void {
  const gauges = el("div", { class: "gauges", id: "gauges" }, el("p", { class: "muted" }, "Measuring…"));
  const chartBox = el("div", { class: "chart-box" });
  const legend = el("p", { class: "legend" }, el("span", { class: "cpu" }, "CPU"), el("span", { class: "mem" }, "Memory"), el("span", { class: "gpu" }, "GPU"));
  const encoder = el("p", { class: "muted" });
  view.replaceChildren(el("section", {}, el("h2", {}, "System"), gauges, encoder, el("h3", {}, "Last minutes"), chartBox, legend));
  const stop = every(3000, async () => {
    try {
      const r = await api<SystemUsage>("/api/system-usage");
      encoder.textContent = `Encoder: ${r.encoder}`;
      const u = r.now;
      if (!u) return;
      gauges.replaceChildren(
        gauge("CPU", u.cpu_percent, "all cores of the server"),
        gauge("Memory", u.memory_percent, `${bytes(u.memory_used)} of ${bytes(u.memory_total)}`),
        gauge("Disk", u.disk_percent, `${bytes(u.disk_free)} free · data ${bytes(u.data_bytes)}`),
        ...u.gpus.map((g) => gauge(g.name, g.percent, g.memory_total ? `${bytes(g.memory_used)} of ${bytes(g.memory_total)}` : "")),
        u.nvenc_percent !== null ? gauge("NVENC", u.nvenc_percent, "encoder use") : el("p", { class: "muted small" }, u.gpus.length ? "" : "No GPU visible: encoding on the CPU."),
      );
      chartBox.replaceChildren(
        chart(r.history, [
          { name: "CPU", cls: "cpu", pick: (x) => x.cpu_percent },
          { name: "Memory", cls: "mem", pick: (x) => x.memory_percent },
          { name: "GPU", cls: "gpu", pick: (x) => x.gpus[0]?.percent ?? null },
        ]),
      );
    } catch (e) {
      say(describe(e));
    }
  });
  return stop;
}
