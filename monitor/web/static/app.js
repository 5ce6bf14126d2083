// Progressive enhancement only: every page works without this file.
// The diff toggle links (#side / #inline) already work through CSS :target; here we switch
// views without jumping down the page and remember the reader's choice.
"use strict";
(function () {
  var KEY = "policywatch.diffView";
  function setView(diffs, view, toggle) {
    diffs.setAttribute("data-view", view);
    toggle.querySelectorAll("a[data-view]").forEach(function (link) {
      link.setAttribute("aria-pressed", link.getAttribute("data-view") === view ? "true" : "false");
    });
    try { window.localStorage.setItem(KEY, view); } catch (e) { /* storage may be disabled */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var diffs = document.querySelector(".diffs");
    var toggle = document.querySelector("nav.toggle");
    if (!diffs || !toggle) { return; }
    var initial = "side";
    if (window.location.hash === "#inline") { initial = "inline"; }
    else {
      try { initial = window.localStorage.getItem(KEY) || "side"; } catch (e) { initial = "side"; }
    }
    setView(diffs, initial === "inline" ? "inline" : "side", toggle);
    toggle.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-view]");
      if (!link) { return; }
      event.preventDefault();
      setView(diffs, link.getAttribute("data-view"), toggle);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + link.getAttribute("data-view"));
      }
    });
  });
})();
