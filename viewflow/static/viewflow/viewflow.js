/* The site works without JavaScript; this only keeps a form from being posted twice
   by a second click while the next page loads (two processes started, say). */
document.addEventListener("submit", function (event) {
  var form = event.target;
  if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
  if (form.dataset.vfSent) { event.preventDefault(); return; }
  form.dataset.vfSent = "1";
});
/* Back to a page the browser kept in memory: its forms may be posted again. */
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-vf-sent]").forEach(function (form) { delete form.dataset.vfSent; });
});
