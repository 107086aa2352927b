// Show or hide the new password as the "Afficher le mot de passe" box changes (the page works without this).
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("show-password");
  var input = document.getElementById("new-password");
  if (!box || !input) return;
  box.addEventListener("change", function () { input.type = box.checked ? "text" : "password"; });
});
