/* A signature drawn on screen (a guardian's, on a home visit): every <canvas data-signature-for="ID">
   writes its drawing as a PNG data URL into the hidden input ID when its form is submitted, if
   anything was drawn. A button data-signature-clear="CANVAS_ID" clears it. No inline script (CSP). */
(function () {
  "use strict";
  function setUp(canvas) {
    var input = document.getElementById(canvas.getAttribute("data-signature-for"));
    if (!input || canvas.dataset.ready) { return; }
    canvas.dataset.ready = "1";
    var ctx = canvas.getContext("2d");
    var drawn = false, down = false;
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    canvas.style.touchAction = "none";
    function at(e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    }
    canvas.addEventListener("pointerdown", function (e) {
      down = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]);
      canvas.setPointerCapture(e.pointerId); e.preventDefault();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!down) { return; }
      var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true; e.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { down = false; });
    });
    var clear = document.querySelector('[data-signature-clear="' + canvas.id + '"]');
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; input.value = "";
      });
    }
    if (canvas.form || canvas.closest("form")) {
      (canvas.closest("form")).addEventListener("submit", function () {
        input.value = drawn ? canvas.toDataURL("image/png") : "";
      });
    }
  }
  function all() { document.querySelectorAll("canvas[data-signature-for]").forEach(setUp); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", all); } else { all(); }
  document.addEventListener("htmx:afterSwap", all);
})();
