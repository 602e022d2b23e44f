-- wrk script: POST one ~1 KB order with HTTP Basic auth; counts answers by status.
-- Reads BENCH_AUTH (user:password, base64-encoded by the runner), BENCH_PATH and BENCH_BODY_FILE.
local path = os.getenv("BENCH_PATH")
local file = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format('BENCH {"statuses": {%s}, "p50_us": %d, "p99_us": %d, "requests": %d, "errors": %d}\n',
    table.concat(parts, ", "), latency:percentile(50), latency:percentile(99), summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
