// users.js: the site's users, for an admin: who may sign in with which
// role, adding one, disabling one (their sessions end), and setting a new
// password. Passwords are never shown; the server keeps only their hashes.
import { get, post } from "./api.js";
import { h, clear, uid } from "./dom.js";
import { ask, showError as pageError } from "./dialog.js";
import { clearErrors, showError, errorSlot } from "./errors.js";

const ROLES = ["nurse", "clinician", "admin", "integrator"];

async function draw(main) {
  let users;
  try {
    users = (await get("/users")).users;
  } catch (err) {
    pageError(err);
    return;
  }
  const nameId = uid("user");
  const roleId = uid("role");
  const passId = uid("pass");
  const ownId = uid("own");
  const form = h("form", { class: "card add-user", novalidate: true, "aria-labelledby": "add-user-title" },
    h("h2", { id: "add-user-title" }, "Add a user"),
    h("div", { class: "inline-fields" },
      h("div", { class: "field" }, h("label", { for: nameId }, "User name"),
        h("input", { id: nameId, dataset: { field: "name" }, autocomplete: "off", required: true, "aria-describedby": nameId + "-err" }),
        errorSlot(h, "name", nameId + "-err")),
      h("div", { class: "field" }, h("label", { for: roleId }, "Role"),
        h("select", { id: roleId, dataset: { field: "role" } }, ROLES.map((r) => h("option", { value: r }, r))),
        errorSlot(h, "role", roleId + "-err")),
      h("div", { class: "field" }, h("label", { for: passId }, "First password"),
        h("input", { id: passId, type: "password", dataset: { field: "password" }, autocomplete: "new-password", required: true, "aria-describedby": passId + "-err" }),
        errorSlot(h, "password", passId + "-err")),
      // Adding a user asks for the admin's own password again, as changing
      // one does: a session alone makes no account (docs/security.md AA2).
      h("div", { class: "field" }, h("label", { for: ownId }, "Your own password (asked again to add a user)"),
        h("input", { id: ownId, type: "password", dataset: { field: "admin_password" }, autocomplete: "current-password", required: true, "aria-describedby": ownId + "-err" }),
        errorSlot(h, "admin_password", ownId + "-err"))),
    errorSlot(h, "", uid("err")),
    h("button", { type: "submit", class: "primary" }, "Add the user"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      await post("/users", { name: form.querySelector(`#${nameId}`).value.trim(), role: form.querySelector(`#${roleId}`).value, password: form.querySelector(`#${passId}`).value, admin_password: form.querySelector(`#${ownId}`).value });
      draw(main);
    } catch (err) {
      showError(form, err);
    }
  });
  const table = h("table", { class: "users" },
    h("caption", {}, "Users"),
    h("thead", {}, h("tr", {}, ["Name", "Role", "State", ""].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, users.map((u) => h("tr", { dataset: { user: u.name } },
      h("th", { scope: "row" }, u.name), h("td", {}, u.role), h("td", {}, u.disabled ? "disabled" : "active"),
      h("td", { class: "row-actions" },
        h("button", { type: "button", class: "quiet", onclick: () => setDisabled(main, u, !u.disabled) }, u.disabled ? "Enable" : "Disable"),
        h("button", { type: "button", class: "quiet", onclick: () => setPassword(main, u) }, "Set password\u2026"))))));
  clear(main).append(h("h1", {}, "Users"), table, form);
}

// Changing another user asks for the admin's own password again: a
// workstation left signed in does not take over or lock out an account
// (docs/security.md Z4), nor make one (AA2, the form above).
const ownPassword = { name: "admin_password", label: "Your own password (asked again to change another user)", type: "password", required: true, autocomplete: "current-password" };

async function setDisabled(main, u, disabled) {
  await ask({
    title: `${disabled ? "Disable" : "Enable"} ${u.name}`,
    text: disabled ? "Their sessions and API tokens end at once." : null,
    fields: [ownPassword],
    submit: disabled ? "Disable" : "Enable",
    danger: disabled,
    action: (v) => post(`/users/${encodeURIComponent(u.name)}`, { disabled, admin_password: v.admin_password }),
  });
  draw(main);
}

async function setPassword(main, u) {
  await ask({
    title: `New password for ${u.name}`,
    fields: [{ name: "password", label: "New password", type: "password", required: true, autocomplete: "new-password" }, ownPassword],
    submit: "Set the password",
    action: (v) => post(`/users/${encodeURIComponent(u.name)}`, { password: v.password, admin_password: v.admin_password }),
  });
  draw(main);
}

export function render(main) {
  clear(main).append(h("h1", {}, "Users"), h("p", {}, "Loading\u2026"));
  return draw(main);
}
