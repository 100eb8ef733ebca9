"""The rotation function of TokenSigningKey: a pure Lambda function (`TokenKeyRotation` in the
packaged template) that Secrets Manager invokes once per rotation step.

Its template side (the schedule, Secrets Manager's permission to invoke it and its own role) is
in `infra/`; what it needs is listed in the README ("Secrets"). Every function imports this
module through app.py, so the service is imported inside the handler.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import deps
from chalicelib.config import get_settings
from chalicelib.observability import observed

bp = Blueprint(__name__)


@bp.lambda_function(name="token_key_rotation")
@observed
def token_key_rotation(event: dict[str, Any], context: Any) -> dict[str, str]:
    from chalicelib.services import key_rotation

    done = key_rotation.rotate(event["Step"], event["SecretId"], event["ClientRequestToken"],
                               secrets=deps.secret_store(), only=get_settings().token_key_secret_id)
    return {"step": event["Step"], "result": done}
