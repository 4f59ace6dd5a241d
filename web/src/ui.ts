// What every view shares: the notice line where errors are said in words, actions
// that report their outcome, and the token dialog.
import { api, describe, tokens } from "./api";
import { el } from "./dom";

const notice = document.getElementById("notice") as HTMLElement;
let noticeTimer = 0;

/** Shows a message (an error unless `ok`); `null` clears it. */
export function say(msg: string | null, ok = false): void {
  window.clearTimeout(noticeTimer);
  notice.hidden = !msg;
  notice.textContent = msg ?? "";
  notice.classList.toggle("ok", ok);
  if (ok && msg) noticeTimer = window.setTimeout(() => say(null), 4000);
}

/** Runs an admin action and says how it went. */
export async function act(path: string, done: string, body?: unknown, method = "POST"): Promise<boolean> {
  try {
    await api(path, { method, body });
    say(done, true);
    return true;
  } catch (e) {
    say(describe(e));
    return false;
  }
}

let dialog: HTMLDialogElement | null = null;

/** Asks for the tokens; `why` says why it is asked. */
export function askTokens(why?: string): void {
  if (dialog?.open) return;
  const admin = el("input", { type: "password", name: "admin", autocomplete: "off", id: "admin-token" });
  admin.value = tokens.admin() ?? "";
  const viewer = el("input", { type: "password", name: "viewer", autocomplete: "off", id: "viewer-token" });
  viewer.value = tokens.viewer() ?? "";
  const save = el("button", { type: "submit" }, "Save");
  const cancel = el("button", { type: "button", class: "ghost" }, "Cancel");
  const form = el(
    "form",
    { method: "dialog" },
    el("h2", {}, "Tokens"),
    why ? el("p", { class: "warn" }, why) : null,
    el("label", { for: "admin-token" }, "Admin token"),
    admin,
    el("p", { class: "muted small" }, "Needed to skip, generate, delete and change settings. The server prints it at its first start and keeps it in DATA_DIR/admin-token."),
    el("label", { for: "viewer-token" }, "Viewer token (only if the server sets VIEWER_TOKEN)"),
    viewer,
    el("div", { class: "row" }, save, cancel),
  );
  dialog = el("dialog", { class: "tokens" }, form);
  cancel.onclick = () => dialog?.close();
  form.addEventListener("submit", () => {
    const viewerChanged = (tokens.viewer() ?? "") !== viewer.value.trim();
    tokens.set("admin", admin.value);
    tokens.set("viewer", viewer.value);
    say("Tokens saved on this device.", true);
    // The player and the events stream carry the viewer token in their URLs.
    if (viewerChanged) location.reload();
  });
  dialog.addEventListener("close", () => dialog?.remove());
  document.body.append(dialog);
  dialog.showModal();
  admin.focus();
}

let bannerTimer = 0;

/** The channel switched to, in big type over the page for a few seconds (TV). */
export function banner(number: number, name: string): void {
  let b = document.getElementById("channel-banner");
  if (!b) {
    b = el("div", { id: "channel-banner", class: "channel-banner", role: "status", "aria-live": "polite" });
    document.body.append(b);
  }
  b.replaceChildren(el("span", { class: "number" }, String(number)), el("span", { class: "name" }, name));
  b.hidden = false;
  window.clearTimeout(bannerTimer);
  bannerTimer = window.setTimeout(() => (b!.hidden = true), 3000);
}
