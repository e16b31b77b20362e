-- wrk script of the benchmark: each thread replays its share of a request list, in order.
--
--   wrk -t2 -c8 -d8s -s bench/lua/requests.lua URL -- LIST THREADS [distinct]
--
-- LIST has one request a line, "ACCEPT<TAB>?query=..." (URL-encoded; appended to the URL's
-- path, e.g. /sparql or /query, so one list serves every server); thread i
-- of THREADS takes lines i, i+THREADS, i+2*THREADS, ... so no two threads send the same line.
-- A thread that reaches the end of its share starts again from its first line (the harness
-- counts such repeats). With "distinct", a repeat's query ends with a comment naming its pass
-- ("# pass 2"): the same work for the engine, but a different text, which no cache of answers
-- can have seen. At the end one line "WRKJSON {...}" gives the totals and latencies.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local list, threads = args[1], tonumber(args[2])
  distinct = args[3] == "distinct"
  requests, paths, accepts = {}, {}, {}
  local index = 0
  for line in io.lines(list) do
    if index % threads == id then
      local tab = line:find("\t", 1, true)
      local accept, path = line:sub(1, tab - 1), line:sub(tab + 1)
      requests[#requests + 1] = wrk.format("GET", wrk.path .. path, {["Accept"] = accept})
      paths[#paths + 1], accepts[#accepts + 1] = wrk.path .. path, accept
    end
    index = index + 1
  end
  if #requests == 0 then
    error("no request for thread " .. id .. " in " .. list)
  end
  position, pass = 0, 1
end

function request()
  if position == #requests then
    position, pass = 0, pass + 1
  end
  position = position + 1
  if pass == 1 or not distinct then
    return requests[position]
  end
  -- "\n# pass N" URL-encoded, at the end of the query parameter (the last of the line)
  return wrk.format("GET", paths[position] .. "%0A%23%20pass%20" .. pass,
                    {["Accept"] = accepts[position]})
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
