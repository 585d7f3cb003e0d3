// signin.js: the sign-in screen.
import { h, clear } from "./dom.js";
import { signIn } from "./session.js";

// note: why the last session ended, said above the form ("" for none).
export function render(main, done, note) {
  const error = h("p", { class: "error", id: "signin-error", role: "alert", hidden: true });
  const name = h("input", { id: "signin-user", name: "user", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "signin card", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to vigil"),
    note ? h("p", { class: "warning", id: "signin-note", role: "status" }, note) : null,
    h("div", { class: "field" }, h("label", { for: "signin-user" }, "User name"), name),
    h("div", { class: "field" }, h("label", { for: "signin-password" }, "Password"), password),
    error,
    h("button", { type: "submit", class: "primary big" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await signIn(name.value.trim(), password.value);
      password.value = "";
      done();
    } catch (err) {
      error.textContent = err.code === "too_many_attempts"
        ? "Too many failed attempts: wait a minute before trying again."
        : err.message || "Sign-in failed";
      error.hidden = false;
      password.value = "";
      (err.code === "bad_credentials" ? password : name).focus();
    } finally {
      button.disabled = false;
    }
  });
  clear(main).append(form);
  name.focus();
}
