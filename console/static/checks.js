// A form's as-you-type check reads the form as it stands. The browser's own rules (a required id) are for saving:
// applied to the check, they would hold back every answer until the id is typed.
document.addEventListener("htmx:configRequest", function (event) {
  if (/\/check$/.test(event.detail.path)) {
    event.detail.errors = [];
  }
});
