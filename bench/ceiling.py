"""The throughput ceiling a backfill cannot beat: what the vendors' published rate limits and
batch sizes allow, computed (not measured) so that a benchmark can say how close it came.

A backfill of companies and their contacts from the other system into HubSpot must at least,
so that nothing is created twice: per 100 contacts, one batch read by e-mail (a unique
property) and one batch create; per 100 companies, one batch create, plus one domain search per
500 companies (a search takes 5 filter groups of 100 values, and searches have their own
5-per-second limit). Reading the source costs one call per page. Every system's limit is a
bucket of `calls` per `seconds`; with the backfill's mix of records (the bench seeds one
company per five contacts), the records per second a bucket allows is calls/seconds ÷ (the
calls it must carry per record). The ceiling is the smallest over the buckets. A vendor that
publishes no limit (ConnectWise) bounds nothing.

NetSuite governs concurrency, not a rate: with at most C requests of the account in flight and
each taking the emulator's mean latency L, no client makes more than C / L requests per second
(Little's law). Its bucket is C calls per L seconds; reading the source costs one SuiteQL page
per 1,000 records (the lookups and writes of a backfill into HubSpot land on HubSpot).
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.dynamics import limits as dyn
from connectors.hubspot import limits as hubspot_limits
from connectors.netsuite import DEFAULT_INTEGRATION_CONCURRENCY, MAX_PAGE_SIZE
from connectors.salesforce import limits as sf


@dataclass(frozen=True)
class Bucket:
    system: str
    calls: int
    seconds: float
    calls_per_record: float  # the least the backfill must spend in this bucket per record
    why: str

    @property
    def records_per_second(self) -> float:
        if self.calls_per_record <= 0:
            return float("inf")
        return (self.calls / self.seconds) / self.calls_per_record

    def formula(self) -> str:
        return (
            f"{self.system}: {self.calls} calls / {self.seconds:g} s ÷ {self.calls_per_record:.4f} calls/record "
            f"({self.why}) = {self.records_per_second:,.0f} records/s"
        )


# The bench's mix: one company per five contacts.
COMPANY_SHARE = 1 / 6


def hubspot_bucket(per_10s: int = hubspot_limits.PRIVATE_APP_PER_10S, company_share: float = COMPANY_SHARE) -> Bucket:
    batch = hubspot_limits.BATCH_LIMIT
    per_record = (1 - company_share) * 2 / batch + company_share * 1 / batch
    return Bucket(
        "HubSpot",
        per_10s,
        hubspot_limits.TEN_SECOND_WINDOW_MS / 1000,
        per_record,
        f"per {batch} contacts 1 batch read by e-mail + 1 batch create, per {batch} companies 1 batch create; "
        f"{company_share:.0%} of records are companies",
    )


def hubspot_search_bucket(company_share: float = COMPANY_SHARE) -> Bucket:
    values = hubspot_limits.SEARCH_MAX_IN_VALUES * hubspot_limits.SEARCH_MAX_FILTER_GROUPS
    return Bucket(
        "HubSpot search", hubspot_limits.SEARCH_PER_SECOND, 1, company_share / values, f"1 domain search per {values} companies"
    )


def netsuite_bucket(concurrency: int, latency_s: float) -> Bucket:
    return Bucket(
        "NetSuite",
        concurrency,
        latency_s,
        1 / MAX_PAGE_SIZE,
        f"{concurrency} requests in flight / {latency_s * 1000:g} ms each; 1 SuiteQL page read per {MAX_PAGE_SIZE} records",
    )


def source_bucket(system: str, source_latency_s: float | None = None) -> Bucket | None:
    if system == "netsuite":
        return netsuite_bucket(DEFAULT_INTEGRATION_CONCURRENCY, source_latency_s or 0.175)
    if system == "dynamics":
        return Bucket(
            "Dynamics 365",
            dyn.REQUESTS_PER_WINDOW,
            dyn.WINDOW_SECONDS,
            1 / dyn.MAX_PAGE_SIZE,
            f"1 change-tracked page read per {dyn.MAX_PAGE_SIZE} records",
        )
    if system == "salesforce":
        return Bucket(
            "Salesforce",
            sf.DAILY_REQUESTS_ENTERPRISE,
            86_400,
            1 / sf.QUERY_BATCH_MAX,
            f"1 SOQL page per {sf.QUERY_BATCH_MAX} records against the org's daily allowance (no per-second limit)",
        )
    return None  # ConnectWise publishes no request-rate limit for its cloud API


def backfill_ceiling(
    system: str, hubspot_per_10s: int = hubspot_limits.PRIVATE_APP_PER_10S, source_latency_s: float | None = None
) -> tuple[float, str]:
    """(records per second, the formula as printed) for a backfill of `system` into HubSpot.
    `source_latency_s`: the source emulator's mean latency (a concurrency-governed vendor's input)."""
    buckets = [
        b
        for b in (hubspot_bucket(hubspot_per_10s), hubspot_search_bucket(), source_bucket(system, source_latency_s))
        if b is not None
    ]
    best = min(buckets, key=lambda b: b.records_per_second)
    lines = [b.formula() for b in buckets]
    if system == "connectwise":
        lines.append("ConnectWise: no published request-rate limit (unbounded)")
    text = "ceiling = min(" + "; ".join(lines) + f") = {best.records_per_second:,.0f} records/s"
    return best.records_per_second, text


def hubspot_activities_bucket(per_10s: int = hubspot_limits.PRIVATE_APP_PER_10S) -> Bucket:
    """An activity cannot be looked up by a unique property: what keeps it from being created twice is
    our link (and, for double entry, the engagements of the flow's full scan, read once). So the least a
    burst of activities costs HubSpot is one batch create per 100, their associations inline."""
    batch = hubspot_limits.BATCH_LIMIT
    return Bucket(
        "HubSpot",
        per_10s,
        hubspot_limits.TEN_SECOND_WINDOW_MS / 1000,
        1 / batch,
        f"1 batch create per {batch} activities, associations inline",
    )


def activities_ceiling(system: str, hubspot_per_10s: int = hubspot_limits.PRIVATE_APP_PER_10S) -> tuple[float, str]:
    """(activities per second, the formula as printed) for a burst of `system` activities into HubSpot."""
    buckets = [b for b in (hubspot_activities_bucket(hubspot_per_10s), source_bucket(system)) if b is not None]
    best = min(buckets, key=lambda b: b.records_per_second)
    lines = [b.formula() for b in buckets]
    if system == "connectwise":
        lines.append("ConnectWise: no published request-rate limit (unbounded)")
    text = "ceiling = min(" + "; ".join(lines) + f") = {best.records_per_second:,.0f} activities/s"
    return best.records_per_second, text
