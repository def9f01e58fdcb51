"""Password hashes in the formats that Kratos imports, made with standard libraries."""

from __future__ import annotations

import base64
import hashlib
import os

import argon2
import bcrypt


def _b64(raw: bytes, pad: bool = True) -> str:
    text = base64.b64encode(raw).decode()
    return text if pad else text.rstrip("=")


def bcrypt_hash(password: str, prefix: bytes = b"2a", rounds: int = 4) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds, prefix=prefix)).decode()


def argon2_hash(password: str, kind: argon2.Type = argon2.Type.ID) -> str:
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=kind)
    return hasher.hash(password)


def pbkdf2_hash(password: str, algorithm: str = "sha256", iterations: int = 1000) -> str:
    salt = os.urandom(16)
    length = 32
    digest = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt, iterations, length)
    return f"$pbkdf2-{algorithm}$i={iterations},l={length}${_b64(salt, False)}${_b64(digest, False)}"


def scrypt_hash(password: str, n: int = 1024, r: int = 8, p: int = 1) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"$scrypt$ln={n},r={r},p={p}${_b64(salt)}${_b64(digest)}"


def ssha_hash(password: str, algorithm: str = "sha1") -> str:
    salt = os.urandom(8)
    digest = hashlib.new(algorithm, password.encode() + salt).digest()
    label = {"sha1": "SSHA", "sha256": "SSHA256", "sha512": "SSHA512"}[algorithm]
    return "{" + label + "}" + _b64(digest + salt)


def md5_hash(password: str) -> str:
    return "$md5$" + _b64(hashlib.md5(password.encode()).digest())


FORMATS = {
    "bcrypt-2a": lambda pw: bcrypt_hash(pw, b"2a"),
    "bcrypt-2b": lambda pw: bcrypt_hash(pw, b"2b"),
    "argon2id": lambda pw: argon2_hash(pw, argon2.Type.ID),
    "argon2i": lambda pw: argon2_hash(pw, argon2.Type.I),
    "pbkdf2-sha256": lambda pw: pbkdf2_hash(pw, "sha256"),
    "pbkdf2-sha512": lambda pw: pbkdf2_hash(pw, "sha512"),
    "scrypt": scrypt_hash,
    "ssha": lambda pw: ssha_hash(pw, "sha1"),
    "ssha256": lambda pw: ssha_hash(pw, "sha256"),
    "ssha512": lambda pw: ssha_hash(pw, "sha512"),
    "md5": md5_hash,
}


def bcrypt_matches(password: str, hashed: str) -> bool:
    return bcrypt.checkpw(password.encode(), hashed.encode())
