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

// Live password rules (templates/_password_rules.html): while the person types a new password, ask the
// provider which rules it meets and tick them off. The server still decides on submit; without this
// script every rule is listed and the save button stays enabled.
(function () {
  "use strict";

  var DELAY = 250;

  function setUpRules(list) {
    var url = list.getAttribute("data-rules-url");
    var form = list.closest("form");
    if (!url || !form || !window.fetch) return;
    var fields = form.querySelectorAll('input[autocomplete="new-password"]');
    var input = fields[0];
    if (!input) return;
    // A second new-password field is the "repeat" box: the button also waits for it to match.
    var repeat = fields.length > 1 ? fields[1] : null;
    var button = form.querySelector("[data-requires-rules]");
    var token = form.querySelector('input[name="csrf_token"]');
    var rulesOk = false;
    var timer = null;
    var latest = 0;

    function updateButton() {
      if (!button) return;
      var matches = !repeat || repeat.value === input.value;
      button.disabled = !(rulesOk && matches);
    }

    function mark(item, ok) {
      var state = ok ? "met" : "unmet";
      if (item.classList.contains(state)) return;  // unchanged: nothing new for screen readers to announce
      item.classList.remove("met", "unmet");
      item.classList.add(state);
      var sign = item.querySelector(".mark");
      if (sign) sign.textContent = ok ? "\u2713" : "\u2717";
      var hidden = item.querySelector(".state");
      if (hidden) hidden.textContent = "(" + list.getAttribute(ok ? "data-met" : "data-unmet") + ")";
    }

    function show(answer) {
      (answer.rules || []).forEach(function (rule) {
        var item = list.querySelector('li[data-rule="' + rule.id + '"]');
        if (item) mark(item, rule.ok);
      });
      rulesOk = answer.ok === true;
      updateButton();
    }

    function check() {
      var mine = ++latest;
      var body = new URLSearchParams();
      body.set("password", input.value);
      var headers = { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" };
      if (token) headers["X-CSRFToken"] = token.value;
      fetch(url, { method: "POST", headers: headers, body: body, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("rules: " + response.status);
          return response.json();
        })
        .then(function (answer) { if (mine === latest) show(answer); })
        .catch(function () {
          // No answer (offline, session ended): let the person submit and the server decide.
          if (mine !== latest) return;
          rulesOk = true;
          updateButton();
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY);
    });
    if (repeat) repeat.addEventListener("input", updateButton);
    if (input.value) check(); else updateButton();
  }

  function start() {
    document.querySelectorAll("[data-rules-url]").forEach(setUpRules);
  }
  // idp.js is deferred, so the document is usually parsed by now; wait only when it is not.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
