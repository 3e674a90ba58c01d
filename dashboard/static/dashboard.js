/* clicktrail dashboard: small progressive enhancements. Every page works
   without this file; it saves clicks (auto-apply filters), copies text and
   previews a link's final URL while the form is filled in. */
(function () {
  "use strict";

  /* Filters apply as soon as a menu changes. Choosing "Custom" shows the
     date fields instead and waits for the Apply button. */
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.tagName !== "SELECT") { return; }
      if (target.hasAttribute("data-period")) {
        var custom = target.value === "custom";
        form.querySelectorAll(".custom-dates").forEach(function (el) {
          el.toggleAttribute("data-hidden", !custom);
        });
        if (custom) { form.querySelector("input[type=date]").focus(); return; }
      }
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });

  /* On a phone the rows of these tables are shown as cards (CSS display
     changes), which makes some browsers forget they are tables; explicit
     roles keep the rows, cells and their headers for screen readers. */
  document.querySelectorAll("table.cards").forEach(function (table) {
    var roles = [["", "table"], ["thead, tbody", "rowgroup"], ["tr", "row"],
                 ["thead th", "columnheader"], ["tbody th", "rowheader"], ["td", "cell"]];
    roles.forEach(function (pair) {
      var found = pair[0] ? table.querySelectorAll(pair[0]) : [table];
      Array.prototype.forEach.call(found, function (el) { el.setAttribute("role", pair[1]); });
    });
  });

  /* A wide table scrolls sideways in its box; the templates make the box a
     Tab stop so the arrow keys can scroll it. A box whose table fits needs
     no stop, so it leaves the Tab order until the window narrows. */
  function scrollStops() {
    document.querySelectorAll(".table-wrap[role=region]").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box !== document.activeElement) {
        box.removeAttribute("tabindex");
      }
    });
  }
  scrollStops();
  window.addEventListener("load", scrollStops);
  window.addEventListener("resize", scrollStops);

  /* The menu scrolls sideways on a phone: a focused item is brought fully
     into view (with a little of its neighbours, see scroll-margin). */
  var nav = document.querySelector(".mainnav");
  if (nav) {
    nav.addEventListener("focusin", function (event) {
      event.target.scrollIntoView({block: "nearest", inline: "nearest"});
    });
  }

  /* An error summary has the focus when the page opens (autofocus), so it is
     read out; its links move the focus to the box at fault. */
  var summary = document.querySelector(".error-summary");
  if (summary) {
    if (document.activeElement === document.body) { summary.focus(); }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var box = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!box) { return; }
      event.preventDefault();
      box.focus();
    });
  }

  /* Copy buttons: data-copy holds the text. */
  function announce(button, text) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = text;
    button.classList.add("copied");
    setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, 1800);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { announce(button, "Copied"); },
        function () { announce(button, fallbackCopy(text) ? "Copied" : "Press Ctrl+C"); }
      );
    } else {
      announce(button, fallbackCopy(text) ? "Copied" : "Press Ctrl+C");
    }
  });

  /* Live preview of the destination with UTM tags: the same rules as the
     redirect (shortener/redirect.py build_destination): tags the URL
     already has are kept, the query and fragment stay byte for byte. */
  function quotePlus(value) {
    // Python's urllib.parse.quote_plus: only letters, digits and _.-~ stay
    return encodeURIComponent(value)
      .replace(/[!'()*]/g, function (c) { return "%" + c.charCodeAt(0).toString(16).toUpperCase(); })
      .replace(/%20/g, "+");
  }

  function keyOf(pair) {
    var key = pair.split("=")[0].replace(/\+/g, " ");
    try { return decodeURIComponent(key); } catch (e) { return key; }
  }

  function finalUrl(url, tags) {
    var hashAt = url.indexOf("#");
    var head = hashAt < 0 ? url : url.slice(0, hashAt);
    var fragment = hashAt < 0 ? "" : url.slice(hashAt);
    var qAt = head.indexOf("?");
    var base = qAt < 0 ? head : head.slice(0, qAt);
    var query = qAt < 0 ? "" : head.slice(qAt + 1);
    var present = {};
    query.split("&").forEach(function (pair) { if (pair) { present[keyOf(pair)] = true; } });
    if (present.ct_click) {
      query = query.split("&").filter(function (p) { return p && keyOf(p) !== "ct_click"; }).join("&");
    }
    var added = [];
    tags.forEach(function (pair) {
      if (pair[1] && !present[pair[0]]) { added.push(quotePlus(pair[0]) + "=" + quotePlus(pair[1])); }
    });
    added.push("ct_click=CLICK_ID");
    var joiner = query && query.charAt(query.length - 1) !== "&" ? "&" : "";
    return base + "?" + query + joiner + added.join("&") + fragment;
  }

  /* One A/B line as the form's label says, "URL, weight, name", or with
     spaces alone (the rules of dashboard/link_pages.py destination_line). */
  var LINE = /^(\S+)(?:\s*,\s*|\s+)([0-9]+)(?:(?:\s*,\s*|\s+)(.*?))?\s*$/;
  function variantsOf(text) {
    var found = [];
    text.split(/\r?\n/).forEach(function (line, n) {
      line = line.trim();
      if (!line) { return; }
      var m = LINE.exec(line);
      if (!m && !/[\s,]/.test(line)) { m = [line, line, "1", ""]; }
      if (!m) { found.push(null); return; }
      found.push({url: m[1].replace(/,+$/, ""), weight: parseInt(m[2], 10),
                  name: m[3] || String.fromCharCode(65 + found.length)});
    });
    return found;
  }

  /* One country line, "DE https://..." (dashboard/link_pages.py COUNTRY_LINE). */
  var COUNTRY = /^([A-Za-z]{2})\s*[:,]?\s+(\S+)$/;
  function countriesOf(text) {
    var found = [];
    text.split(/\r?\n/).forEach(function (line) {
      var m = COUNTRY.exec(line.trim());
      if (m) { found.push({code: m[1].toUpperCase(), url: m[2]}); }
    });
    return found;
  }

  var form = document.getElementById("link-form");
  var preview = document.getElementById("preview");
  if (form) {
    /* A box Tab reaches near the window's edge is scrolled in with its ring
       (scroll-margin): the browser scrolls only for a box that is cut. */
    form.addEventListener("focusin", function (event) {
      event.target.scrollIntoView({block: "nearest", inline: "nearest"});
    });
  }
  if (form && preview) {
    var social = JSON.parse(form.getAttribute("data-social") || "[]");
    var value = function (name) { return (form.elements[name].value || "").trim(); };
    var update = function () {
      var url = value("url");
      if (!/^https?:\/\/[^\/?#]+/i.test(url)) {
        preview.textContent = url ? "The destination must start with http:// or https://" : "Enter a destination URL…";
        return;
      }
      var channel = value("channel").toLowerCase();
      var medium = value("medium") || (social.indexOf(channel) >= 0 ? "social" : "");
      var tags = [
        ["utm_source", channel],
        ["utm_medium", medium],
        ["utm_campaign", value("campaign")],
        ["utm_content", value("content")],
        ["utm_term", value("term")]
      ];
      var countries = form.elements.country_urls ? countriesOf(form.elements.country_urls.value) : [];
      var fromCountries = countries.filter(function (c) { return /^https?:\/\/[^\/?#]+/i.test(c.url); })
        .map(function (c) { return "\nFrom " + c.code + ": " + finalUrl(c.url, tags); }).join("");
      var variants = form.elements.destinations ? variantsOf(form.elements.destinations.value) : [];
      if (variants.length < 2) {
        preview.textContent = finalUrl(url, tags) + fromCountries;
        return;
      }
      if (variants.indexOf(null) >= 0) {
        preview.textContent = "Write each A/B destination as: URL, weight, name";
        return;
      }
      var total = variants.reduce(function (sum, v) { return sum + v.weight; }, 0) || 1;
      preview.textContent = variants.map(function (v) {
        return v.name + " (" + Math.round(v.weight * 100 / total) + " %): " + finalUrl(v.url, tags);
      }).join("\n") + fromCountries;
    };
    form.addEventListener("input", update);
    update();
  }
})();
