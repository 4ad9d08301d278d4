"""The computed ceiling, the target judgement and the percentile maths the bench reports."""

from bench.ceiling import backfill_ceiling, hubspot_bucket, hubspot_search_bucket
from bench.report import table
from bench.scenarios import _pct, judge


def test_hubspot_bucket_allows_500_records_per_second_at_100_calls_per_10s_for_contacts_alone():
    # 10 calls/s, each 100 contacts needing one look-up and one create: 10 / 0.02 = 500
    assert hubspot_bucket(100, company_share=0).records_per_second == 500
    # companies need no general-bucket look-up (their domain search has its own bucket): 10 / 0.01
    assert hubspot_bucket(100, company_share=1).records_per_second == 1000


def test_the_bench_mix_of_one_company_per_five_contacts_allows_545_records_per_second():
    # 6 records (5 contacts, 1 company) cost 5 * 0.02 + 0.01 = 0.11 calls: 10 / (0.11 / 6)
    assert round(hubspot_bucket(100).records_per_second, 1) == 545.5
    assert round(hubspot_search_bucket().records_per_second) == 15000  # 5 searches/s of 500 domains, 1 in 6


def test_connectwise_backfill_is_bounded_by_hubspot_and_says_so():
    ceiling, formula = backfill_ceiling("connectwise", 100)
    assert round(ceiling, 1) == 545.5
    assert "100 calls / 10 s" in formula and "no published request-rate limit" in formula


def test_dynamics_backfill_ceiling_is_the_smaller_of_both_vendors_limits():
    ceiling, formula = backfill_ceiling("dynamics", 100)
    assert round(ceiling, 1) == 545.5
    assert "6000 calls / 300 s" in formula
    tight, _ = backfill_ceiling("dynamics", 10)  # a HubSpot account throttled to 1 call/s
    assert round(tight, 2) == 54.55


def test_a_higher_hubspot_tier_raises_the_ceiling():
    assert round(backfill_ceiling("connectwise", 190)[0], 1) == 1036.4


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
