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
  thread:set("id", #threads)
end

-- Each request names one of BENCH_REFS order_refs in turn (per thread), so that processing merges
-- and publishes as it would for real orders; BENCH_REFS=0 sends the file's body unchanged.
local refs = tonumber(os.getenv("BENCH_REFS") or "100000")
local marker = "BENCH-000123456"
-- The body cut at every place the marker stands (an order_ref, and in some files the customer too).
local pieces = {}
local from = 1
while true do
  local at = string.find(body, marker, from, true)
  if not at then break end
  table.insert(pieces, string.sub(body, from, at - 1))
  from = at + #marker
end
table.insert(pieces, string.sub(body, from))
local counter = 0
local offset = 0

function init(args)
  statuses = {}
  offset = id * 7919  -- threads start at different refs
end

function request()
  if refs == 0 then
    return wrk.format(nil, nil, nil, body)
  end
  counter = counter + 1
  local ref = string.format("BENCH-%09d", (counter + offset) % refs)
  return wrk.format(nil, nil, nil, table.concat(pieces, ref))
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
