-- wrk script: POST JSON bodies, then print a machine-readable summary.
--
-- The bodies come from the file named by BENCH_BODY_FILE, one a line, sent in turn (each
-- wrk thread starts at its own line); or else the one body BENCH_BODY.
-- The summary is one line, "BENCH_RESULT {json}", with latencies in microseconds.

local bodies = {}
local path = os.getenv("BENCH_BODY_FILE")
if path and path ~= "" then
  for line in io.lines(path) do
    if line ~= "" then bodies[#bodies + 1] = line end
  end
else
  bodies[1] = os.getenv("BENCH_BODY")
end
assert(bodies[1] and bodies[1] ~= "", "set BENCH_BODY_FILE or BENCH_BODY")

wrk.method = "POST"
wrk.body = bodies[1]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = os.getenv("BENCH_API_KEY") or "sk-ant-bench-0000"
wrk.headers["anthropic-version"] = "2023-06-01"

next_body = 0  -- global: `setup` gives each thread its own start

function setup(thread)
  thread:set("next_body", math.random(#bodies) - 1)
end

function request()
  next_body = (next_body % #bodies) + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"mean_us":%.1f,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
