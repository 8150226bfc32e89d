-- Prints wrk's exact totals as one JSON line for bench/run.py to read.
-- bench/run.py appends this to the request script of each scenario; on its own:
--   wrk -t1 -c50 -d5s --latency -s bench/wrk/report.lua http://127.0.0.1:8080/hello
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, ' ..
    '"p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f, ' ..
    '"connect_errors": %.0f, "read_errors": %.0f, "write_errors": %.0f, ' ..
    '"status_errors": %.0f, "timeouts": %.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
