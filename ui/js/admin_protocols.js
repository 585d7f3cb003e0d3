// admin_protocols.js: the protocol versions the server holds, for an admin:
// which are approved (by their installation, or by whom and when) and which
// wait; approving one is a signature (the password again) after which new
// visits may start on it.
import { post } from "./api.js";
import { h, clear } from "./dom.js";
import { dateTime } from "./format.js";
import { load } from "./protocols.js";
import { ask, showError } from "./dialog.js";

function approval(p) {
  if (!p.approved) return h("span", { class: "badge badge-now" }, "Waiting for approval");
  if (p.approved.by === "installation") return "Installed with the server";
  return `Approved by ${p.approved.by}, ${dateTime(new Date(p.approved.at_ms).toISOString())}`;
}

async function approve(main, p) {
  await ask({
    title: `Approve ${p.title} ${p.version}`,
    text: `Fingerprint ${p.sha256}. Once approved, new visits on ${p.id} start on it.`,
    fields: [{ name: "password", label: "Your password (asked again to sign)", type: "password", required: true, autocomplete: "current-password" }],
    submit: "Sign the approval",
    action: (v) => post(`/protocols/${p.ref}/approve`, { password: v.password }),
  });
  draw(main);
}

async function draw(main) {
  let list;
  try {
    list = await load(true);
  } catch (err) {
    showError(err);
    return;
  }
  clear(main).append(h("h1", {}, "Protocols"),
    h("table", { class: "protocols-table" },
      h("caption", {}, "Protocol versions on this server"),
      h("thead", {}, h("tr", {}, ["Protocol", "Version", "Approval", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, list.map((p) => h("tr", { dataset: { ref: p.ref } },
        h("th", { scope: "row" }, p.title, h("span", { class: "muted" }, ` ${p.id}`)),
        h("td", {}, p.version),
        h("td", {}, approval(p)),
        h("td", {}, p.approved ? null : h("button", { type: "button", onclick: () => approve(main, p) }, "Approve\u2026")))))));
}

export function render(main) {
  clear(main).append(h("h1", {}, "Protocols"), h("p", {}, "Loading\u2026"));
  return draw(main);
}
