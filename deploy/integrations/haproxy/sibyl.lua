-- Sibyl's retry advice for HAProxy (tested with 2.6, built with Lua 5.3): the action
-- `lua.sibyl-predict <host:port> <timeout ms>` asks Sibyl's POST /predict_retry how likely the
-- client is to retry the response HAProxy is about to send, and stores the answer in
--   txn.sibyl_p       retry probability
--   txn.sibyl_action  ALLOW, ROUTE_BACKUP or CIRCUIT_BREAK
--   txn.sibyl_source  sibyl, or fallback
--   txn.sibyl_wait_ms time spent asking
-- for haproxy.cfg to act on. Whatever goes wrong (timeout, refused, non-200, unreadable answer),
-- the seed's fallback applies: probability 0.5, action ALLOW. Load it with `lua-load`.

local FALLBACK_P = 0.5
local FALLBACK_ACTION = "ALLOW"
-- Required by Sibyl when its admin listener is not on loopback ([admin] token).
local TOKEN = os.getenv("SIBYL_ADMIN_TOKEN")

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec / 1000
end

-- The response's features, as JSON. Only integers and an [A-Z] method go in, so nothing needs
-- escaping.
local function features(txn)
  local status = tonumber(txn.sf:status()) or 0
  local body = string.format('{"status_code":%d', status)
  local started = tonumber(txn:get_var("txn.sibyl_t0"))
  if started ~= nil then
    body = body .. string.format(',"response_time_ms":%d', math.max(0, math.floor(now_ms() - started)))
  end
  local length = tonumber(txn.sf:res_hdr("content-length"))
  if length ~= nil then body = body .. string.format(',"bytes_sent":%d', length) end
  local method = (txn.sf:method() or ""):gsub("[^A-Z]", "")
  if method ~= "" then body = body .. string.format(',"method":"%s"', method) end
  return body .. "}"
end

-- One HTTP/1.1 exchange over a cosocket, every step bounded by what is left of the budget.
-- (core.httpclient is not used: on HAProxy 2.6 a refused connection is retried for 3 s.)
local function ask(address, timeout_ms, body)
  local host, port = address:match("^%[?([^%]]+)%]?:(%d+)$")
  if host == nil then return nil end
  local deadline = now_ms() + timeout_ms
  local socket = core.tcp()
  local function within_budget()
    local left = deadline - now_ms()
    if left <= 0 then return false end
    socket:settimeout(left / 1000)
    return true
  end
  local auth = ""
  if TOKEN ~= nil and TOKEN ~= "" then auth = "Authorization: Bearer " .. TOKEN .. "\r\n" end
  local request = "POST /predict_retry HTTP/1.1\r\nHost: " .. address .. "\r\nConnection: close\r\n"
    .. "Content-Type: application/json\r\n" .. auth .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
  local answer
  if within_budget() and socket:connect(host, tonumber(port))
    and within_budget() and socket:send(request)
    and within_budget() then
    answer = socket:receive("*a")
  end
  socket:close()
  if answer == nil or not answer:match("^HTTP/1%.%d 200 ") then return nil end
  local p = tonumber(answer:match('"retry_probability"%s*:%s*([-+%d.eE]+)'))
  local action = answer:match('"recommended_action"%s*:%s*"([A-Z_]+)"')
  if p == nil or action == nil then return nil end
  return p, action
end

core.register_action("sibyl-predict", { "http-res" }, function(txn, address, timeout)
  local started = now_ms()
  local p, action = ask(address, tonumber(timeout) or 10, features(txn))
  local source = "sibyl"
  if p == nil then
    p, action, source = FALLBACK_P, FALLBACK_ACTION, "fallback"
  end
  txn:set_var("txn.sibyl_p", tostring(p))
  txn:set_var("txn.sibyl_action", action)
  txn:set_var("txn.sibyl_source", source)
  txn:set_var("txn.sibyl_wait_ms", string.format("%.1f", now_ms() - started))
end, 2)
