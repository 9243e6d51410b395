#!/usr/bin/env bash
# Times the README's main command (scripts/demo) end to end and prints the figures for the
# closing note: wall time (target <= 180 s on 2 cores), the chosen degree, J/sample at the
# chosen degree against the starting degree (with the energy source), the resize latencies,
# and the machine's load average before and after (a shared machine inflates every figure).
#   benchmarks/demo_wall.sh [extra flags for energy-autoscaler local]
set -euo pipefail
cd "$(dirname "$0")/.."
report="$(mktemp -d -t ea-demo-report-XXXXXX)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (cores: $(nproc))"
start=$(date +%s.%N)
DEMO_REPORT="$report" scripts/demo --no-live "$@" > "$report.log" 2>&1 || echo "demo exited with $?"
end=$(date +%s.%N)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
tail -n 6 "$report.log"
"${VENV:-.venv}/bin/python" - "$report/report.json" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
e = r["energy_per_sample"]
print(f"demo wall time: {wall:.0f} s (scripts/demo, incl. install check); run itself {r['wall_s']:.0f} s")
print(f"degrees visited: {' -> '.join(str(x['to_replicas']) for x in r['resizes'])}; "
      f"chosen {r['chosen_replicas']} (started at {r['start_replicas']})")
if e["start_j"] and e["chosen_j"]:
    print(f"J/sample: {e['chosen_j']*1e3:.3f} mJ at chosen ({e['chosen_basis']}) vs "
          f"{e['start_j']*1e3:.3f} mJ at start ({e['start_basis']}): {e['change_pct']:+.1f}% "
          f"[source: {e['source']}]")
for n, m in sorted(r["measured"].items()):
    print(f"  measured at {n}: {m['throughput_sps']:.0f} samples/s, {m['power_w']:.1f} W, "
          f"{m['energy_per_sample_j']*1e3:.3f} mJ/sample over {m['windows']} windows [{m['source']}]")
lat = [x["latency_s"] for x in r["resizes"] if x["from_replicas"] and x["latency_s"]]
print("resize latencies (s): " + ", ".join(f"{x:.1f}" for x in lat))
PY
echo "report: $report"
