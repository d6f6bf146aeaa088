"""The agent's TLS settings against a real Mosquitto with certificates this test makes."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sync.broker import Mosquitto


def _cert(subject: str, issuer_key, issuer_name, key, *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path) -> dict[str, Path]:
    """A chain CA, a broker certificate and one device certificate (CN = device id)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("store-edge test CA", ca_key, None, ca_key, ca=True)
    files = {}
    for name, cn, server in (("server", "localhost", True), ("device", "kiosk-1", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, ca_key, ca.subject, key, server=server)
        files[f"{name}_cert"] = folder / f"{name}.pem"
        files[f"{name}_key"] = folder / f"{name}.key"
        files[f"{name}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}_key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    files["ca"] = folder / "ca.pem"
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


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
