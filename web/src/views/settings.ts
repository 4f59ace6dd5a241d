// Settings: every editable setting, checked by the server; its message is shown
// next to the field it names. Live settings apply to the next clip or chunk, the
// others at the next start (the page says which are waiting for one). The form is
// made from the server's JSON schema of the settings (GET /api/settings/schema):
// no list of settings lives here.
import { api, ApiError, describe, SettingsReply } from "../api";
import { el } from "../dom";
import { say } from "../ui";

/** One property of the settings schema, as the server describes it. */
interface Property {
  type: "number" | "integer" | "boolean" | "string";
  enum?: string[];
  title: string;
  description: string;
  "x-step"?: number;
  "x-apply": "live" | "restart";
  "x-group": string;
}

interface Schema {
  properties: Record<string, Property>;
  "x-order": string[];
}

type Input = HTMLInputElement | HTMLSelectElement;

function field(key: string, p: Property): { row: HTMLElement; input: Input; error: HTMLElement } {
  const id = `setting-${key}`;
  let input: Input;
  if (p.type === "boolean") input = el("input", { type: "checkbox", id, name: key });
  else if (p.enum) input = el("select", { id, name: key }, ...p.enum.map((c) => el("option", { value: c }, c)));
  else {
    const number = p.type === "number" || p.type === "integer";
    input = el("input", { type: number ? "number" : "text", id, name: key, step: number ? String(p["x-step"] ?? (p.type === "integer" ? 1 : "any")) : false, inputmode: number ? "decimal" : false });
  }
  const error = el("span", { class: "field-error", id: `${id}-error`, role: "alert" });
  input.setAttribute("aria-describedby", `${id}-error`);
  const when = p["x-apply"] === "restart" ? el("span", { class: "muted small" }, " (next start)") : null;
  const row = el("div", { class: "field" }, el("label", { for: id }, p.title, when), input, el("span", { class: "muted small" }, p.description), error);
  return { row, input, error };
}

export function settings(view: HTMLElement): () => void {
  const form = el("form", { class: "settings", novalidate: true, id: "settings-form" });
  const pending = el("p", { class: "warn", hidden: true, id: "pending-restart" });
  view.replaceChildren(el("section", {}, el("h2", {}, "Settings"), pending, form));
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const errors = new Map<string, HTMLElement>();
  let current: Record<string, unknown> = {};

  const build = (schema: Schema) => {
    const groups = new Map<string, HTMLElement>();
    for (const key of schema["x-order"]) {
      const p = schema.properties[key];
      let set = groups.get(p["x-group"]);
      if (!set) {
        set = el("fieldset", {}, el("legend", {}, p["x-group"]));
        groups.set(p["x-group"], set);
        form.insertBefore(set, actions);
      }
      const f = field(key, p);
      inputs.set(key, f.input);
      errors.set(key, f.error);
      set.append(f.row);
    }
  };
  const save = el("button", { type: "submit", id: "settings-save" }, "Save");
  const reset = el("button", { type: "button", class: "ghost" }, "Undo changes");
  const actions = el("div", { class: "row" }, save, reset);
  form.append(actions);

  const fill = (r: SettingsReply) => {
    current = r.settings;
    for (const [k, input] of inputs) {
      const v = current[k];
      if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = Boolean(v);
      else input.value = v === undefined || v === null ? "" : String(v);
    }
    pending.hidden = r.pending_restart.length === 0;
    pending.textContent = `Saved, applied at the next start: ${r.pending_restart.join(", ")}.`;
  };
  const value = (k: string): string | number | boolean => {
    const input = inputs.get(k)!;
    if (input instanceof HTMLInputElement && input.type === "checkbox") return input.checked;
    if (input instanceof HTMLInputElement && input.type === "number") return input.value.trim() === "" ? NaN : Number(input.value);
    return input.value;
  };
  const load = () => api<SettingsReply>("/api/settings").then(fill, (e) => say(describe(e)));
  const start = () =>
    api<Schema>("/api/settings/schema").then((schema) => {
      build(schema);
      return load();
    }, (e) => say(describe(e)));
  reset.onclick = () => {
    errors.forEach((e) => (e.textContent = ""));
    void load();
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errors.forEach((e) => (e.textContent = ""));
    inputs.forEach((i) => i.removeAttribute("aria-invalid"));
    const patch: Record<string, unknown> = {};
    for (const k of inputs.keys()) {
      const v = value(k);
      if (typeof v === "number" && Number.isNaN(v)) {
        errors.get(k)!.textContent = "must be a number";
        inputs.get(k)!.setAttribute("aria-invalid", "true");
        inputs.get(k)!.focus();
        return;
      }
      if (v !== current[k]) patch[k] = v;
    }
    if (Object.keys(patch).length === 0) {
      say("Nothing changed.", true);
      return;
    }
    try {
      fill(await api<SettingsReply>("/api/settings", { method: "PUT", body: patch }));
      say(`Saved: ${Object.keys(patch).join(", ")}.`, true);
    } catch (e) {
      const field = e instanceof ApiError ? e.field : undefined;
      if (field && errors.has(field)) {
        errors.get(field)!.textContent = e instanceof ApiError ? e.message : String(e);
        inputs.get(field)!.setAttribute("aria-invalid", "true");
        inputs.get(field)!.focus();
        say(`Not saved: ${field} ${e instanceof ApiError ? e.message : ""}`);
      } else {
        say(`Not saved: ${describe(e)}`);
      }
    }
  });
  void start();
  return () => {};
}
