/* Behaviour the pages declare in data attributes, so no page needs inline script (the CSP allows
   scripts from this site only):
   <select data-submit-on-change> submits its form when changed (the membership switcher);
   <form data-confirm="question"> asks before it is sent (deactivating a membership). */
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.hasAttribute && el.hasAttribute("data-submit-on-change") && el.form) {
      el.form.submit();
    }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
    }
  }, true);
})();
