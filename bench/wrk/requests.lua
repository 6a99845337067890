-- wrk script for make bench-http: rotates over many (token, tenant) pairs so
-- every request is a different user and tenant mix, and prints one
-- machine-readable line at the end.
--
--   wrk -t2 -c16 -d10s -s bench/wrk/requests.lua http://127.0.0.1:PORT -- FILE MODE
--
-- FILE: one request per line, tab-separated: token, tenant id, path.
-- MODE: "header" (GET path with Cf-Access-Jwt-Assertion: token; pgtenant and
-- the baseline) or "graphql" (POST /graphql with Authorization: Bearer token
-- and X-Tenant-Id; PostGraphile), the same 20-row page either way.

local reqs = {}
local mode = "header"
local counter = 0

local graphql_body = '{"query":"{allProjects(first:20,orderBy:[CREATED_AT_ASC,ID_ASC]){nodes{id name description createdAt updatedAt}}}"}'

function init(args)
  local file = args[1]
  mode = args[2] or "header"
  for line in io.lines(file) do
    local token, tenant, path = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    if token then
      reqs[#reqs + 1] = {token = token, tenant = tenant, path = path}
    end
  end
  if #reqs == 0 then
    error("no requests in " .. file)
  end
  -- Each thread starts at its own offset.
  counter = math.random(#reqs)
end

function request()
  counter = counter % #reqs + 1
  local r = reqs[counter]
  if mode == "graphql" then
    return wrk.format("POST", "/graphql", {
      ["Authorization"] = "Bearer " .. r.token,
      ["X-Tenant-Id"] = r.tenant,
      ["Content-Type"] = "application/json",
    }, graphql_body)
  end
  return wrk.format("GET", r.path, {["Cf-Access-Jwt-Assertion"] = r.token})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
