// Settings: every editable setting, checked by the server; its message is shown
// next to the field it names. Live settings apply to the next clip or chunk, the
// others at the next start (the page says which are waiting for one). The form is
// made from the server's JSON schema of the settings (GET /api/settings/schema):
// no list of settings lives here.
import { api, ApiError, describe, SettingsReply } from "../api";
import { el } from "../dom";
import { groups, readSetting, Schema, SettingInput, settingField, settingsSchema, showSetting } from "../setting-field";
import { say } from "../ui";

export function settings(view: HTMLElement): () => void {
  const form = el("form", { class: "settings", novalidate: true, id: "settings-form" });
  const pending = el("p", { class: "warn", hidden: true, id: "pending-restart" });
  view.replaceChildren(el("section", {}, el("h2", {}, "Settings"), pending, form));
  const inputs = new Map<string, SettingInput>();
  const errors = new Map<string, HTMLElement>();
  let schema: Schema = { properties: {}, "x-order": [] };
  let current: Record<string, unknown> = {};

  const build = (s: Schema) => {
    schema = s;
    for (const [group, keys] of groups(s, s["x-order"])) {
      const set = el("fieldset", {}, el("legend", {}, group));
      for (const key of keys) {
        const f = settingField(key, s.properties[key], { prefix: "setting-", restartNote: true });
        inputs.set(key, f.input);
        errors.set(key, f.error);
        set.append(f.row);
      }
      form.insertBefore(set, actions);
    }
  };
  const save = el("button", { type: "submit", id: "settings-save" }, "Save");
  const reset = el("button", { type: "button", class: "ghost" }, "Undo changes");
  const actions = el("div", { class: "row" }, save, reset);
  form.append(actions);

  const fill = (r: SettingsReply) => {
    current = r.settings;
    for (const [k, input] of inputs) showSetting(input, current[k]);
    pending.hidden = r.pending_restart.length === 0;
    pending.textContent = `Saved, applied at the next start: ${r.pending_restart.join(", ")}.`;
  };
  /** The value of `k` to send, or why there is none (every setting has a value
   * here: an empty text is none, an empty number a mistake). */
  const value = (k: string): { value: unknown } | { error: string } => {
    const p = schema.properties[k];
    const r = readSetting(inputs.get(k)!, p);
    if (r !== "empty") return r;
    return p.type === "string" ? { value: "" } : { error: "must be a number" };
  };
  const load = () => api<SettingsReply>("/api/settings").then(fill, (e) => say(describe(e)));
  const start = () =>
    settingsSchema().then((s) => {
      build(s);
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
      if ("error" in v) {
        errors.get(k)!.textContent = v.error;
        inputs.get(k)!.setAttribute("aria-invalid", "true");
        inputs.get(k)!.focus();
        return;
      }
      if (v.value !== current[k]) patch[k] = v.value;
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
