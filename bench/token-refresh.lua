-- wrk script: refresh_token grants at the token endpoint. Every call rotates the refresh token,
-- so each thread keeps its own chain: run with one connection per thread (-tN -cN). Environment:
-- TOKENS (a file with N refresh tokens, one per line), BASIC (the client's Authorization header
-- value). done() prints the refreshes that got a 200 (a broken chain shows as non-2xx).
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
  local i = 0
  for line in io.lines(os.getenv("TOKENS")) do
    i = i + 1
    if i == id then token = line end
  end
  ok = 0
  headers = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["Authorization"] = os.getenv("BASIC")}
end

function request()
  return wrk.format("POST", "/oauth/token", headers,
                    "grant_type=refresh_token&refresh_token=" .. enc(token))
end

function response(status, headers, body)
  local next_token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if status == 200 and next_token then
    token = next_token
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("ok") end
  io.write(string.format("token_ok %d elapsed_us %d\n", total, summary.duration))
end
