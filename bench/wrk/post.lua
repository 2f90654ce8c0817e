-- wrk script for Ferry's benchmarks: POSTs the JSON body in $WRK_BODY_FILE (a GET when it is unset),
-- with an optional unit header drawn from a pool of $WRK_UNITS ids (as real users), and prints the
-- figures as one JSON line. With WRK_BODY_LINES=1 the file holds one body per line, sent in turn
-- (so a lookup bench does not read the same key every time).
local bodyFile = os.getenv("WRK_BODY_FILE")
local bodies = {}
if bodyFile and bodyFile ~= "" then
  local f = assert(io.open(bodyFile, "rb"))
  if os.getenv("WRK_BODY_LINES") == "1" then
    for line in f:lines() do
      if line ~= "" then bodies[#bodies + 1] = line end
    end
  else
    wrk.body = f:read("*a")
  end
  f:close()
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
end
local units = tonumber(os.getenv("WRK_UNITS") or "0")
local counter = 0
local next_body = 0

function request()
  if units > 0 then
    counter = (counter + 7919) % units
    wrk.headers["x-ferry-unit"] = "user-" .. counter
  end
  if #bodies > 0 then
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    errors, summary.errors.status))
end
