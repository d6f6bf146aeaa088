"""Key rotation end to end at the device (docs/security.md): trust the new key, switch signing, retire the old.

A real agent, broker and head office; the device's trusted keys are its configuration, so each step is
a configuration change and a restart of the agent, as on a real device.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from support import sample_content, wait_for

from decisions.identity import qr
from sync.agent import SyncAgent
from sync.protocol import signing


def test_rotation_new_key_first_then_signing_then_retirement(tmp_path, device_config, responder, chain_key, sync_log,
                                                             clock):
    old_key, new_key = chain_key, signing.generate_private_key()
    keys = tmp_path / "keys"
    (keys / "new.pub").write_bytes(signing.public_key_pem(new_key.public_key()))
    old_pub, new_pub = str(keys / "chain.pub"), str(keys / "new.pub")  # device_config wrote chain.pub
    base = device_config()

    def device(*trusted: str) -> SyncAgent:
        config = dataclasses.replace(base, sync=dataclasses.replace(base.sync, trusted_keys=trusted))
        agent = SyncAgent(config, clock=clock).start()
        wait_for(agent.connected.is_set, what="agent connected")
        return agent

    def publish(key, price: int) -> int:
        responder.key = key
        return responder.publish_bundle("chain", sample_content(2, price=price))["version"]

    def outcome(agent: SyncAgent, version: int) -> str:
        def seen() -> str | None:
            if agent.reader.sync_state().get("chain", {}).get("version") == version:
                return "applied"
            rejected = [r.getMessage() for r in sync_log.records
                        if "bundle rejected" in r.getMessage() and f"version={version}" in r.getMessage()]
            return rejected[0] if rejected else None
        return wait_for(seen, what=f"version {version} applied or rejected")

    agent = device(old_pub)
    try:
        assert outcome(agent, publish(old_key, 100)) == "applied"
        # Signing with a key the device does not know yet is refused: this is why the key ships first.
        early = outcome(agent, publish(new_key, 101))
        assert f"signed with unknown key {signing.key_id(new_key.public_key())}" in early
    finally:
        agent.stop()

    # Step 1: the new public key is added to every device's trusted keys; both keys are good.
    agent = device(old_pub, new_pub)
    try:
        assert outcome(agent, publish(old_key, 102)) == "applied"
        # Step 2: head office signs with the new key only.
        assert outcome(agent, publish(new_key, 103)) == "applied"
    finally:
        agent.stop()

    # Step 3: the old key is retired from the devices; what it signs is refused, the new key goes on.
    agent = device(new_pub)
    try:
        late = outcome(agent, publish(old_key, 104))
        assert f"signed with unknown key {signing.key_id(old_key.public_key())}" in late
        assert agent.reader.price("SKU00001")["price_cents"] == 104  # the last good content stays (103 + 1)
        assert outcome(agent, publish(new_key, 105)) == "applied"
    finally:
        agent.stop()


def test_qr_tokens_follow_the_same_trusted_keys():
    old_key, new_key = signing.generate_private_key(), signing.generate_private_key()
    now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC).timestamp()  # any fixed moment: the tokens are minted for it
    old_token = qr.issue_token(old_key, "p-1", now=now, ttl_s=600)
    new_token = qr.issue_token(new_key, "p-1", now=now, ttl_s=600)
    during = signing.TrustedKeys([old_key.public_key(), new_key.public_key()])
    after = signing.TrustedKeys([new_key.public_key()])
    assert qr.verify_token(old_token, during, now=now).ok and qr.verify_token(new_token, during, now=now).ok
    assert qr.verify_token(new_token, after, now=now).ok
    assert not qr.verify_token(old_token, after, now=now).ok
