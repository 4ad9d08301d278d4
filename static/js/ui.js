// Page behaviour that needs JavaScript, kept out of the templates so a strict
// Content-Security-Policy (script-src 'self') can forbid inline scripts and handlers.
// Every feature here is progressive: without JavaScript the page still works.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The header menu folds behind "Menu" on narrow screens (CSS decides when).
  function setUpNavToggle() {
    const toggle = document.querySelector(".nav-toggle");
    const menu = document.getElementById("topbar-menu");
    if (!toggle || !menu) return;
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("open")) {
        toggle.setAttribute("aria-expanded", "false");
        menu.classList.remove("open");
        toggle.focus();
      }
    });
  }

  // <button data-copy="element-id">: copies that input's value and says so in its status region.
  function copyFrom(button) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus || "");
    if (!source) return;
    const done = function (ok) {
      if (status) status.textContent = ok ? "Copied to the clipboard." : "Select the token and copy it (Ctrl+C / ⌘C).";
    };
    source.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(function () { done(true); }, function () { done(document.execCommand("copy")); });
    } else {
      done(document.execCommand("copy"));
    }
  }

  // Destructive forms carry data-confirm="what will happen": the browser asks before sending
  // (listened to while capturing, so it runs before htmx's own submit handler on the form).
  function confirmDestructive(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation(); // an htmx form (hx-post) must not send either
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (button) copyFrom(button);
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("input[data-select-on-focus]")) event.target.select();
  });
  document.addEventListener("submit", confirmDestructive, true);

  // The add form re-checks its pair on every change (htmx); a pick in its value-map table is kept
  // as chosen instead of re-drawing the table under the keyboard.
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#add-form .value-map")) event.stopPropagation();
  }, true);

  // <select data-switch-tenant>: choosing a tenant posts its form to /tenants/<id>/switch/.
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-switch-tenant")) return;
    select.form.action = "/tenants/" + encodeURIComponent(select.value) + "/switch/";
    select.form.submit();
  });

  // <fieldset class="picker">: a field checked while a search is still answering stays checked
  // when the answer replaces the list (htmx swap events bubble to the fieldset).
  document.addEventListener("htmx:beforeSwap", function (event) {
    const picker = event.target.closest && event.target.closest("fieldset.picker");
    if (!picker) return;
    const checked = picker.querySelector("input[type=radio]:checked");
    picker.dataset.checked = checked ? checked.value : "";
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    const picker = event.target.closest && event.target.closest("fieldset.picker");
    if (!picker || !picker.dataset.checked) return;
    const kept = picker.dataset.checked;
    const again = Array.prototype.find.call(picker.querySelectorAll("input[type=radio]"), function (r) { return r.value === kept; });
    if (again) again.checked = true;
  });
  // <… data-replace-url="/path?…">: a step answered to a POST names the address that shows it again
  // (GET), so reloading the page shows the same step instead of resending or losing it.
  function replaceUrl() {
    const step = document.querySelector("[data-replace-url]");
    if (step && window.history && window.history.replaceState) window.history.replaceState(null, "", step.getAttribute("data-replace-url"));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", replaceUrl);
  else replaceUrl();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpNavToggle);
  else setUpNavToggle();
})();
