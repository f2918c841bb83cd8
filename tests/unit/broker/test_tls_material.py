"""The CA and server certificate Bastion makes for its TLS listeners, and their reuse."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from bastion.broker.tls import load_or_create


def test_generated_ca_signs_a_certificate_for_local_names(tmp_path: Path) -> None:
    material = load_or_create(tmp_path, "127.0.0.1")
    assert material.ca_file == tmp_path / "tls" / "ca.pem"
    assert (tmp_path / "tls" / "ca.key").stat().st_mode & 0o077 == 0
    assert material.key_file.stat().st_mode & 0o077 == 0
    cert = x509.load_pem_x509_certificate(material.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    # Reused on the next start, and re-issued when a new listen address needs a name.
    again = load_or_create(tmp_path, "127.0.0.1")
    assert again.cert_file.read_bytes() == material.cert_file.read_bytes()
    renamed = load_or_create(tmp_path, "bastion.example")
    cert = x509.load_pem_x509_certificate(renamed.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "bastion.example" in names.get_values_for_type(x509.DNSName)
    assert renamed.ca_file is not None and renamed.ca_file.read_bytes() == material.ca_file.read_bytes()  # type: ignore[union-attr]


def test_a_client_verifies_the_server_with_the_ca(tmp_path: Path) -> None:
    material = load_or_create(tmp_path, "127.0.0.1")
    server_context = material.server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with server_context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"hello")

    thread = threading.Thread(target=serve)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(material.ca_file))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.recv(5) == b"hello"
    thread.join(5)
    listener.close()


def test_operator_certificate_needs_both_parts(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_or_create(tmp_path, "127.0.0.1", cert=tmp_path / "c.pem")
