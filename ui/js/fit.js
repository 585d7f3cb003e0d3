// fit.js: no page scrolls sideways (issue 19: a phone at 390 px). A table
// wider than the window scrolls in a box of its own instead of pushing the
// whole page wider: every table drawn in <main> is put in a .table-scroll
// box (app.css), which, while its table does not fit, is a named region that
// takes the keyboard's focus so that arrow keys scroll it (axe:
// scrollable-region-focusable); while it fits it is no tab stop. The board
// is not boxed (on a narrow screen its rows become cards, app.css), nor the
// flowsheet, which has its own box (flowsheet.js).
const sizes = new ResizeObserver((entries) => {
  for (const e of entries) fit(e.target.closest(".table-scroll"));
});

function fit(box) {
  if (!box) return;
  if (box.scrollWidth > box.clientWidth + 1) {
    const caption = box.querySelector("caption");
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", `${caption ? caption.textContent : "Table"}, scrolls sideways`);
  } else {
    box.removeAttribute("tabindex");
    box.removeAttribute("role");
    box.removeAttribute("aria-label");
  }
}

function boxTables(root) {
  for (const table of root.querySelectorAll("table")) {
    if (table.classList.contains("board") || table.parentElement.matches(".table-scroll, .flowsheet-scroll")) continue;
    const box = document.createElement("div");
    box.className = "table-scroll";
    table.replaceWith(box);
    box.append(table);
    sizes.observe(box);
    sizes.observe(table);
  }
}

export function start(main) {
  // Only elements added can bring a table: the board's countdowns, which
  // change text once a second, do not make it look again.
  new MutationObserver((records) => {
    if (records.some((r) => [...r.addedNodes].some((n) => n.nodeType === Node.ELEMENT_NODE))) boxTables(main);
  }).observe(main, { childList: true, subtree: true });
  boxTables(main);
}
