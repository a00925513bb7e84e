// dipwatch Mini App sign-in: Telegram opens /miniapp with its launch data in
// the URL fragment (tgWebAppData). Post it to the server, which checks its
// signature with the bot token, then go to the overview.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  var data = params.get("tgWebAppData");
  var form = document.getElementById("miniapp-login");
  if (!data || !form) {
    var note = document.getElementById("miniapp-note");
    if (note) { note.textContent = "Open this page from the bot's \"Open dashboard\" button, or send /web for a link."; }
    return;
  }
  form.elements.init_data.value = data;
  form.submit();
})();
