"""The computed ceiling, the target judgement and the percentile maths the bench reports."""

from bench.ceiling import backfill_ceiling, hubspot_bucket
from bench.report import table
from bench.scenarios import _pct, judge


def test_hubspot_bucket_allows_500_records_per_second_at_100_calls_per_10s():
    # 10 calls/s, each 100 records needing one look-up and one create: 10 / 0.02 = 500
    assert hubspot_bucket(100).records_per_second == 500


def test_connectwise_backfill_is_bounded_by_hubspot_and_says_so():
    ceiling, formula = backfill_ceiling("connectwise", 100)
    assert ceiling == 500
    assert "100 calls / 10 s" in formula and "no published request-rate limit" in formula


def test_dynamics_backfill_ceiling_is_the_smaller_of_both_vendors_limits():
    ceiling, formula = backfill_ceiling("dynamics", 100)
    assert ceiling == 500
    assert "6000 calls / 300 s" in formula
    tight, _ = backfill_ceiling("dynamics", 10)  # a HubSpot account throttled to 1 call/s
    assert tight == 50


def test_a_higher_hubspot_tier_raises_the_ceiling():
    assert backfill_ceiling("connectwise", 190)[0] == 950


def test_judge_reports_each_target_as_met_or_missed():
    judged = judge({"ratio_to_ceiling": 0.5, "api_calls_per_record": 0.02, "writes": 1, "records": 10})
    assert judged["ratio_to_ceiling"]["met"] is False
    assert judged["api_calls_per_record"]["met"] is True
    assert judged["writes"]["met"] is False
    assert "records" not in judged


def test_percentiles_use_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (_pct(values, 50), _pct(values, 95), _pct(values, 99)) == (50.0, 95.0, 99.0)
    assert _pct([], 95) is None


def test_table_marks_a_missed_target_plainly():
    results = {"echo": {"writes": 2, "targets": judge({"writes": 2})}}
    assert "NO" in table(results).splitlines()[-1]
