/* The daily arrival report's keyboard: with a child's choice focused, 0 present, 1 sick leave,
   2 personal leave, 3 unexcused, 4 late; the choice is made and focus moves to the next child.
   The counter beside the button says how many are marked away. No inline script (CSP). */
(function () {
  "use strict";
  var order = ["present", "sick", "personal", "unexcused", "late"];
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-roll-row]")); }
  function count() {
    var out = document.querySelector("[data-roll-count]");
    if (!out) { return; }
    var away = document.querySelectorAll(".roll input[type=radio]:checked:not([value=present])").length;
    out.textContent = "在册 " + rows().length + " 人，缺勤或迟到 " + away + " 人";
  }
  document.addEventListener("keydown", function (e) {
    var input = e.target;
    if (!input || input.type !== "radio" || !input.closest || !input.closest("[data-roll-row]")) { return; }
    var n = "01234".indexOf(e.key);
    if (n < 0 || e.ctrlKey || e.metaKey || e.altKey) { return; }
    e.preventDefault();
    var row = input.closest("[data-roll-row]");
    var choice = row.querySelector("input[type=radio][value=" + order[n] + "]");
    if (choice && !choice.disabled) { choice.checked = true; }
    count();
    var all = rows();
    var next = all[all.indexOf(row) + 1];
    var target = next ? (next.querySelector("input[type=radio]:checked") || next.querySelector("input[type=radio]"))
                      : document.querySelector("#sheet button[type=submit]");
    if (target) { target.focus(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target && e.target.type === "radio" && e.target.closest && e.target.closest("[data-roll-row]")) { count(); }
  });
  document.addEventListener("DOMContentLoaded", count);
})();
