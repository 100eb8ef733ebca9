"""Write sharding of the sparse indexes whose key would otherwise have a handful of values
(README, "Keys at national scale"): the annotations waiting for their copy (`by_pending`), the
copies expiring on one day (`by_expiry_day`) and the certificates whose holder has not been
told (`by_announce`). Each item's key value carries one of N shards, chosen from a hash of an ID
that every writer of the item knows; the readers query the N values in parallel.

N (the setting INDEX_SHARDS) may grow but must never shrink while items are indexed: a
reader asks for shards 0 … N-1 only, and an item in a higher shard would be missed.
"""

from __future__ import annotations

import hashlib
from datetime import date


def shard_of(item_id: str, shards: int) -> int:
    """The shard of the item `item_id` names: stable, evenly spread, the same in every writer."""
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:4], "big") % shards


def pending_key(annotation_id: str, shards: int) -> str:
    return str(shard_of(annotation_id, shards))


def expiry_key(day: date, annotation_id: str, shards: int) -> str:
    return f"{day.isoformat()}#{shard_of(annotation_id, shards)}"


def expiry_keys(day: date, shards: int) -> list[str]:
    return [f"{day.isoformat()}#{s}" for s in range(shards)]


def announce_key(holder_key: str, shards: int) -> str:
    """By the holder, so that each holder's certificates lie in one shard, in holder order."""
    return str(shard_of(holder_key, shards))


def every_shard(shards: int) -> list[str]:
    """The key values of `pending_key` and `announce_key`."""
    return [str(s) for s in range(shards)]
