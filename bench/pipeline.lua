-- wrk script: every write carries BENCH_PIPELINE requests (HTTP/1.1 pipelining), as clients
-- behind a multiplexing proxy and keep-alive benchmarks do. wrk counts each response.
local depth = tonumber(os.getenv("BENCH_PIPELINE")) or 16

init = function(args)
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format(nil, "/")
  end
  batch = table.concat(requests)
end

request = function()
  return batch
end
