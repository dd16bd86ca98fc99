"""Checks the Grafana dashboard and the alert rules against what the server
exports: every panel has a title and a query, and every metric a query or a
rule names is one the code defines (or comes from the process collector or
kube-state-metrics). Usage: check-monitoring.py (from the repository root).
"""

import json
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
defined = set()
for path in list(root.glob("server/src/**/*.rs")) + list(root.glob("domain/src/**/*.rs")):
    text = path.read_text()
    defined |= set(re.findall(r'(?:counter|gauge|histogram)!\(\s*"([a-z_]+)"', text))
    # Gauges set through the gauges module's helper name the metric first.
    defined |= set(re.findall(r'set_all\(\s*"([a-z_]+)"', text))
# Histograms are scraped as _bucket/_sum/_count; the process collector's and
# kube-state-metrics' series come from elsewhere.
outside = {"process_cpu_seconds_total", "process_resident_memory_bytes", "kube_pod_container_status_restarts_total"}
known = outside | defined | {m + s for m in defined for s in ("_bucket", "_sum", "_count")}
functions = {"sum", "max", "min", "rate", "increase", "histogram_quantile", "clamp_min", "by", "le", "avg"}

def metrics_in(expr):
    expr = re.sub(r'\{[^}]*\}', '', expr)
    # Label lists of aggregations and vector matching name labels, not metrics.
    expr = re.sub(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', '', expr)
    expr = re.sub(r'\[[^\]]*\]', '', expr)
    names = set(re.findall(r'\b[a-z_][a-z0-9_]*\b', expr))
    return {n for n in names if "_" in n and n not in functions}

problems = []
dash = json.loads((root / "deploy/grafana/payquest.json").read_text())
exprs = []
for panel in dash["panels"]:
    if panel["type"] == "row":
        continue
    if not panel.get("title") or not panel.get("targets"):
        problems.append(f"panel {panel.get('id')} needs a title and a query")
    exprs += [(f"panel '{panel['title']}'", t["expr"]) for t in panel["targets"]]
for m in re.finditer(r'expr:\s*(\|\n((?:\s{10,}.*\n)+)|(.*))', (root / "deploy/prometheus/alerts.yaml").read_text()):
    exprs.append(("alerts.yaml", m.group(2) or m.group(3)))
for where, expr in exprs:
    for name in metrics_in(expr) - known:
        problems.append(f"{where}: {name} is not a metric the server exports")
if not exprs:
    problems.append("no queries found")
for p in problems:
    print(p)
print(f"{len(exprs)} queries checked against {len(defined)} metrics the code defines")
sys.exit(1 if problems else 0)
