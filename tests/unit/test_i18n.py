"""Languages and time zones: how the viewer's language is chosen, how times are shown and read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core import i18n
from app.core.labels import LABELS, label
from app.web.locale import accepted_language, browser_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("ko", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,ko;q=0.5", "ko"),
        ("en;q=0.2,ko;q=0.8", "ko"),
        ("ko;q=0", None),
        ("fr", None),
        ("", None),
        ("ko;q=abc,en", "en"),
        ("*", None),
    ],
)
def test_accept_language_picks_the_preferred_supported_language(header: str, language: str | None) -> None:
    assert accepted_language(header) == language


def _scope(**headers: str) -> dict[str, object]:
    return {"type": "http", "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


def test_the_cookie_beats_accept_language_and_nothing_means_english() -> None:
    assert browser_language(_scope(cookie="lang=en", accept_language="ko")) == "en"  # type: ignore[arg-type]
    assert browser_language(_scope(cookie="a=1; lang=ko", accept_language="en")) == "ko"  # type: ignore[arg-type]
    assert browser_language(_scope(cookie="lang=xx", accept_language="ko")) == "ko"  # type: ignore[arg-type]
    assert browser_language(_scope(cookie='lang="unterminated', accept_language="ko")) == "ko"  # type: ignore[arg-type]
    assert browser_language(_scope()) == "en"  # type: ignore[arg-type]


MOMENT = datetime(2026, 12, 2, 6, 5, tzinfo=UTC)  # 15:05 in Seoul, a Wednesday


def test_times_show_in_the_viewer_zone_with_its_name() -> None:
    with i18n.using("ko", "Asia/Seoul"):
        assert i18n.format_datetime(MOMENT) == "2026년 12월 2일 (수) 오후 3:05 KST"
    with i18n.using("en", "Asia/Seoul"):
        assert i18n.format_datetime(MOMENT) == "Wed 2 Dec 2026, 3:05 PM KST"
        assert i18n.format_datetime(MOMENT, "date") == "Wed 2 Dec 2026 KST"
    with i18n.using("en", "America/New_York"):
        assert i18n.format_datetime(MOMENT) == "Wed 2 Dec 2026, 1:05 AM EST"
    with i18n.using("en", "Asia/Dubai"):  # a zone without an abbreviation
        assert i18n.format_datetime(MOMENT).endswith("10:05 AM UTC+04")
    with i18n.using("en", "UTC"):
        assert i18n.format_datetime(MOMENT.replace(tzinfo=None)) == "Wed 2 Dec 2026, 6:05 AM UTC"
    assert i18n.format_datetime(None) == ""


def test_a_form_time_is_read_in_the_viewer_zone() -> None:
    with i18n.using("ko", "Asia/Seoul"):
        assert i18n.parse_local("2026-12-02T15:05") == MOMENT
        assert i18n.input_value(MOMENT) == "2026-12-02T15:05"
    with i18n.using("en", "America/New_York"):
        assert i18n.parse_local("2026-12-02T01:05") == MOMENT
        # 02:30 on 8 March 2026 does not exist in New York (the clocks jump from 2:00 to 3:00)
        assert i18n.parse_local("2026-03-08T02:30") == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        i18n.parse_local("tomorrow")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.sampled_from(i18n.COMMON_ZONES))
def test_showing_then_reading_a_time_gives_it_back(moment: datetime, zone: str) -> None:
    moment = moment.replace(second=0, microsecond=0, tzinfo=UTC)
    with i18n.using("en", zone):
        back = i18n.parse_local(i18n.input_value(moment))
    # an hour the clocks repeat (DST ends) reads as its first pass: never off by more than that
    assert abs(back - moment) in (timedelta(0), timedelta(hours=1))


def test_remaining_time_reads_as_people_say_it() -> None:
    with i18n.using("en"):
        assert i18n.format_remaining(timedelta(days=2, hours=3)) == "2 days 3 hours"
        assert i18n.format_remaining(timedelta(days=1)) == "1 day"
        assert i18n.format_remaining(timedelta(minutes=8, seconds=12)) == "8:12"
        assert i18n.format_remaining(timedelta(hours=1, minutes=2, seconds=3)) == "1:02:03"
        assert i18n.format_remaining(timedelta(seconds=-1)) == "ended"
    with i18n.using("ko"):
        assert i18n.format_remaining(timedelta(days=2, hours=3)) == "2일 3시간"
        assert i18n.format_remaining(timedelta(0)) == "종료"


def test_a_lazy_message_speaks_the_language_current_when_shown() -> None:
    message = i18n.Msg("Sold out")
    with i18n.using("ko"):
        assert str(message) == "품절"
        assert message.__html__() == "품절"
    with i18n.using("en"):
        assert str(message) == "Sold out"
        assert message == "Sold out"


def test_every_state_has_words_in_both_languages() -> None:
    with i18n.using("ko"):
        assert label("partially_cancelled", "payment") == "부분 취소"
        assert label("held", "right") == "결제 대기"
        for kind, words in LABELS.items():
            for value, message in words.items():
                assert str(message) != message.message or message.message in {"Smore"}, (kind, value)
    assert label("something_new", "order") == "something_new"
    assert label(None, "order") == ""
