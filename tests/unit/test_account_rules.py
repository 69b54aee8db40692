"""Pure rules: member data, member status table, next-URL safety, settings parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.accounts import rules
from app.core.states import IllegalTransition, StateMachine
from app.models.members import ApplicationStatus, MemberStatus
from app.sellers.rules import APPLICATION_STATUS, application_errors
from app.settings import Settings, normalise_database_url


@pytest.mark.parametrize(
    "email, ok",
    [
        ("a@b.co", True),
        ("first.last+tag@sub.example.kr", True),
        ("", False),
        ("no-at-sign", False),
        ("two@@example.test", False),
        ("space in@example.test", False),
        ("x@nodot", False),
        ("x@" + "a" * 250 + ".test", False),
    ],
)
def test_email_validation(email: str, ok: bool) -> None:
    assert (rules.email_error(email) is None) is ok


def test_email_is_normalised_to_lower_case() -> None:
    assert rules.normalise_email("  Mixed@Example.TEST ") == "mixed@example.test"


def test_password_length_bounds() -> None:
    assert rules.password_error("kq7-vz2!m") is not None
    assert rules.password_error("kq7-vz2!mw") is None
    assert rules.password_error("kq7-vz2!mw" * 26) is not None


@pytest.mark.parametrize(
    "password, says",
    [
        ("jane.doe@example.kr", "email"),
        ("my-JANE.DOE@EXAMPLE.KR-pw", "email"),
        ("jane.doe-is-me-2026", "email"),  # the email's name part
        ("Hanbit Figures", "display name"),
        ("hanbitfigures-forever", "display name"),
        ("1234567890", "most common"),
        ("QwertyUiop", "most common"),
        ("  basketball ", "most common"),
    ],
)
def test_personal_and_common_passwords_are_refused_with_the_reason(password: str, says: str) -> None:
    error = rules.password_error(password, email="jane.doe@example.kr", display_name="Hanbit Figures")
    assert error is not None and says in error


def test_short_names_and_email_parts_do_not_refuse_passwords_that_contain_them() -> None:
    assert rules.password_error("bolt-of-tuesday-77", email="bo@example.kr", display_name="Bo") is None


def test_the_shipped_list_has_the_common_passwords() -> None:
    from app.accounts.common_passwords import common_passwords

    assert len(common_passwords()) >= 10_000
    assert {"password", "123456", "iloveyou", "qwertyuiop"} <= common_passwords()


def test_login_delay_grows_after_the_free_failures_up_to_its_maximum() -> None:
    delays = [rules.login_delay(n, free=3, base=1, maximum=10) for n in range(9)]
    assert delays == [0, 0, 0, 1, 2, 4, 8, 10, 10]
    assert rules.login_delay(10**9, free=3, base=1, maximum=10) == 10
    assert rules.login_delay(7, free=3, base=0, maximum=10) == 0


def test_display_name_rules() -> None:
    assert rules.display_name_error("한정판 수집가") is None
    assert rules.display_name_error("") is not None
    assert rules.display_name_error("x" * 61) is not None
    assert rules.display_name_error("bad\x00name") is not None
    assert rules.display_name_error("bad\x85name") is not None  # a C1 control
    assert rules.display_name_error("Smore Admin") is not None
    assert rules.display_name_error("Smore Admin", staff=True) is None


def test_signup_errors_collects_every_field() -> None:
    errors = rules.signup_errors("bad", "", "short", "short")
    assert set(errors) == {"email", "display_name", "password"}
    assert rules.signup_errors("a@b.co", "A", "long-enough-pw", "different-pw") == {
        "password_confirm": "The two passwords differ."
    }


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("/orders/3?x=1", "/orders/3?x=1"),
        (None, "/"),
        ("", "/"),
        ("https://evil.test/", "/"),
        ("//evil.test/", "/"),
        ("/\\evil.test", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
        ("relative/path", "/"),
    ],
)
def test_safe_next_url_only_allows_local_paths(raw: str | None, expected: str) -> None:
    assert rules.safe_next_url(raw) == expected


def test_member_status_table() -> None:
    table = rules.MEMBER_STATUS
    assert table.can(MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
    assert table.can(MemberStatus.SUSPENDED, MemberStatus.ACTIVE)
    assert table.can(MemberStatus.ACTIVE, MemberStatus.WITHDRAWN)
    assert table.is_terminal(MemberStatus.WITHDRAWN)
    with pytest.raises(IllegalTransition):
        table.check(MemberStatus.WITHDRAWN, MemberStatus.ACTIVE)
    with pytest.raises(IllegalTransition):
        table.check(MemberStatus.SUSPENDED, MemberStatus.SUSPENDED)


def test_application_status_table_and_fields() -> None:
    assert APPLICATION_STATUS.can(ApplicationStatus.PENDING, ApplicationStatus.APPROVED)
    assert APPLICATION_STATUS.is_terminal(ApplicationStatus.REJECTED)
    with pytest.raises(IllegalTransition):
        APPLICATION_STATUS.check(ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)
    assert application_errors("Shop", "010-1234", "We sell sneakers.") == {}
    errors = application_errors("", "ab", "x" * 2001)
    assert set(errors) == {"business_name", "contact", "description"}


def test_state_machine_reports_names() -> None:
    machine = StateMachine("demo", {MemberStatus.ACTIVE: {MemberStatus.SUSPENDED}})
    with pytest.raises(IllegalTransition, match="demo: suspended → active is not allowed"):
        machine.check(MemberStatus.SUSPENDED, MemberStatus.ACTIVE)


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_urls_from_hosting_platforms(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_settings_defaults_and_generated_secret(tmp_path: Path) -> None:
    env = {"SMORE_VAR_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path / 'smore.sqlite3'}"
    assert first.redis_url is None and first.in_process_worker and first.port == 8000
    assert len(first.secret_key) >= 32
    assert Settings.from_env(env).secret_key == first.secret_key  # kept under var/
    custom = Settings.from_env(
        {**env, "DATABASE_URL": "postgres://h/db", "REDIS_URL": "redis://r:6379/0", "PORT": "9000"}
    )
    assert custom.database_url == "postgresql+asyncpg://h/db"
    assert custom.secret_key == ""  # the one all hosts share, read from the database by create_app
    assert custom.redis_url == "redis://r:6379/0" and not custom.in_process_worker and custom.port == 9000


def test_trusted_proxies_and_login_limits_are_read_from_the_environment(tmp_path: Path) -> None:
    env = {
        "SMORE_VAR_DIR": str(tmp_path),
        "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 2001:db8::/32",
        "LOGIN_FAILURES_PER_PAIR": "7",
        "LOGIN_DELAY_SECONDS": "0.5",
    }
    settings = Settings.from_env(env)
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.7", "2001:db8::/32")
    assert (settings.login_failures_per_pair, settings.login_delay_seconds) == (7, 0.5)
    assert settings.login_slow_after == 3  # unset: the default
    assert Settings.from_env({"SMORE_VAR_DIR": str(tmp_path)}).trusted_proxies == ()
    with pytest.raises(ValueError, match=r"proxy\.internal"):
        Settings.from_env({"SMORE_VAR_DIR": str(tmp_path), "TRUSTED_PROXIES": "10.0.0.1,proxy.internal"})


def test_a_session_counts_only_at_the_members_current_generation():
    assert rules.session_current({1: 2}, 1, 2)
    assert not rules.session_current({1: 2}, 1, 1) and not rules.session_current({}, 1, 0)
    assert rules.session_current({}, 1, None)  # not a session (a service call): not checked
