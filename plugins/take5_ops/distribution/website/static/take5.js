// take5 site page: filter the product rows by level, date range and cloud cover (no build step, no library).
"use strict";
(function () {
  const form = document.getElementById("filters");
  if (!form) return;
  const rows = Array.from(document.querySelectorAll("#products tbody tr"));
  const count = document.getElementById("count");
  function apply() {
    const level = form.elements.level.value;
    const start = form.elements.start.value;   // YYYY-MM-DD or ""
    const end = form.elements.end.value;
    const maxText = form.elements.maxcloud.value.trim();
    const maxCloud = maxText === "" ? null : Number(maxText);
    let shown = 0;
    for (const row of rows) {
      const d = row.dataset;
      const cloud = d.cloud === "" ? null : Number(d.cloud);
      const ok = (level === "" || d.level === level) &&
        (start === "" || d.date >= start) && (end === "" || d.date <= end) &&
        (maxCloud === null || Number.isNaN(maxCloud) || (cloud !== null && cloud <= maxCloud));
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    count.textContent = shown + " of " + rows.length + " products shown";
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("reset", () => setTimeout(apply, 0));
  apply();
})();
