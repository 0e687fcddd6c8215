"""Check the Kafka credentials once, before starting clients that would retry them quietly.

kafka-python 3.0.12 never reports a refused SASL login: the broker answers the last
SaslAuthenticate request with SASL_AUTHENTICATION_FAILED and closes the connection, the
client's reader drops the answer that arrived with the close (kafka/net/transport.py,
`_sock_recv`), and its bootstrap loop retries until `bootstrap_timeout_ms` to raise
"Unable to bootstrap".  A wrong password would then look like a broker that is down, 30 s
later.  So the commands first authenticate once themselves, with the two SASL requests of
the Kafka protocol (SaslHandshake v1, SaslAuthenticate v1, both served since Kafka 2.2),
and stop at once, in one line, when the broker says no.  A TLS connection is checked the
same way (certificate, host name).  Standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import socket
import ssl
import struct
from collections.abc import Iterator
from typing import Final

from streams.infra.kafka_security import KafkaAuthError, KafkaSecurity, KafkaSecurityError

__all__ = ["ScramClient", "probe"]

SASL_HANDSHAKE: Final = 17
SASL_AUTHENTICATE: Final = 36
UNSUPPORTED_SASL_MECHANISM: Final = 33
ILLEGAL_SASL_STATE: Final = 34
SASL_AUTHENTICATION_FAILED: Final = 58
CLIENT_ID: Final = b"dossierwatch-probe"


class _Closed(Exception):
    """The broker closed the connection before answering."""


def probe(bootstrap: str, security: KafkaSecurity, timeout: float) -> None:
    """Authenticate against the first server of `bootstrap` that takes a TCP connection.

    Raises KafkaAuthError when the broker refuses the credentials or its certificate
    fails, KafkaSecurityError when the listener does not speak the configured protocol
    or mechanism.  Returns quietly when no server takes a connection or one answers too
    slowly: the client's own error says that better."""
    for host, port in _servers(bootstrap):
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError:
            continue
        # A broker that answers too slowly is left to the client, which waits longer.
        with sock, contextlib.suppress(TimeoutError):
            _session(sock, host, port, security)
        return


def _servers(bootstrap: str) -> Iterator[tuple[str, int]]:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit():
            yield host.strip("[]"), int(port)


def _session(sock: socket.socket, host: str, port: int, security: KafkaSecurity) -> None:
    where = f"{host}:{port}"
    conn = _tls(sock, host, where, security) if security.tls else sock
    if not security.sasl:
        conn.close()
        return
    channel = _Channel(conn)
    try:
        _handshake(channel, where, security)
        _authenticate(channel, where, security)
    except TimeoutError:
        raise
    except (_Closed, OSError, struct.error):
        # A closed connection or an answer that does not parse: another protocol there.
        raise KafkaSecurityError(
            f"Kafka at {where} broke off the SASL handshake: does that listener speak"
            f" {security.protocol}? (KAFKA_SECURITY_PROTOCOL)"
        ) from None
    finally:
        conn.close()


def _tls(sock: socket.socket, host: str, where: str, security: KafkaSecurity) -> socket.socket:
    context = security.ssl_context()
    if context is None:  # a TLS protocol always has one: a bug if not
        raise KafkaSecurityError(f"{where}: no TLS settings for a TLS protocol")
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as err:
        raise KafkaAuthError(
            f"the certificate of Kafka at {where} is not trusted: {err.verify_message}"
            " (KAFKA_SSL_CAFILE, KAFKA_SSL_CHECK_HOSTNAME)"
        ) from None
    except (ssl.SSLError, ConnectionError) as err:
        reason = getattr(err, "reason", None) or type(err).__name__
        raise KafkaSecurityError(
            f"TLS handshake with Kafka at {where} failed ({reason}): does that listener"
            f" speak {security.protocol}? (KAFKA_SECURITY_PROTOCOL)"
        ) from None


def _handshake(channel: _Channel, where: str, security: KafkaSecurity) -> None:
    reply = _Reader(channel.request(SASL_HANDSHAKE, 1, _string(security.mechanism)))
    code = reply.int16()
    offered = [reply.string() for _ in range(reply.int32())] if code in (0, 33) else []
    if code == UNSUPPORTED_SASL_MECHANISM:
        raise KafkaSecurityError(
            f"Kafka at {where} does not offer SASL {security.mechanism} (it offers"
            f" {', '.join(offered) or 'none'}; KAFKA_SASL_MECHANISM)"
        )
    if code == ILLEGAL_SASL_STATE:
        raise KafkaSecurityError(
            f"Kafka at {where} does not expect SASL: does that listener speak"
            f" {security.protocol}? (KAFKA_SECURITY_PROTOCOL)"
        )
    if code:
        raise KafkaSecurityError(f"Kafka at {where} refused the SASL handshake (error {code})")


def _authenticate(channel: _Channel, where: str, security: KafkaSecurity) -> None:
    username, password = security.username or "", security.password or ""
    if security.mechanism == "PLAIN":
        _exchange(channel, where, security, b"\0" + username.encode() + b"\0" + password.encode())
        return
    scram = ScramClient(security.mechanism, username, password)
    server_first = _exchange(channel, where, security, scram.first())
    try:
        final = scram.final(server_first)
    except ValueError as err:
        raise KafkaSecurityError(f"Kafka at {where} sent a bad SCRAM challenge: {err}") from None
    server_final = _exchange(channel, where, security, final)
    if not scram.verify(server_final):
        raise KafkaAuthError(
            f"Kafka at {where} could not prove it knows the credentials of"
            f" {username!r} (SCRAM server signature mismatch): not the expected broker"
        )


def _exchange(channel: _Channel, where: str, security: KafkaSecurity, token: bytes) -> bytes:
    reply = _Reader(channel.request(SASL_AUTHENTICATE, 1, _bytes(token)))
    code = reply.int16()
    message = reply.nullable_string()
    if code == SASL_AUTHENTICATION_FAILED:
        raise KafkaAuthError(
            f"Kafka refused the credentials for user {security.username!r} at {where}"
            f" (SASL {security.mechanism} authentication failed)"
        )
    if code:
        detail = f": {message}" if message else ""
        raise KafkaSecurityError(
            f"Kafka at {where} failed SASL authentication (error {code}{detail})"
        )
    return reply.bytes()


# -- the Kafka protocol, just enough for two requests ---------------------------------------


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _bytes(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


class _Channel:
    """Requests with header v1 and size-prefixed frames over a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.correlation = 0

    def request(self, api_key: int, version: int, body: bytes) -> bytes:
        """Send one request; its response's body (after the correlation id)."""
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation) + _string(
            CLIENT_ID.decode()
        )
        frame = header + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        (size,) = struct.unpack(">i", self._read(4))
        response = self._read(size)
        if struct.unpack(">i", response[:4])[0] != self.correlation:
            raise _Closed()
        return response[4:]

    def _read(self, n: int) -> bytes:
        chunks: list[bytes] = []
        while n:
            try:
                chunk = self.sock.recv(n)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise _Closed()
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return int(value)

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def _raw(self, n: int) -> bytes:
        data = self.data[self.at : self.at + n]
        self.at += n
        return data

    def string(self) -> str:
        return self._raw(self.int16()).decode(errors="replace")

    def nullable_string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self._raw(n).decode(errors="replace")

    def bytes(self) -> bytes:
        n = self.int32()
        return b"" if n < 0 else self._raw(n)


# -- SCRAM (RFC 5802), client side ----------------------------------------------------------


class ScramClient:
    """One SCRAM-SHA-256/512 exchange, without channel binding (as Kafka does it)."""

    def __init__(self, mechanism: str, username: str, password: str, nonce: str = "") -> None:
        self.hash = hashlib.sha512 if mechanism == "SCRAM-SHA-512" else hashlib.sha256
        self.password = password.encode()
        self.nonce = nonce or secrets.token_urlsafe(24)
        # RFC 5802 §5.1: "=" and "," in a user name are escaped.
        name = username.replace("=", "=3D").replace(",", "=2C")
        self.first_bare = f"n={name},r={self.nonce}"
        self.server_signature = b""

    def first(self) -> bytes:
        return f"n,,{self.first_bare}".encode()

    def final(self, server_first: bytes) -> bytes:
        """The client-final message answering `server_first`; ValueError if it is bad."""
        text = server_first.decode()
        fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        nonce, salt, iterations = fields.get("r", ""), fields.get("s", ""), fields.get("i", "")
        if not nonce.startswith(self.nonce) or not salt or not iterations.isdigit():
            raise ValueError(f"unexpected server-first message {text!r}")
        salted = hashlib.pbkdf2_hmac(
            self.hash().name, self.password, base64.b64decode(salt), int(iterations)
        )
        without_proof = f"c=biws,r={nonce}"
        auth = f"{self.first_bare},{text},{without_proof}".encode()
        client_key = self._hmac(salted, b"Client Key")
        signature = self._hmac(self.hash(client_key).digest(), auth)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify(self, server_final: bytes) -> bool:
        """Whether the server's final message proves it holds the credentials."""
        fields = dict(
            part.split("=", 1) for part in server_final.decode().split(",") if "=" in part
        )
        try:
            claimed = base64.b64decode(fields.get("v", ""), validate=True)
        except ValueError:
            return False
        return bool(self.server_signature) and hmac.compare_digest(claimed, self.server_signature)

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.hash).digest()


def check(security: KafkaSecurity, bootstrap: str, timeout: float = 10.0) -> None:
    """Authenticate once against the first broker of `bootstrap` that accepts a
    connection, and raise KafkaAuthError at once if it refuses: kafka-python would
    retry until its timeout and then report only that it could not bootstrap.
    Does nothing for PLAINTEXT, or when no broker answers (the client says so)."""
    if security.protocol == "PLAINTEXT":
        return
    probe(bootstrap, security, timeout)
