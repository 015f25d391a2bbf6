// mitmproxy-cors page probe (docs/page-probe.md): records what the page asked for in each fetch(),
// XMLHttpRequest, EventSource and navigator.sendBeacon() call, and what it saw, and delivers the
// records to __PATH__ on the page's own origin, which the proxy answers itself. It changes nothing
// about the requests: the page's own arguments go to the browser's own functions, untouched.
(function () {
  "use strict";
  if (window.__mitmproxyCorsProbe) return;
  window.__mitmproxyCorsProbe = true;
  var TOKEN = "__TOKEN__", PATH = "__PATH__", MAX = 50;
  var realFetch = window.fetch, queue = [], timer = null, violations = {};
  var base = function () { return document.baseURI || location.href; };
  var abs = function (u) { try { return new URL(String(u), base()).href; } catch (e) { return String(u); } };
  var lower = function (s) { return String(s).toLowerCase(); };

  function flush() {
    timer = null;
    if (!queue.length || !realFetch) return;
    var batch = queue.splice(0, MAX);
    try {
      realFetch.call(window, PATH + "?t=" + TOKEN, {method: "POST", body: JSON.stringify({records: batch}),
        credentials: "omit", keepalive: true, cache: "no-store", mode: "same-origin"}).catch(function () {});
    } catch (e) {}
    if (queue.length) schedule();
  }
  function schedule() { if (!timer) timer = setTimeout(flush, 60); }
  function push(rec) {
    if (rec.outcome === "error" || rec.outcome === "refused") {
      // A CSP violation event comes after the rejection: wait for it before delivering.
      setTimeout(function () { rec.csp = violations[rec.url] || null; queue.push(rec); schedule(); }, 50);
    } else { queue.push(rec); schedule(); }
  }
  document.addEventListener("securitypolicyviolation", function (e) {
    if (e.blockedURI) violations[abs(e.blockedURI)] = e.effectiveDirective || e.violatedDirective;
  });
  addEventListener("pagehide", flush);

  function headerNames(h) {
    var names = [];
    try {
      if (!h) return names;
      if (typeof h.forEach === "function" && !(h instanceof Array)) {
        h.forEach(function (v, k) { names.push(lower(k)); });
      } else if (h instanceof Array) {
        h.forEach(function (p) { names.push(lower(p[0])); });
      } else { Object.keys(h).forEach(function (k) { names.push(lower(k)); }); }
    } catch (e) {}
    return names;
  }
  function contentType(h) {
    try {
      var hs = new Headers(h || {});
      return hs.get("content-type");
    } catch (e) { return null; }
  }

  if (realFetch) {
    window.fetch = function (input, init) {
      var rec = null;
      try {
        var req = new Request(input, init);  // the browser's own reading of the arguments
        var names = headerNames(init && init.headers !== undefined ? init.headers : (input instanceof Request ? input.headers : null));
        rec = {api: "fetch", url: req.url, method: req.method, mode: req.mode, credentials: req.credentials,
               redirect: req.redirect, headers: names, content_type: req.headers.get("content-type")};
      } catch (e) {
        // The browser refuses these arguments before any request (a no-cors PUT, a bad URL...).
        try {
          var m = (init && init.method) || (input instanceof Request ? input.method : "GET");
          rec = {api: "fetch", url: abs(input instanceof Request ? input.url : input), method: String(m).toUpperCase(),
                 mode: (init && init.mode) || "cors", credentials: (init && init.credentials) || "same-origin",
                 redirect: (init && init.redirect) || "follow", headers: [], outcome: "error",
                 error: String(e && e.message || e)};
          push(rec);
        } catch (e2) {}
        return realFetch.apply(this, arguments);
      }
      var p = realFetch.apply(this, arguments);
      p.then(function (r) {
        rec.outcome = r.type === "opaque" || r.type === "opaqueredirect" ? "opaque" : "response";
        rec.status = r.status; push(rec);
      }, function (e) {
        rec.outcome = "error"; rec.error = String(e && e.message || e); push(rec);
      });
      return p;
    };
  }

  var XHR = window.XMLHttpRequest;
  if (XHR) {
    var open = XHR.prototype.open, setHeader = XHR.prototype.setRequestHeader, send = XHR.prototype.send;
    XHR.prototype.open = function (method, url) {
      this.__corsProbe = {api: "xhr", url: abs(url), method: String(method), mode: "cors", credentials: "same-origin",
                          redirect: "follow", headers: []};
      return open.apply(this, arguments);
    };
    XHR.prototype.setRequestHeader = function (name, value) {
      var rec = this.__corsProbe;
      if (rec) {
        var n = lower(name);
        if (rec.headers.indexOf(n) < 0) rec.headers.push(n);
        if (n === "content-type") rec.content_type = String(value);
      }
      return setHeader.apply(this, arguments);
    };
    XHR.prototype.send = function (body) {
      var rec = this.__corsProbe, xhr = this;
      if (rec) {
        var m = rec.method.toUpperCase();
        if (["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"].indexOf(m) >= 0) rec.method = m;
        rec.credentials = xhr.withCredentials ? "include" : "same-origin";
        // send() adds the body's Content-Type last when the page set none (XHR's own header map).
        if (body !== undefined && body !== null && m !== "GET" && m !== "HEAD" && rec.headers.indexOf("content-type") < 0) {
          rec.headers.push("content-type");
        }
        var done = false;
        var finish = function (outcome, error) {
          if (done) return; done = true;
          rec.outcome = outcome; rec.status = xhr.status; if (error) rec.error = error; push(rec);
        };
        xhr.addEventListener("load", function () { finish("response"); });
        xhr.addEventListener("error", function () { finish("error", "XMLHttpRequest error event (status 0)"); });
      }
      return send.apply(this, arguments);
    };
  }

  var ES = window.EventSource;
  if (ES) {
    var Probed = function (url, init) {
      var es = new ES(url, init);
      var rec = {api: "eventsource", url: es.url, method: "GET", mode: "cors",
                 credentials: es.withCredentials ? "include" : "same-origin", redirect: "follow", headers: []};
      var done = false;
      es.addEventListener("open", function () { if (!done) { done = true; rec.outcome = "response"; rec.status = 200; push(rec); } });
      es.addEventListener("error", function () {
        if (!done && es.readyState === ES.CLOSED) { done = true; rec.outcome = "error"; rec.error = "EventSource error event"; push(rec); }
      });
      return es;
    };
    Probed.prototype = ES.prototype;
    Probed.CONNECTING = ES.CONNECTING; Probed.OPEN = ES.OPEN; Probed.CLOSED = ES.CLOSED;
    window.EventSource = Probed;
  }

  if (navigator.sendBeacon) {
    var beacon = navigator.sendBeacon;
    navigator.sendBeacon = function (url, data) {
      var queued = beacon.apply(navigator, arguments);
      try {
        var ct = data && data.type ? data.type : (typeof data === "string" ? "text/plain;charset=UTF-8" : null);
        var safe = !ct || /^(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i.test(ct);
        push({api: "beacon", url: abs(url), method: "POST", mode: safe ? "no-cors" : "cors", credentials: "include", redirect: "follow",
              headers: ct ? ["content-type"] : [], content_type: ct, outcome: queued ? "queued" : "refused"});
      } catch (e) {}
      return queued;
    };
  }
})();
