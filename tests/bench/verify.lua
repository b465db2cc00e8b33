-- The bearer key from OTP_BENCH_KEY (set by the bench harness), as a relying app sends it.
headers = { ["Content-Type"] = "application/json" }
local key = os.getenv("OTP_BENCH_KEY")
if key ~= nil and key ~= "" then
  headers["Authorization"] = "Bearer " .. key
end

-- wrk: POST /v1/otp/verify with a wrong guess at one of the seeded OTPs (ids file: the first
-- script argument). The attempt cap is lifted for the run, so every request is a full
-- evaluation (a counted guess, answered 422).
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("offset", threads * 7919)
end

local ids = {}
local next_id = 0

init = function(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  next_id = offset or 0
end

request = function()
  next_id = next_id % #ids + 1
  local body = string.format('{"otp_id":"%s","code":"000000"}', ids[next_id])
  return wrk.format("POST", "/v1/otp/verify", headers, body)
end
