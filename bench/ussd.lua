-- wrk script of bench/ussd.py: POST bodies of AT callbacks, one connection per wrk thread.
-- wrk ... -s bench/ussd.lua URL -- MODE FARMERS INTERVAL_MS RUN PRICES_ITEM
--   MODE first: a registered farmer's first hop (a new session id per request, text "")
--        walk:  per session the hops "", "<prices item>", "<prices item>*1" (a price screen)
--        sms:   an inbound "PRICE onion" with a new message id per request
--        bare, upsert: the floor routes of bench/app.py (a new session id per request)
--   FARMERS: phones +99291<7 digits> 1..FARMERS are registered farmers
--   INTERVAL_MS: 0 = as fast as the connection goes; else the thread sends on a fixed schedule,
--        one request every INTERVAL_MS; after late answers the next requests go at once until the
--        schedule is met again, at most 100 ms (or 10 intervals) of it is caught up
--   RUN: a prefix making the ids of this wrk run unique in the database
-- Answers are checked (status 200 and the expected start); done() prints one "BENCH {json}" line.
-- wrk calls request() once before the run in thread 1 to check the script (a request never sent),
-- so answers are not matched to requests by position: the walk's answers must all be CON
-- screens, of which at least a third (less one per thread) the price screen.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}

function init(args)
  mode = args[1]
  farmers = tonumber(args[2])
  interval = tonumber(args[3])
  run = args[4]
  item = args[5] or "2"
  sent, answered, bad, priced = 0, 0, 0, 0
  next_at = nil
  path = ({first = "/ussd", walk = "/ussd", sms = "/sms/inbound", bare = "/bench/bare",
           upsert = "/bench/upsert"})[mode]
end

local function phone(k)
  return string.format("%%2B99291%07d", ((tid * 7919 + k) % farmers) + 1)
end

function request()
  local k = sent
  sent = sent + 1
  local body
  if mode == "sms" then
    body = "id=ATXid_" .. run .. "_" .. tid .. "_" .. k .. "&from=" .. phone(k) ..
           "&to=3847&text=PRICE%20onion&date=2026-12-01%2010%3A00%3A00&networkCode=43601"
  else
    local session, text = k, ""
    if mode == "walk" then
      session = math.floor(k / 3)
      local step = k % 3
      if step == 1 then text = item elseif step == 2 then text = item .. "%2A1" end
    end
    body = "sessionId=ATUid_" .. run .. "_" .. tid .. "_" .. session .. "&serviceCode=%2A384%2A7%23&phoneNumber=" ..
           phone(session) .. "&networkCode=43601&text=" .. text
  end
  return wrk.format("POST", path, headers, body)
end

function delay()
  if interval <= 0 then return 0 end
  local now = now_ms()
  if next_at == nil or next_at < now - math.max(100, 10 * interval) then next_at = now end
  local wait = next_at - now
  next_at = next_at + interval
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function response(status, hdrs, body)
  answered = answered + 1
  local ok = status == 200
  if ok then
    if mode == "sms" then ok = body:sub(1, 9) == "processed"
    else ok = body:sub(1, 4) == "CON " end
    if ok and mode == "walk" and body:find("1[.,]35") then priced = priced + 1 end
  end
  if not ok then
    if bad < 3 then io.stderr:write("unexpected answer (" .. status .. "): " .. body:sub(1, 120) .. "\n") end
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local wrong, prices, answers = 0, 0, 0
  for _, t in ipairs(threads) do
    wrong = wrong + (t:get("bad") or 0)
    prices = prices + (t:get("priced") or 0)
    answers = answers + (t:get("answered") or 0)
  end
  if mode == "walk" and prices < math.floor(answers / 3) - #threads then
    io.stderr:write(string.format("only %d price screens in %d answers\n", prices, answers))
    wrong = wrong + math.floor(answers / 3) - #threads - prices
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, wrong))
end
