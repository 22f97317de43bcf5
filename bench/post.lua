-- wrk script: POST one JSON body on every request, then print a machine-readable summary.
--
-- The body comes from the file named by BENCH_BODY_FILE, or else from BENCH_BODY.
-- The summary is one line, "BENCH_RESULT {json}", with latencies in microseconds.

local body = os.getenv("BENCH_BODY")
local path = os.getenv("BENCH_BODY_FILE")
if path and path ~= "" then
  local file = assert(io.open(path, "rb"))
  body = file:read("*a")
  file:close()
end
assert(body and body ~= "", "set BENCH_BODY_FILE or BENCH_BODY")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = os.getenv("BENCH_API_KEY") or "sk-ant-bench-0000"
wrk.headers["anthropic-version"] = "2023-06-01"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"mean_us":%.1f,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
