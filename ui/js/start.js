// start.js: starting a visit: an approved protocol, the patient's
// reference and the protocol's parameters. The weight shows the calculated
// dose at once, for the second person to check against the order.
import { all, get, post } from "./api.js";
import { h, add, clear, uid } from "./dom.js";
import { unit } from "./format.js";
import { startable } from "./protocols.js";
import { clearErrors, showError, errorSlot } from "./errors.js";
import { showError as pageError } from "./dialog.js";
import { can, usualProtocol } from "./session.js";

function paramInput(p) {
  const id = uid("param");
  const hintId = id + "-hint";
  const errId = id + "-err";
  // A prescribed param (a dose, an alarm limit) is a clinician's to change.
  const locked = p.prescribed && !can("prescribe");
  const hint = [p.range ? `${p.range[0]}\u2013${p.range[1]}` : null, unit(p.unit), p.default !== undefined ? `default ${p.default}` : null,
    p.prescribed ? (locked ? "\u00b7 prescribed: only a clinician changes it" : "\u00b7 prescribed") : null]
    .filter(Boolean).join(" ");
  let input;
  if (p.options) {
    input = h("select", { id, name: p.name, dataset: { field: p.name } },
      p.required && p.default === undefined ? h("option", { value: "" }, "Choose\u2026") : null,
      p.options.map((o) => h("option", { value: o, selected: o === p.default }, o)));
  } else if (p.kind === "check") {
    input = h("input", { id, name: p.name, type: "checkbox", checked: p.default === true, dataset: { field: p.name } });
  } else {
    input = h("input", { id, name: p.name, type: p.kind === "number" ? "number" : "text", inputmode: p.kind === "number" ? "decimal" : null, step: "any",
      min: p.range ? p.range[0] : null, max: p.range ? p.range[1] : null, required: p.required && p.default === undefined,
      value: p.default !== undefined ? String(p.default) : "", dataset: { field: p.name } });
  }
  input.setAttribute("aria-describedby", `${hintId} ${errId}`);
  if (locked) input.disabled = true;
  return h("div", { class: "field" },
    h("label", { for: id }, p.title || p.name, p.required && p.default === undefined ? h("span", { class: "req" }, " (required)") : null),
    h("p", { class: "hint", id: hintId }, hint),
    h("div", { class: "with-unit" }, input, p.unit ? h("span", { class: "unit" }, unit(p.unit)) : null),
    errorSlot(h, p.name, errId));
}

function readParams(form, protocol) {
  const params = {};
  for (const p of protocol.params) {
    const input = form.querySelector(`[data-field="${CSS.escape(p.name)}"]`);
    if (!input) continue;
    if (p.kind === "check") {
      if (input.checked !== (p.default === true)) params[p.name] = input.checked;
      continue;
    }
    const raw = input.value.trim();
    if (raw === "" || (p.default !== undefined && raw === String(p.default))) continue;
    params[p.name] = p.kind === "number" ? Number(raw) : raw;
  }
  return params;
}

// Weight (a parameter in kg) times a dose per kg (a parameter in x/kg): the
// dose the second person checks. Protocols without both show nothing.
function doseCheck(form, protocol) {
  const weight = protocol.params.find((p) => p.unit === "kg");
  const perKg = protocol.params.find((p) => p.unit && /\/kg$/.test(p.unit));
  if (!weight || !perKg) return null;
  const out = h("output", { class: "dose", id: "dose-check", for: "", "aria-live": "polite" });
  const update = () => {
    const w = Number(form.querySelector(`[data-field="${weight.name}"]`).value);
    const d = Number(form.querySelector(`[data-field="${perKg.name}"]`).value);
    const doseUnit = perKg.unit.replace(/\/kg$/, "");
    clear(out);
    // A value outside its param's range is refused at the start: no dose is
    // calculated from it, for the second person to check against (U5).
    const outside = [[weight, w], [perKg, d]].find(([p, x]) => x > 0 && p.range && (x < p.range[0] || x > p.range[1]));
    if (outside) {
      const [p, x] = outside;
      out.append(h("strong", {}, `No calculated dose: ${p.title || p.name} ${x} ${unit(p.unit)} is outside ${p.range[0]}\u2013${p.range[1]} ${unit(p.unit)}.`));
    } else if (w > 0 && d > 0) {
      const dose = Math.round(w * d * 100) / 100;
      out.append(h("strong", {}, `Calculated dose: ${dose} ${doseUnit}`), ` (${w} kg \u00d7 ${d} ${perKg.unit}). `,
        "A second person checks this against the order before it is drawn up.");
    } else {
      out.append(`Enter the weight to see the calculated dose (${perKg.title || perKg.name}).`);
    }
  };
  form.addEventListener("input", update);
  setTimeout(update);
  return h("div", { class: "dose-box" }, out);
}

// The active visits already in the chair a visit is about to start in (AE6:
// MRN-2001 started in Chair 1 beside MRN-1001's active visit without a word,
// and the board showed two "Chair 1" rows). The server reads the chair as it
// reads a patient reference, and a number's leading zeros aside (AK3:
// "chair1", "Chair 01", "Chair-1", "Chair 1." and a Cyrillic "\u0421hair 1"
// are Chair 1; core/engine/chair.c). It does not refuse the start: a chair
// is the site's arrangement, not the record's, and the form asks once.
async function inChair(location) {
  if (!location) return [];
  return all(`/visits?status=active&location=${encodeURIComponent(location)}`, "visits");
}

// AK9: the server refuses a reference spelled like a known patient's
// (docs/safety.md K2: letter case, spaces, look-alike characters) and its
// message speaks the API ("say new_patient: true"). The form says it in
// words, names the known patient (GET /visits?patient= gives it: AR4) and
// whether that patient has a visit open, and offers the control the API
// means: a box "This is a different patient" that sends the start again as
// a new patient.
async function similarWords(typed) {
  const like = ((await get(`/visits?patient=${encodeURIComponent(typed)}`)).similar || [])[0];
  // Spelled like a reference of the hospital's record only (N3): no visit names it.
  if (!like) return `${typed} is spelled almost like a patient of the hospital's record. ` +
    `If this is that patient, correct the reference. If it is a different person, tick "This is a different patient" and choose Start the visit again.`;
  const open = await all(`/visits?status=active&patient=${encodeURIComponent(like)}`, "visits");
  const where = open.length ? ` and has a visit open${open[0].location ? ` in ${open[0].location}` : ""}` : "";
  return `${typed} is spelled almost like patient ${like}, who is already known here${where}. ` +
    `If this is ${like}, change the reference to ${like}. If it is a different person, tick "This is a different patient" and choose Start the visit again.`;
}

export async function render(main, navigate) {
  clear(main).append(h("h1", {}, "Start a visit"), h("p", {}, "Loading protocols\u2026"));
  let protocols;
  try {
    protocols = await startable();
  } catch (err) {
    pageError(err);
    return;
  }
  // The site's usual protocol is chosen first (vigil.conf site.usual_protocol);
  // without one, the nurse chooses (unless only one is loaded): the first in
  // alphabetical order is no one's usual.
  let chosen = protocols.find((p) => p.id === usualProtocol()) || (protocols.length === 1 ? protocols[0] : null);
  const paramsBox = h("div", { class: "params" });
  const form = h("form", { class: "card start-form", novalidate: true, "aria-labelledby": "start-title" });
  const patientId = uid("patient");
  const locationId = uid("location");

  const drawParams = () => {
    clear(paramsBox);
    if (!chosen) return;
    const needed = chosen.params.filter((p) => p.required && p.default === undefined);
    const defaults = chosen.params.filter((p) => !(p.required && p.default === undefined));
    add(paramsBox, needed.map(paramInput), doseCheck(form, chosen),
      defaults.length
        ? h("details", { class: "defaults" },
            h("summary", {}, `Protocol settings for this visit (${defaults.length}, clinic defaults: change only on a clinician's order)`),
            defaults.map(paramInput))
        : null);
  };

  // Shown once the server finds the reference spelled like a known
  // patient's; a password field once the server asks a clinician to sign it
  // (docs/safety.md M9: the known patient has a visit open or a recent dose).
  const differentId = uid("different");
  const signId = uid("sign");
  const different = h("div", { class: "field different-patient", hidden: true },
    h("div", { class: "check" },
      h("input", { id: differentId, type: "checkbox", dataset: { field: "new_patient" } }),
      h("label", { for: differentId }, "This is a different patient")),
    h("div", { class: "sign", hidden: true },
      h("label", { for: signId }, "Your password (a clinician confirms a different patient)"),
      h("input", { id: signId, type: "password", autocomplete: "current-password", dataset: { field: "password" }, "aria-describedby": signId + "-err" }),
      errorSlot(h, "password", signId + "-err")),
    errorSlot(h, "new_patient", uid("err")));
  // The reference the box was shown for: another one hides it again.
  let differentFor = null;
  const differentBox = () => different.querySelector("[data-field=new_patient]");
  const hideDifferent = () => {
    different.hidden = true;
    different.querySelector(".sign").hidden = true;
    differentBox().checked = false;
    differentFor = null;
  };

  form.append(
    h("h1", { id: "start-title" }, "Start a visit"),
    h("fieldset", { class: "protocols" }, h("legend", {}, "Protocol"),
      protocols.length ? null : h("p", { class: "error" }, "No protocol is loaded on this server."),
      protocols.map((p) => {
        const id = uid("proto");
        return h("div", { class: "choice-card" },
          h("input", { type: "radio", name: "protocol", id, value: p.ref, checked: p === chosen, required: true,
            onchange: () => { chosen = p; drawParams(); } }),
          h("label", { for: id }, h("strong", {}, p.title), h("span", { class: "muted" }, ` ${p.id} v${p.version}`)));
      }),
      errorSlot(h, "protocol", uid("err"))),
    h("div", { class: "field" },
      h("label", { for: patientId }, "Patient reference (MRN)", h("span", { class: "req" }, " (required)")),
      h("input", { id: patientId, name: "patient", required: true, autocomplete: "off", dataset: { field: "patient" }, "aria-describedby": patientId + "-err" }),
      errorSlot(h, "patient", patientId + "-err")),
    different,
    h("div", { class: "field" },
      h("label", { for: locationId }, "Chair or bay"),
      h("input", { id: locationId, name: "location", maxlength: 64, autocomplete: "off", dataset: { field: "location" }, "aria-describedby": locationId + "-err" }),
      errorSlot(h, "location", locationId + "-err")),
    paramsBox,
    errorSlot(h, "", uid("err")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary big" }, "Start the visit")));
  drawParams();

  // The chair the nurse was told is taken and started in anyway (a second
  // Start the visit with the same chair).
  let confirmedChair = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (!chosen) throw { message: "Choose the protocol of this visit.", field: "protocol" };
      const location = form.querySelector("[data-field=location]").value.trim();
      if (location && location !== confirmedChair) {
        const there = await inChair(location);
        if (there.length) {
          confirmedChair = location;
          throw { field: "location", message: `${there.map((v) => `Patient ${v.patient}`).join(" and ")} ${there.length > 1 ? "have visits" : "has a visit"} ` +
            `open in ${there[0].location}. Check the chair; to start this visit there too, choose Start the visit again.` };
        }
      }
      const patient = form.querySelector("[data-field=patient]").value.trim();
      const body = { protocol: chosen.ref, patient, location: location || null, params: readParams(form, chosen) };
      if (differentFor === patient && differentBox().checked) {
        body.new_patient = true;
        const password = form.querySelector("[data-field=password]").value;
        if (password) body.password = password;
      }
      const visit = await post("/visits", body);
      navigate(`#/visit/${visit.id}`);
    } catch (err) {
      const patient = form.querySelector("[data-field=patient]").value.trim();
      const words = err.code === "similar_patient" ? await similarWords(patient).catch(() => null) : null;
      if (words) {
        different.hidden = false;
        differentFor = patient;
        showError(form, { field: "patient", message: words });
      } else if (err.field === "password" && differentFor) {
        different.querySelector(".sign").hidden = false;
        showError(form, err);
      } else {
        showError(form, err);
      }
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector("[data-field=patient]").addEventListener("input", (e) => {
    if (differentFor !== null && e.target.value.trim() !== differentFor) hideDifferent();
  });
  clear(main).append(form);
  form.querySelector("[data-field=patient]").focus();
}
