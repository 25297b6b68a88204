-- wrk script for the token endpoint, one keep-alive connection per wrk thread (-tN -cN).
-- Environment: GRANT ("code" or "refresh"), BASIC (the client's Authorization header value),
-- NTHREADS (N), and
--   code:    CODES, a file of "code verifier" lines dealt round-robin to the threads, and
--            REDIRECT, the redirect_uri. Each code is exchanged once; a thread stops when its
--            codes are used up. wrk's own duration is then meaningless, so done() prints the
--            time from the first request to the last response, measured here.
--   refresh: TOKENS, a file of N refresh tokens. Each thread keeps one chain for the whole
--            run: every call rotates the token and the next call sends the new one, so a broken
--            chain shows as non-2xx responses.
-- done() prints "token_ok <calls answered 200> elapsed_us <microseconds>".
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
  grant = os.getenv("GRANT")
  ok, pos = 0, 0
  headers = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["Authorization"] = os.getenv("BASIC")}
  local n, i = tonumber(os.getenv("NTHREADS")), 0
  if grant == "code" then
    mine, redirect = {}, enc(os.getenv("REDIRECT"))
    for line in io.lines(os.getenv("CODES")) do
      if i % n == id - 1 then table.insert(mine, line) end
      i = i + 1
    end
  else
    for line in io.lines(os.getenv("TOKENS")) do
      i = i + 1
      if i == id then token = line end
    end
  end
end

function request()
  if pos == 0 then first_us = now_us() end
  pos = pos + 1
  if grant ~= "code" then
    return wrk.format("POST", "/oauth/token", headers,
                      "grant_type=refresh_token&refresh_token=" .. enc(token))
  end
  local code, verifier = mine[math.min(pos, #mine)]:match("(%S+) (%S+)")
  return wrk.format("POST", "/oauth/token", headers,
                    "grant_type=authorization_code&code=" .. enc(code) .. "&code_verifier=" ..
                    enc(verifier) .. "&redirect_uri=" .. redirect)
end

function response(status, headers, body)
  last_us = now_us()
  if grant ~= "code" then
    local next_token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if status == 200 and next_token then
      token = next_token
      ok = ok + 1
    end
    return
  end
  if status == 200 then ok = ok + 1 end
  if pos >= #mine and not stopped then
    stopped = true
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
