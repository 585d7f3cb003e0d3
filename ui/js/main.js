// main.js: starts the app: the session, the live stream, the alarm banners,
// and the router (the address's #fragment names the screen, so that the
// back button and bookmarks work and the server serves one page).
import { h, clear } from "./dom.js";
import * as session from "./session.js";
import * as stream from "./stream.js";
import * as alarms from "./alarms.js";
import * as clock from "./clock.js";
import * as signin from "./signin.js";
import * as board from "./board.js";
import * as start from "./start.js";
import * as visit from "./visit.js";
import * as summary from "./summary.js";
import * as patient from "./patient.js";
import * as users from "./users.js";
import * as adminProtocols from "./admin_protocols.js";
import * as expiry from "./expiry.js";
import * as fit from "./fit.js";
import * as drafts from "./drafts.js";
import * as downtime from "./downtime.js";
import * as site from "./site.js";
import { forgetAnswers, getLive } from "./api.js";
import { ask, dismiss, showError } from "./dialog.js";
import { clockTimeSeconds, dateTime } from "./format.js";

const main = document.getElementById("main");

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  // A dialog is for the page it was opened on (X9).
  dismiss();
  board.stop();
  visit.stop();
  patient.stop();
  summary.stop();
  if (!session.current()) {
    document.getElementById("top").hidden = true;
    const why = {
      expired: "Your sign-in ended after a time without use. What you had typed is kept: sign in again to carry on.",
      ended: "Your sign-in was ended by the server: signed out on another screen, a password change, or the account disabled. What you had typed is kept: sign in again to carry on.",
      user_changed: "Another user signed in on this browser (in another tab or window) since you did here, so nothing more was recorded from this page. Drafts of entries are kept: sign in again to carry on.",
      signed_out_offline: "Signed out on this screen. The server cannot be reached: it will be told as soon as it answers, before anyone signs in here again.",
    }[session.endReason()] || "";
    signin.render(main, async () => {
      await started();
      navigate(location.hash && location.hash !== "#/signin" ? location.hash : "#/board");
    }, why);
    return;
  }
  // Nothing of a site is drawn before the page knows which site it is for.
  if (!site.isSettled()) {
    document.body.dataset.view = "site";
    chooseSite(siteChoice);
    return;
  }
  const hash = location.hash || "#/board";
  let m;
  for (const a of document.querySelectorAll("[data-nav]")) a.removeAttribute("aria-current");
  const nav = (name) => {
    const a = document.querySelector(`[data-nav="${name}"]`);
    if (a) a.setAttribute("aria-current", "page");
  };
  if ((m = hash.match(/^#\/visit\/(\d+)\/summary$/))) {
    document.body.dataset.view = "summary";
    summary.render(main, m[1]);
  } else if ((m = hash.match(/^#\/patient\/(.+)$/))) {
    document.body.dataset.view = "patient";
    let who = null;
    try {
      who = decodeURIComponent(m[1]);
    } catch (err) {
      who = m[1];
    }
    patient.render(main, who);
  } else if ((m = hash.match(/^#\/visit\/(\d+)$/))) {
    document.body.dataset.view = "visit";
    visit.render(main, m[1]);
  } else if (hash === "#/users" && session.can("users")) {
    document.body.dataset.view = "users";
    nav("users");
    users.render(main);
  } else if (hash === "#/protocols" && session.can("approve")) {
    document.body.dataset.view = "protocols";
    nav("protocols");
    adminProtocols.render(main);
  } else if (hash === "#/start" && session.can("record")) {
    document.body.dataset.view = "start";
    nav("start");
    start.render(main, navigate);
  } else {
    document.body.dataset.view = "board";
    nav("board");
    board.render(main);
  }
  main.focus({ preventScroll: true });
}

function adminTools() {
  const box = clear(document.getElementById("admin-tools"));
  if (!session.can("clock") || !clock.isSimulated()) return;
  box.append(h("button", { type: "button", class: "quiet", id: "advance-clock", onclick: async () => {
    await ask({
      title: "Move the simulated clock on",
      text: "For tests and demonstrations: every deadline on the way fires.",
      fields: [{ name: "advance", label: "By how long (e.g. 30m, 1h)", required: true, value: "10m" }],
      submit: "Move the clock",
      action: (v) => clock.advance(v.advance),
    });
  } }, "Move clock\u2026"));
}

// The server's time in the header: in full on a wide screen, and as the time
// of day with a short note on a narrow one (app.css shows one of the two), so
// that a tablet or a phone still shows the server's time and "(simulated)".
function drawClock() {
  const iso = new Date(clock.now()).toISOString();
  const el = document.getElementById("clock");
  clear(el);
  el.append(h("span", { class: "clock-full" }, dateTime(iso) + clock.note()),
    h("span", { class: "clock-short" }, clockTimeSeconds(iso) + clock.shortNote()));
}

// GET /api/v1/cluster, or null on a single server (the session's answer
// names no node).
async function cluster() {
  return session.node() ? getLive("/cluster") : null;
}

// What the user must choose from while the page has no site: {choices,
// problem} (site.js), or null before the node has answered.
let siteChoice = null;

function chooseSite(choice) {
  const box = clear(main);
  if (!choice) return;
  box.append(h("h1", {}, "Choose your site"), h("p", { class: "site-problem" }, choice.problem));
  if (choice.choices.length)
    box.append(h("ul", { class: "site-choices" }, ...choice.choices.map((name) =>
      h("li", {}, h("button", { type: "button", "data-site": name, onclick: () => site.choose(name) }, name)))));
  else box.append(h("button", { type: "button", onclick: () => location.reload() }, "Try again"));
  main.focus({ preventScroll: true });
}

// The page's site in the header and the tab's title: which clinic's board
// this is, at a glance.
function showSite() {
  const el = document.getElementById("site");
  const name = site.current();
  el.hidden = !name;
  el.textContent = name ? `Site: ${name}` : "";
  document.title = name ? `vigil \u2014 ${name}` : "vigil";
}

let live = false;
async function started() {
  const u = session.current();
  document.getElementById("top").hidden = false;
  document.getElementById("who").textContent = `${u.name} (${u.role})`;
  // Only what this role may do is offered.
  document.querySelector('[data-nav="start"]').hidden = !session.can("record");
  document.querySelector('[data-nav="users"]').hidden = !session.can("users");
  document.querySelector('[data-nav="protocols"]').hidden = !session.can("approve");
  // The site first: the stream, the clock and the alarms are a site's.
  if (!site.isSettled()) {
    try {
      siteChoice = await site.settle(cluster);
    } catch (err) {
      siteChoice = { choices: [], problem: `The server did not say which sites it serves: ${err.message}` };
    }
    showSite();
    if (!site.isSettled()) return;
  }
  if (!live) {
    live = true;
    stream.open();
    clock.start();
    alarms.start().catch(showError);
  }
  adminTools();
}

function stopped() {
  live = false;
  stream.close();
  alarms.stop();
  downtime.stop();
  forgetAnswers();
}

session.onChange((u) => {
  if (!u) {
    stopped();
    route();
  }
});

stream.onStatus((ok) => {
  document.body.classList.toggle("offline", !ok);
  const top = document.getElementById("top");
  top.dataset.live = ok ? "yes" : "no";
});

clock.onTick(drawClock);
let wasSimulated = null;
clock.onTick(() => {
  if (clock.isSimulated() !== wasSimulated) {
    wasSimulated = clock.isSimulated();
    if (session.current()) adminTools();
  }
});

document.getElementById("sign-out").addEventListener("click", async () => {
  // Signing out on purpose leaves nothing typed behind for the next user.
  drafts.clearAll();
  await session.signOut();
  location.hash = "#/signin";
});

document.getElementById("sound-toggle").addEventListener("click", alarms.toggleAll);

// The server is back after an outage: the alerts and the screen are read
// anew (a summary is drawn again: nothing is typed there).
downtime.onBack(() => {
  if (!session.current()) return;
  alarms.reload();
  const view = document.body.dataset.view;
  if (view === "board") board.reload();
  else if (view === "visit") visit.reload();
  else if (view === "patient") patient.reload();
  else if (view === "summary") route();
});

window.addEventListener("hashchange", route);
window.addEventListener("popstate", dismiss);
expiry.start();
fit.start(main);

session.restore().then(async (u) => {
  if (u) await started();
  route();
}).catch((err) => {
  clear(main).append(h("p", { class: "error" }, `The server cannot be reached: ${err.message}`));
});
