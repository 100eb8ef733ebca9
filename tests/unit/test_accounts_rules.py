"""The login lockout and the notice's version, with time pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.content import current_notice, notice_from_text
from chalicelib.domain.accounts import LoginGuard

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_the_fifth_wrong_password_within_fifteen_minutes_locks_for_fifteen_minutes() -> None:
    guard = LoginGuard()
    for minute in range(4):
        guard = guard.after_failure(NOW + timedelta(minutes=minute * 3))
        assert guard.retry_after(NOW + timedelta(minutes=minute * 3)) is None
    locked_at = NOW + timedelta(minutes=14)
    guard = guard.after_failure(locked_at)
    assert guard.retry_after(locked_at) == 900
    assert guard.retry_after(locked_at + timedelta(minutes=15)) is None


def test_failures_older_than_the_window_start_a_new_count() -> None:
    guard = LoginGuard()
    for _ in range(4):
        guard = guard.after_failure(NOW)
    guard = guard.after_failure(NOW + timedelta(minutes=15, seconds=1))
    assert guard.failures == 1 and guard.retry_after(NOW + timedelta(minutes=16)) is None


def test_the_notice_version_follows_its_content() -> None:
    a = notice_from_text("# 服务须知\n\n第一条。")
    assert a.title == "服务须知" and a.body == "第一条。"
    assert notice_from_text("# 服务须知\r\n\r\n第一条。").version == a.version
    assert notice_from_text("# 服务须知\n\n第一条有改动。").version != a.version


def test_the_shipped_notice_has_a_title_a_body_and_a_version() -> None:
    notice = current_notice()
    assert notice.title == "服务须知" and len(notice.body) > 100 and len(notice.version) == 12
