"""Activity bodies between HubSpot's HTML and the other systems' plain text, within size limits."""

from hypothesis import given
from hypothesis import strategies as st

from syncsmart.engine.bodies import TRUNCATED_MARKER, fit_body, html_to_text, text_to_html, truncate


def test_html_becomes_the_text_a_reader_sees():
    assert html_to_text("<p>Hello <b>Ana</b></p><p>Price: 5 &lt; 6 &amp; more</p>") == "Hello Ana\nPrice: 5 < 6 & more"
    assert html_to_text("one<br>two<br/>three") == "one\ntwo\nthree"
    assert html_to_text("<style>p{}</style><script>x()</script><div>kept</div>") == "kept"


def test_text_becomes_one_escaped_paragraph_with_line_breaks():
    assert text_to_html("a < b\nnext") == "<p>a &lt; b<br>next</p>"
    assert text_to_html("   ") == ""


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), max_size=200))
def test_text_survives_the_round_trip_through_html(text):
    once = html_to_text(text_to_html(text))
    assert html_to_text(text_to_html(once)) == once  # stable after the first trip: no ping-pong


def test_a_long_body_is_cut_with_the_marker_and_never_exceeds_the_limit():
    value, cut = truncate("x" * 500, 100)
    assert cut and len(value) == 100 and value.endswith(TRUNCATED_MARKER)
    assert truncate("short", 20) == ("short", False)


def test_text_into_html_with_a_limit_cuts_the_text_not_the_markup():
    value, cut = fit_body("y" * 500, source_html=False, target_html=True, limit=200)
    assert cut and len(value) <= 200 and value.startswith("<p>") and value.endswith("</p>")
    assert TRUNCATED_MARKER.strip() in value


def test_html_into_text_is_converted_then_cut():
    value, cut = fit_body("<p>" + "z" * 3000 + "</p>", source_html=True, target_html=False, limit=2000)
    assert cut and len(value) == 2000 and "<p>" not in value
