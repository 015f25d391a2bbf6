-- wrk script: browser-like CORS traffic in absolute-form, for a load through an HTTP proxy.
-- wrk talks to the proxy given on its command line; every request line carries the backend's
-- absolute URL (the script argument after "--"), which is how a client speaks to a forward proxy.
-- Mix per cycle of 10 requests: a preflight and its actual PUT (paired by the addon), simple GETs
-- that are allowed and blocked, a redirect that ends at an allowed resource, a same-origin XHR,
-- a no-cors image and a navigation. URLs carry a counter, so they are not all the same.

local backend, host
local n = 0
local origin = "https://app.example.com"
local ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

init = function(args)
  backend = args[1] or "http://127.0.0.1:8080"
  host = backend:match("^https?://([^/]+)")
end

local function h(extra)
  local t = {
    ["Host"] = host, ["User-Agent"] = ua, ["Accept"] = "application/json, text/plain, */*",
    ["Accept-Encoding"] = "gzip, deflate, br", ["Accept-Language"] = "en-US,en;q=0.9",
    ["Referer"] = origin .. "/dashboard",
  }
  for k, v in pairs(extra) do t[k] = v end
  return t
end

local cors = {["Origin"] = origin, ["Sec-Fetch-Mode"] = "cors", ["Sec-Fetch-Site"] = "cross-site",
              ["Sec-Fetch-Dest"] = "empty"}

request = function()
  n = n + 1
  local step = n % 10
  local id = math.floor(n / 10) % 100000
  if step == 0 then
    return wrk.format("OPTIONS", backend .. "/api/orders/" .. id, h({
      ["Origin"] = origin, ["Access-Control-Request-Method"] = "PUT",
      ["Access-Control-Request-Headers"] = "content-type,x-csrf-token",
      ["Sec-Fetch-Mode"] = "cors", ["Sec-Fetch-Site"] = "cross-site", ["Sec-Fetch-Dest"] = "empty"}))
  elseif step == 1 then
    local t = h(cors)
    t["Content-Type"] = "application/json"
    t["X-CSRF-Token"] = "d41d8cd98f00b204e9800998ecf8427e"
    return wrk.format("PUT", backend .. "/api/orders/" .. id, t, '{"qty":1}')
  elseif step == 2 or step == 3 then
    return wrk.format("GET", backend .. "/api/items/" .. id .. "?page=" .. step, h(cors))
  elseif step == 4 then
    return wrk.format("GET", backend .. "/private/profile/" .. id, h(cors))  -- no ACAO: blocked
  elseif step == 5 then
    local t = h(cors)
    t["Cookie"] = "session=3f2a9c1e8b7d"
    return wrk.format("GET", backend .. "/public/feed/" .. id, t)  -- ACAO * with a cookie: blocked
  elseif step == 6 then
    return wrk.format("GET", backend .. "/moved/" .. id, h(cors))  -- 302 with ACAO to /api/target
  elseif step == 7 then
    return wrk.format("GET", backend .. "/api/target", h({["Origin"] = "null", ["Sec-Fetch-Mode"] = "cors",
      ["Sec-Fetch-Site"] = "cross-site", ["Sec-Fetch-Dest"] = "empty"}))
  elseif step == 8 then
    return wrk.format("GET", backend .. "/static/img/" .. id .. ".png", h({["Sec-Fetch-Mode"] = "no-cors",
      ["Sec-Fetch-Site"] = "cross-site", ["Sec-Fetch-Dest"] = "image"}))
  else
    return wrk.format("GET", backend .. "/app/" .. id, h({["Sec-Fetch-Mode"] = "navigate",
      ["Sec-Fetch-Site"] = "none", ["Sec-Fetch-Dest"] = "document", ["Upgrade-Insecure-Requests"] = "1"}))
  end
end

done = function(summary, latency, requests)
  io.write(string.format("WRK_RESULT requests=%d duration_us=%d errors_connect=%d errors_read=%d " ..
    "errors_write=%d errors_status=%d errors_timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
