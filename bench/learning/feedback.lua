-- wrk script of bench/learning/feedback.ts: POSTs labels with request ids never sent before (so
-- every label is stored, not a duplicate), $WRK_LABELS labels a request, with the bearer token of
-- $WRK_TOKEN. Prints the figures as one JSON line, as bench/wrk/post.lua does.
local per = tonumber(os.getenv("WRK_LABELS") or "1")
local token = os.getenv("WRK_TOKEN") or ""
local run = os.getenv("WRK_RUN") or "0"
local counter = 0
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
if token ~= "" then wrk.headers["authorization"] = "Bearer " .. token end

function request()
  counter = counter + 1
  local labels = {}
  for k = 1, per do
    labels[k] = string.format('{"request_id":"r%s-%d-%d","label":"mlops"}', run, counter, k)
  end
  local body = '{"model":"tagifai","labels":[' .. table.concat(labels, ",") .. ']}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    errors, summary.errors.status))
end
