// Salesops: small progressive enhancements. htmx does the partial updates; the CSRF
// header for htmx requests is set with hx-headers on <body>.
(function () {
  "use strict";

  // Filter forms marked data-autosubmit submit when a field changes.
  document.addEventListener("change", function (event) {
    const form = event.target.closest("form[data-autosubmit]");
    if (form) {
      form.requestSubmit();
    }
  });

  // Dim a milestone while its tick is being saved.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const row = event.target.closest(".so-milestone");
    if (row) {
      row.classList.add("so-busy");
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const row = event.target.closest && event.target.closest(".so-milestone");
    if (row) {
      row.classList.remove("so-busy");
    }
  });

  // Keep the tab in view after an htmx swap put an error into it.
  document.addEventListener("htmx:afterSwap", function (event) {
    const invalid = event.detail.target.querySelector(".is-invalid, .alert-danger");
    if (invalid && typeof invalid.scrollIntoView === "function") {
      invalid.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });
})();
