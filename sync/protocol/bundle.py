"""Bundle manifests: build, sign, parse and verify.

A manifest is one JSON object, published retained on ``bundle/{scope}``::

    {"kind": "store-edge/bundle", "format": 1, "chain": "demo", "scope": "store/s001",
     "version": 7, "mode": "snapshot", "sha256": "<hex>", "size": 1234,
     "key_id": "<16 hex>", "signature": "<base64 Ed25519>",
     "content": "<base64 of the content bytes>"}        # or "url": "http://..."

The signature covers chain, scope, version, mode, sha256 and size, so it binds the
content (through its sha256) and cannot be replayed onto another scope or version.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
from dataclasses import dataclass

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing
from .content import SHA256_RE
from .topics import is_valid_scope

KIND = "store-edge/bundle"
FORMAT = 1
MODES = ("snapshot", "delta")
MAX_INLINE_BYTES = 256 * 1024


class BundleRejected(ValueError):
    """A bundle that must not be applied. ``reason`` is one short phrase for the log."""

    def __init__(self, reason: str, scope: str = "?", version: object = "?"):
        super().__init__(reason)
        self.reason = reason
        self.scope = scope
        self.version = version

    def __str__(self) -> str:
        return f"bundle rejected: scope={self.scope} version={self.version} reason={self.reason}"


@dataclass(frozen=True)
class Manifest:
    chain: str
    scope: str
    version: int
    mode: str
    sha256: str
    size: int
    key_id: str
    signature: str
    content_b64: str | None = None
    url: str | None = None

    def signed_message(self) -> bytes:
        return signed_message(self.chain, self.scope, self.version, self.mode, self.sha256, self.size)


def signed_message(chain: str, scope: str, version: int, mode: str, sha256: str, size: int) -> bytes:
    return f"{KIND}/{FORMAT}\n{chain}\n{scope}\n{version}\n{mode}\n{sha256}\n{size}".encode()


def encode_content(content: dict) -> bytes:
    """Canonical bytes of a bundle body: sorted keys, compact UTF-8, gzip with a fixed mtime."""
    return gzip.compress(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), compresslevel=6, mtime=0)


def decode_content(data: bytes) -> object:
    try:
        return orjson.loads(gzip.decompress(data))
    except (OSError, EOFError, ValueError) as exc:
        raise BundleRejected(f"content is not gzip JSON ({exc.__class__.__name__})") from None


def build_manifest(
    *,
    chain: str,
    scope: str,
    version: int,
    content: dict,
    key: Ed25519PrivateKey,
    mode: str = "snapshot",
    url: str | None = None,
) -> tuple[dict, bytes]:
    """Sign ``content`` for ``scope``. Returns (manifest, content bytes).

    With ``url`` the bytes must be served there; without it they travel inline.
    """
    data = encode_content(content)
    digest = hashlib.sha256(data).hexdigest()
    manifest = {
        "kind": KIND,
        "format": FORMAT,
        "chain": chain,
        "scope": scope,
        "version": version,
        "mode": mode,
        "sha256": digest,
        "size": len(data),
        "key_id": signing.key_id(key.public_key()),
        "signature": signing.sign(key, signed_message(chain, scope, version, mode, digest, len(data))),
    }
    if url:
        manifest["url"] = url
    else:
        if len(data) > MAX_INLINE_BYTES:
            raise ValueError(f"content is {len(data)} bytes; above {MAX_INLINE_BYTES} it must go by URL")
        manifest["content"] = base64.b64encode(data).decode("ascii")
    return manifest, data


def parse_manifest(raw: bytes, *, chain: str, scope: str) -> Manifest:
    """Parse the bytes of a manifest received on ``bundle/{scope}``; raise BundleRejected if malformed."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BundleRejected("manifest is not JSON", scope) from None
    if not isinstance(doc, dict):
        raise BundleRejected("manifest is not a JSON object", scope)
    version = doc.get("version", "?")
    if doc.get("kind") != KIND or type(doc.get("format")) is not int or doc["format"] != FORMAT:
        raise BundleRejected("not a store-edge bundle manifest of format 1", scope, version)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleRejected("version must be a positive integer", scope, version)
    if doc.get("chain") != chain:
        raise BundleRejected(f"manifest is for chain {doc.get('chain')!r}", scope, version)
    if doc.get("scope") != scope or not is_valid_scope(scope):
        raise BundleRejected(f"manifest names scope {doc.get('scope')!r} on this topic", scope, version)
    mode = doc.get("mode", "snapshot")
    if mode not in MODES:
        raise BundleRejected(f"unknown mode {mode!r}", scope, version)
    sha, size = doc.get("sha256"), doc.get("size")
    if not isinstance(sha, str) or not SHA256_RE.match(sha):
        raise BundleRejected("sha256 missing or malformed", scope, version)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BundleRejected("size missing or malformed", scope, version)
    kid, sig = doc.get("key_id"), doc.get("signature")
    if not isinstance(kid, str) or not isinstance(sig, str) or not sig:
        raise BundleRejected("unsigned", scope, version)
    content, url = doc.get("content"), doc.get("url")
    if (content is None) == (url is None):
        raise BundleRejected("needs exactly one of inline content or url", scope, version)
    if content is not None and not isinstance(content, str):
        raise BundleRejected("inline content must be base64 text", scope, version)
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise BundleRejected("url must be http(s)", scope, version)
    return Manifest(chain, scope, version, mode, sha, size, kid, sig, content, url)


def verify_signature(manifest: Manifest, keys: signing.TrustedKeys) -> None:
    if manifest.key_id not in keys:
        raise BundleRejected(f"signed with unknown key {manifest.key_id}", manifest.scope, manifest.version)
    if not keys.verify(manifest.key_id, manifest.signature, manifest.signed_message()):
        raise BundleRejected("bad signature", manifest.scope, manifest.version)


def inline_content(manifest: Manifest) -> bytes:
    try:
        return base64.b64decode(manifest.content_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise BundleRejected("inline content is not base64", manifest.scope, manifest.version) from None


def verify_content(manifest: Manifest, data: bytes) -> None:
    if len(data) != manifest.size or hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise BundleRejected("sha256 mismatch", manifest.scope, manifest.version)
