/* Live counting on the staff pages that edit farmer texts (tips, canned answers, answers).
   Loaded with <script src> from the service itself (CSP script-src 'self'); the pages work
   without it: their "Check"/"Preview" buttons measure on the server, which decides.
   A textarea with data-live="<id of the output>" gets counted on each input:
     data-before / data-after: the text around it in the message as sent (e.g. "CON " and the
       navigation line of a USSD screen, or the answer SMS's "Answer to question #12: ");
     data-budget: "ussd" (one screen: 160 GSM-7 / 70 UCS-2 units) or a number of SMS segments;
     data-words: the sentence to show, with {encoding} {units} {limit} {segments}.
   Measurement as service/messaging/encoding.py: GSM-7 when every character is in the GSM 03.38
   tables (extension characters count 2), else UTF-16 units; SMS parts 160/153 or 70/67. */
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  var REPLACE = {"\u2018": "'", "\u2019": "'", "\u201c": "\"", "\u201d": "\"", "\u00ab": "\"", "\u00bb": "\"",
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u200b": "", "\u200c": "", "\u200d": "",
    "\ufeff": "", "\u2116": "No.", "\u00b0": "", "\u00d7": "x", "\u02bb": "'", "\u02bc": "'", "\t": " ",
    "`": "'", "\u00e7": "c"};

  function normalise(text) {
    var out = "";
    text = (text || "").normalize("NFC");
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      out += Object.prototype.hasOwnProperty.call(REPLACE, ch) ? REPLACE[ch] : ch;
    }
    return out.replace(/[\uD800-\uDFFF]/g, "");
  }

  function measure(text) {
    var septets = 0;
    for (var i = 0; i < text.length; i++) {
      if (BASIC.indexOf(text[i]) >= 0) { septets += 1; }
      else if (EXTENSION.indexOf(text[i]) >= 0) { septets += 2; }
      else { return {encoding: "UCS-2", units: text.length}; }
    }
    return {encoding: "GSM-7", units: septets};
  }

  function update(area) {
    var out = document.getElementById(area.getAttribute("data-live"));
    if (!out) { return; }
    var typed = normalise(area.value).split(/\s+/).filter(Boolean).join(" ");
    var body = (area.getAttribute("data-before") || "") + typed + (area.getAttribute("data-after") || "");
    var m = measure(body);
    var single = m.encoding === "GSM-7" ? 160 : 70;
    var part = m.encoding === "GSM-7" ? 153 : 67;
    var segments = m.units <= single ? 1 : Math.ceil(m.units / part);
    var budget = area.getAttribute("data-budget") || "1";
    var limit = budget === "ussd" ? single : parseInt(budget, 10);
    var over = budget === "ussd" ? m.units > single : segments > limit;
    out.textContent = (area.getAttribute("data-words") || "")
      .replace("{encoding}", m.encoding).replace("{units}", String(m.units))
      .replace("{limit}", String(limit)).replace("{segments}", String(segments));
    out.className = over ? "field-error" : "muted";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var areas = document.querySelectorAll("textarea[data-live]");
    for (var i = 0; i < areas.length; i++) {
      (function (area) {
        area.addEventListener("input", function () { update(area); });
      })(areas[i]);
    }
  });
})();
