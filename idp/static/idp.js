// Comfort only: every page works without this file (no inline script: the CSP forbids it).
(function () {
  "use strict";

  // The eye button shows or hides the password. Its name stays "Show password";
  // aria-pressed says whether the password is visible now.
  function setUpReveal(button) {
    var input = document.getElementById(button.getAttribute("data-reveal"));
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
    // A password must never be submitted, or remembered by the browser, as visible text.
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
        button.setAttribute("aria-pressed", "false");
      });
    }
  }

  // The help pages tell people to check Caps Lock when signing in fails: say it while they type.
  function setUpCapsWarning(hint) {
    var input = document.getElementById(hint.getAttribute("data-caps-for"));
    if (!input) return;
    function check(event) {
      if (!event.getModifierState) return;
      var on = event.getModifierState("CapsLock");
      var text = on ? hint.getAttribute("data-message") : "";
      if (hint.textContent !== text) hint.textContent = text;
    }
    input.addEventListener("keydown", check);
    input.addEventListener("keyup", check);
    input.addEventListener("blur", function () { hint.textContent = ""; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-reveal]").forEach(setUpReveal);
    document.querySelectorAll("[data-caps-for]").forEach(setUpCapsWarning);
  });
})();
