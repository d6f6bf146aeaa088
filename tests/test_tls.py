"""The agent's TLS settings against a real Mosquitto with certificates this test makes."""

from __future__ import annotations

import dataclasses
import subprocess

from support import make_pki

from sync.broker import Mosquitto


def test_agent_connects_over_tls_with_a_client_certificate(tmp_path, device_config, start_agent, chain_key):
    pki = make_pki(tmp_path / "pki")
    options = (f"cafile {pki['ca']}\ncertfile {pki['server_cert']}\nkeyfile {pki['server_key']}\n"
               "require_certificate true\nuse_identity_as_username true")
    with Mosquitto(data_dir=tmp_path / "tls-broker", listener_options=options) as tls_broker:
        base = device_config()
        config = dataclasses.replace(base, broker=dataclasses.replace(
            base.broker, port=tls_broker.port, tls=True, ca_file=str(pki["ca"]),
            cert_file=str(pki["device_cert"]), key_file=str(pki["device_key"])))
        agent = start_agent(config)
        assert agent.connected.is_set()
        # A client without a certificate is refused by the same listener.
        refused = subprocess.run(["mosquitto_pub", "-p", str(tls_broker.port), "--cafile", str(pki["ca"]),
                                  "-t", "x", "-m", "y"], capture_output=True, text=True, timeout=10)
        assert refused.returncode != 0
        # The agent really publishes over it: its retained presence is there to read, over TLS.
        sub = subprocess.run(["mosquitto_sub", "-p", str(tls_broker.port), "--cafile", str(pki["ca"]),
                              "--cert", str(pki["device_cert"]), "--key", str(pki["device_key"]), "-i", "reader",
                              "-t", "se/v1/demo/presence/s001/kiosk-1", "-C", "1", "-W", "5"],
                             capture_output=True, text=True, timeout=10)
        assert '"state": "online"' in sub.stdout and agent.boot_id in sub.stdout
