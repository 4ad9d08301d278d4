"""The Grafana dashboard and the Prometheus rules in docs/monitoring/ use only metrics /metrics exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import Counter, Histogram

from syncsmart.core import metrics
from syncsmart.metrics_view import DatabaseState

DOCS = Path(__file__).resolve().parents[1] / "docs" / "monitoring"
NAME = re.compile(r"\bsyncsmart_[a-z_]+")


def exported() -> set[str]:
    names = set()
    for metric in vars(metrics).values():
        if isinstance(metric, Counter):
            names.add(f"{metric._name}_total")
        elif isinstance(metric, Histogram):
            names |= {f"{metric._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
    return names


def test_the_dashboard_and_alert_rules_name_only_exported_metrics(db):
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    gauges = {family.name for family in DatabaseState().collect()}
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used and used <= exported() | gauges, used - exported() - gauges
