// dom.js: building elements without innerHTML, so that nothing typed by a
// user or sent by the server is ever parsed as markup.

// h("button", {class: "big", onclick: fn}, "Text", child, [more, children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

// Appends children to el: nodes, text, arrays of them; null and false are
// left out.
export function add(el, ...children) {
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// SVG elements need their namespace.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, v);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Screen readers hear this at once (the live region is assertive).
let announcing = null;
export function announce(text) {
  const el = document.getElementById("announce");
  el.textContent = "";
  clearTimeout(announcing);
  announcing = setTimeout(() => { el.textContent = text; }, 50);
}

// Forgets what was announced (and what was about to be).
export function silence() {
  clearTimeout(announcing);
  document.getElementById("announce").textContent = "";
}

let ids = 0;
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
