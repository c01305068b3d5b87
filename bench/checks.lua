-- wrk script for bench.py: POSTs check bodies drawn at random from a file of
-- ready-made JSON bodies, one per line (bench/generate.py writes them).
--
--   wrk ... -s bench/checks.lua URL -- BODIES_FILE single|batch BATCH_SIZE API_KEY
--
-- single: POST /v1/check with one body.  batch: POST /v1/check/batch with
-- BATCH_SIZE bodies.  done() prints one line "BENCH_JSON {...}" for bench.py.

local bodies, count = {}, 0
local path, batch = "/v1/check", 0

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    bodies[count] = line
  end
  if args[2] == "batch" then
    path, batch = "/v1/check/batch", tonumber(args[3])
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[4]
  -- Each thread its own sequence; seeded from the clock so runs differ.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

local function pick()
  return bodies[math.random(count)]
end

function request()
  if batch == 0 then
    return wrk.format(nil, path, nil, pick())
  end
  local picks = {}
  for i = 1, batch do
    picks[i] = pick()
  end
  return wrk.format(nil, path, nil, '{"checks":[' .. table.concat(picks, ",") .. ']}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
