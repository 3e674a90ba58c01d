/* clicktrail site script: keeps the click id from the landing URL in a
   first-party cookie, so conversions can be attributed even where the
   shortener's own cookie is third-party (another domain, Safari). */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : "";
  var maxAge = {{ window_days|int }} * 86400;
  var validClick = /^[A-Za-z0-9_-]{8,64}$/;

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        return decodeURIComponent(parts[i].slice(eq + 1));
      }
    }
    return null;
  }

  function writeCookie(name, value) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; Max-Age=" + maxAge +
      "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  var click = new URLSearchParams(location.search).get("ct_click");
  if (click && validClick.test(click)) {
    writeCookie("ct_click", click);
  } else {
    click = readCookie("ct_click");
    if (click && !validClick.test(click)) { click = null; }
  }

  function send(path, data) {
    var query = new URLSearchParams(data);
    if (click) { query.set("click", click); }
    var image = new Image(1, 1);
    image.src = origin + path + "?" + query.toString();
    return image;
  }

  // A computed total such as 19.99 * 3 is 59.970000000000006 in binary
  // floating point, which the pixel would refuse as too precise; 15
  // significant digits give back the decimal the shop meant (59.97).
  function amount(value) {
    return typeof value === "number" ? String(Number(value.toPrecision(15))) : String(value);
  }

  // The visitor id is in the shortener's HttpOnly cookie: a page that shares
  // it (COOKIE_DOMAIN) asks for it once a session; other sites never get it.
  var domain = {{ cookie_domain|tojson }}.replace(/^\./, "");
  var host = location.hostname;
  var shared = location.origin === origin || (domain !== "" &&
    (host === domain || host.slice(-domain.length - 1) === "." + domain));
  var visitor = null;
  try { visitor = sessionStorage.getItem("ct_vid"); } catch (e) { /* storage off */ }
  var ready = visitor || !shared || !window.fetch ? Promise.resolve(visitor) :
    fetch(origin + "/t/visitor", { credentials: "include" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        visitor = body.visitor_id || null;
        try { if (visitor) { sessionStorage.setItem("ct_vid", visitor); } } catch (e) { /* off */ }
        return visitor;
      }, function () { return null; });

  function stripeLink(url) {
    var link = new URL(url, location.href);
    if (click && !link.searchParams.has("client_reference_id")) {
      link.searchParams.set("client_reference_id", click);
    }
    return link.toString();
  }

  window.clicktrail = {
    clickId: function () { return click; },
    visitorId: function () { return visitor; },
    ready: ready,
    // Shopify: the ids go on the cart, and from there on the order
    // (note_attributes) that Shopify's webhook sends to /t/shopify
    shopifyCart: function () {
      return ready.then(function () {
        var attributes = {};
        if (click) { attributes.ct_click = click; }
        if (visitor) { attributes.ct_vid = visitor; }
        if (!click && !visitor) { return null; }
        return fetch("/cart/update.js", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ attributes: attributes })
        });
      });
    },
    // Stripe Payment Links: the click id as client_reference_id
    stripeLink: stripeLink,
    stripeLinks: function () {
      function tag() {
        document.querySelectorAll('a[href^="https://buy.stripe.com/"]').forEach(function (a) {
          a.href = stripeLink(a.href);
        });
        document.querySelectorAll("stripe-buy-button").forEach(function (button) {
          if (click && !button.hasAttribute("client-reference-id")) {
            button.setAttribute("client-reference-id", click);
          }
        });
      }
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", tag);
      } else { tag(); }
    },
    visit: function () {
      return send("/t/visit.gif", { url: location.href, ref: document.referrer });
    },
    convert: function (goal, options) {
      var data = { goal: goal };
      options = options || {};
      ["value", "currency", "order_id"].forEach(function (key) {
        if (options[key] !== undefined && options[key] !== null) {
          data[key] = key === "value" ? amount(options[key]) : String(options[key]);
        }
      });
      return send("/t/pixel.gif", data);
    }
  };

  if (!script || !script.hasAttribute("data-no-visit")) { window.clicktrail.visit(); }
})();
