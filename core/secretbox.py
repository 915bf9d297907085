"""Secrets Sanmai must give back in clear (a directory's bind password), stored encrypted.

Fernet (AES-128-CBC with an HMAC-SHA256, from `cryptography`) under a key from the
environment: `SANMAI_SECRET_BOX_KEY` (a Fernet key), or, when that is unset, a key derived
from `SECRET_KEY` with HKDF. A database dump alone therefore never reveals the secret. A
changed key makes the stored values unreadable (`SecretBoxError`): they must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretBoxError(ValueError):
    """The value cannot be decrypted with the configured key."""


def _fernet() -> Fernet:
    key = current_app.config.get("SANMAI_SECRET_BOX_KEY")
    if key:
        return Fernet(key)
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sanmai secret box"
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode("ascii")


def open_sealed(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretBoxError(
            "a stored secret cannot be decrypted: SANMAI_SECRET_BOX_KEY or SECRET_KEY changed"
        ) from error
