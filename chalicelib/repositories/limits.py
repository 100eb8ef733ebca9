"""Limits in DynamoDB: windows of failed attempts, counters of codes sent, the one-time codes
themselves, and the claims that make the notifier send each message once."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain.accounts import Attempts
from chalicelib.domain.codes import MAX_TRIES, Allowance, IssuedCode
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.models import AttemptsModel, CodeModel, CounterModel
from chalicelib.repositories.base import cancelled_items, conditional_failed, update_returning_nothing

# Records of attempts outlive their window by this much before TTL removes them.
_KEEP = timedelta(days=2)


class LimitRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # --- windows of failed attempts ------------------------------------------------------------

    def attempts(self, key: str) -> Attempts:
        try:
            m = AttemptsModel.get(key, consistent_read=True)
        except DoesNotExist:
            return Attempts()
        return Attempts(failures=int(m.failures or 0), window_start=m.window_start, locked_until=m.locked_until)

    def save_attempts(self, key: str, before: Attempts, after: Attempts) -> None:
        """Write `after` only if the record is still `before`; ConcurrentUpdate otherwise, so
        that concurrent failures are all counted."""
        model, unchanged = attempts_item(key, before, after)
        try:
            model.save(condition=unchanged)
        except PutError as e:
            if conditional_failed(e):
                raise ConcurrentUpdate() from e
            raise

    # --- counters ------------------------------------------------------------------------------

    def take(self, allowances: list[Allowance], now: datetime,
             code: tuple[str, IssuedCode] | None = None) -> Allowance | None:
        """Take one unit of every allowance, all or none, and store `code` (key, code) with them,
        replacing (voiding) the one before; the first allowance that had none left (and then
        nothing is written), or None."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                if code is not None:
                    tx.save(_code_model(*code))
                for a in allowances:
                    if a.gap is not None:
                        tx.update(CounterModel(a.key), actions=[CounterModel.last_at.set(now),
                                                                CounterModel.expires_at.set(a.expires_at)],
                                  condition=CounterModel.last_at.does_not_exist()
                                  | (CounterModel.last_at <= now - a.gap))
                    else:
                        tx.update(CounterModel(a.key), actions=[CounterModel.hits.add(1),
                                                                CounterModel.expires_at.set(a.expires_at)],
                                  condition=CounterModel.hits.does_not_exist() | (CounterModel.hits < a.limit))
        except TransactWriteError as e:
            failed = cancelled_items(e)[1 if code is not None else 0:]
            for allowance, refused in zip(allowances, failed, strict=False):
                if refused:
                    return allowance
            raise ConcurrentUpdate() from e  # a conflict with a concurrent transaction: nothing was written
        return None

    def last_at(self, key: str) -> datetime | None:
        try:
            return CounterModel.get(key, consistent_read=True).last_at
        except DoesNotExist:
            return None

    def count(self, key: str, limit: int, expires_at: datetime) -> bool:
        """One more in the fixed window `key` names, if fewer than `limit` were counted."""
        try:
            update_returning_nothing(CounterModel, key, actions=[CounterModel.hits.add(1),
                                                                 CounterModel.expires_at.set(expires_at)],
                                     condition=CounterModel.hits.does_not_exist() | (CounterModel.hits < limit))
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    # --- one-time codes ------------------------------------------------------------------------

    def code(self, key: str) -> IssuedCode | None:
        try:
            m = CodeModel.get(key, consistent_read=True)
        except DoesNotExist:
            return None
        return IssuedCode(code_hash=m.code_hash, destination=m.destination, tries=int(m.tries or 0),
                          expires_at=m.valid_until)

    def try_code(self, key: str, code_hash: str) -> bool:
        """Take one of the code's tries, for the code stored now (not one that replaced it
        meanwhile); False when it has none left."""
        try:
            update_returning_nothing(CodeModel, key, actions=[CodeModel.tries.add(1)],
                                     condition=(CodeModel.code_hash == code_hash) & (CodeModel.tries < MAX_TRIES))
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def use_code(self, key: str, code_hash: str) -> bool:
        """Take the code away; True for exactly one of any number of concurrent callers."""
        try:
            CodeModel(key).delete(condition=CodeModel.code_hash == code_hash)
        except DeleteError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    # --- sending each message once -------------------------------------------------------------

    def claim_message(self, message_id: str, expires_at: datetime) -> bool:
        """False if this message was claimed (sent) before."""
        try:
            CounterModel(f"message#{message_id}", hits=1, expires_at=expires_at).save(
                condition=CounterModel.key.does_not_exist())
        except PutError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def release_message(self, message_id: str) -> None:
        CounterModel(f"message#{message_id}").delete()


def _code_model(key: str, code: IssuedCode) -> CodeModel:
    return CodeModel(key, code_hash=code.code_hash, destination=code.destination, tries=0,
                     valid_until=code.expires_at, expires_at=code.expires_at + _KEEP)


def attempts_item(key: str, before: Attempts, after: Attempts) -> tuple[AttemptsModel, Condition]:
    """The record of `after`, and the condition that the stored one is still `before`."""
    if before.window_start is None and not before.failures:  # none stored, or all taken back
        unchanged = AttemptsModel.key.does_not_exist() | (
            (AttemptsModel.failures == 0) & AttemptsModel.window_start.does_not_exist())
    else:
        unchanged = (AttemptsModel.failures == before.failures) & (AttemptsModel.window_start == before.window_start)
    # Kept past the last moment either state speaks of (one of the two always has a window).
    latest = max(t for a in (before, after) for t in (a.window_start, a.locked_until) if t is not None)
    model = AttemptsModel(key, failures=after.failures, window_start=after.window_start,
                          locked_until=after.locked_until, expires_at=latest + _KEEP)
    return model, unchanged
