-- wrk script: authorization_code exchanges at the token endpoint, each code once.
-- Run with one connection per thread (-tN -cN). Environment: CODES (a file of "code verifier"
-- lines, dealt round-robin to the threads), BASIC (the client's Authorization header value),
-- REDIRECT (the redirect_uri), NTHREADS (N). A thread stops when its codes are used up; wrk's
-- own duration is then meaningless, so done() prints the exchanges that got a 200 and the time
-- from the first request to the last response, measured here.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec* ts);
]]
local function now_us()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local threads, count = {}, 0
function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("NTHREADS"))
  mine, pos, ok = {}, 0, 0
  local i = 0
  for line in io.lines(os.getenv("CODES")) do
    if i % n == id - 1 then table.insert(mine, line) end
    i = i + 1
  end
  headers = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["Authorization"] = os.getenv("BASIC")}
  redirect = enc(os.getenv("REDIRECT"))
end

function request()
  if pos == 0 then first_us = now_us() end
  pos = pos + 1
  local code, verifier = mine[math.min(pos, #mine)]:match("(%S+) (%S+)")
  return wrk.format("POST", "/oauth/token", headers,
                    "grant_type=authorization_code&code=" .. enc(code) .. "&code_verifier=" ..
                    enc(verifier) .. "&redirect_uri=" .. redirect)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 end
  if pos >= #mine and not last_us then
    last_us = now_us()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, first, last = 0, nil, nil
  for _, t in ipairs(threads) do
    total = total + t:get("ok")
    local f, l = t:get("first_us"), t:get("last_us")
    if f and (not first or f < first) then first = f end
    if l and (not last or l > last) then last = l end
  end
  io.write(string.format("token_ok %d elapsed_us %d\n", total, (last or 0) - (first or 0)))
end
