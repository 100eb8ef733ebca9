"""The holder's page and the verifier's page (being written)."""

from __future__ import annotations

from chalice.app import Blueprint

bp = Blueprint(__name__)
