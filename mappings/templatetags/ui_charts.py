"""Inline SVG charts: no JavaScript, readable by screen readers through a text summary."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from mappings.services.queries import HourBucket

register = template.Library()

CHART_WIDTH = 480
CHART_HEIGHT = 90


@register.simple_tag
def hourly_chart(buckets: list[HourBucket], title: str = "Records per hour") -> str:
    """Stacked bars per hour: synced (green) under failed (red), day labels at midnight.

    The <title>/<desc> pair gives assistive technology the totals the bars show."""
    if not buckets:
        return format_html('<p class="muted">No runs yet.</p>')
    peak = max((b.synced + b.failed) for b in buckets) or 1
    bar_width = CHART_WIDTH / len(buckets)
    plot_height = CHART_HEIGHT
    bars = []
    for index, bucket in enumerate(buckets):
        x = round(index * bar_width, 2)
        synced_h = round(plot_height * bucket.synced / peak, 2)
        failed_h = round(plot_height * bucket.failed / peak, 2)
        label = f"{bucket.hour:%a %H:00}: {bucket.synced} synced, {bucket.failed} failed"
        bars.append(
            (
                x,
                round(plot_height - synced_h, 2),
                max(bar_width - 1, 1),
                synced_h,
                round(plot_height - synced_h - failed_h, 2),
                failed_h,
                label,
            )
        )
    body = format_html_join(
        "",
        '<g><title>{}</title><rect class="bar-ok" x="{}" y="{}" width="{}" height="{}"/>'
        '<rect class="bar-bad" x="{}" y="{}" width="{}" height="{}"/></g>',
        ((label, x, y_ok, w, h_ok, x, y_bad, w, h_bad) for x, y_ok, w, h_ok, y_bad, h_bad, label in bars),
    )
    # The day labels sit in a second SVG without a viewBox, placed by percentage: the bars stretch
    # to the card's width (preserveAspectRatio="none"), text in that SVG would stretch with them.
    day_marks = format_html_join(
        "",
        '<text x="{}%" y="11">{}</text>',
        ((round(100 * i / len(buckets), 2), f"{b.hour:%a}") for i, b in enumerate(buckets) if b.hour.hour == 0),
    )
    synced = sum(b.synced for b in buckets)
    failed = sum(b.failed for b in buckets)
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d" preserveAspectRatio="none">'
        '<title id="{}-t">{}</title>'
        '<desc id="{}-d">{} records synced and {} failed in the last {} hours; peak {} in one hour.</desc>'
        '{}</svg><svg class="chart-axis" aria-hidden="true" focusable="false">{}</svg>',
        CHART_WIDTH,
        CHART_HEIGHT,
        id(buckets),
        id(buckets),
        id(buckets),
        title,
        id(buckets),
        synced,
        failed,
        len(buckets),
        peak,
        body,
        day_marks,
    )
