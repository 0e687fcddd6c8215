"""Kafka security settings: the file, the environment over it, one-line errors, and the
keyword arguments kafka-python and Faust are given."""

from __future__ import annotations

import argparse
import base64
import socket
import ssl
import struct
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.infra.kafka_probe import ScramClient, probe
from streams.infra.kafka_security import (
    ENV,
    KafkaAuthError,
    KafkaSecurity,
    KafkaSecurityError,
    add_kafka_config_option,
)
from streams.worker.settings import WorkerSettings, faust_credentials

SASL_ENV = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_USERNAME": "alice",
    "KAFKA_SASL_PASSWORD": "s3cret",
}


@pytest.fixture
def cafile() -> str:
    """A real PEM bundle of CA certificates (certifi's)."""
    certifi = pytest.importorskip("certifi")
    return str(certifi.where())


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def error(path: Path | None = None, /, **env: str) -> str:
    """The one-line message of the KafkaSecurityError that loading raises."""
    with pytest.raises(KafkaSecurityError) as caught:
        KafkaSecurity.load(path, env)
    text = str(caught.value)
    assert "\n" not in text
    return text


# -- defaults and the sources ------------------------------------------------------------


def test_nothing_configured_is_plaintext_and_changes_no_client() -> None:
    """Without a file or variables the clients get no extra arguments at all."""
    s = KafkaSecurity.load(None, {})
    assert s.protocol == "PLAINTEXT"
    assert s.kafka_kwargs() == {}
    assert faust_credentials(s) == {}


def test_sasl_from_the_environment_gives_kafka_python_its_arguments() -> None:
    """SASL_PLAINTEXT with SCRAM-SHA-512 by default: the kafka-python argument names."""
    s = KafkaSecurity.load(None, SASL_ENV)
    assert s.kafka_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alice",
        "sasl_plain_password": "s3cret",
    }


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    """Each variable replaces its key of the file; the rest of the file stays."""
    config = write(
        tmp_path / "kafka.toml",
        'security_protocol = "SASL_PLAINTEXT"\nsasl_mechanism = "SCRAM-SHA-256"\n'
        'sasl_username = "from-file"\nsasl_password = "file-pw"\n',
    )
    s = KafkaSecurity.load(config, {"KAFKA_SASL_USERNAME": "from-env"})
    assert (s.mechanism, s.username, s.password) == ("SCRAM-SHA-256", "from-env", "file-pw")


def test_a_password_from_the_environment_replaces_the_files_password_file(
    tmp_path: Path,
) -> None:
    """KAFKA_SASL_PASSWORD wins over the file's sasl_password_file (no 'both' error)."""
    write(tmp_path / "pw", "file-pw\n")
    config = write(
        tmp_path / "kafka.toml",
        'security_protocol = "SASL_SSL"\nsasl_username = "bob"\nsasl_password_file = "pw"\n',
    )
    assert KafkaSecurity.load(config, {"KAFKA_SASL_PASSWORD": "env-pw"}).password == "env-pw"


def test_the_config_file_is_found_through_kafka_config_file(tmp_path: Path) -> None:
    """Without a path argument, $KAFKA_CONFIG_FILE names the file."""
    config = write(tmp_path / "k.toml", 'security_protocol = "SSL"\n')
    assert KafkaSecurity.load(None, {"KAFKA_CONFIG_FILE": str(config)}).protocol == "SSL"


def test_a_password_file_gives_its_first_line_relative_to_the_config(tmp_path: Path) -> None:
    """A Docker secret ends with a newline, which is not part of the password; a relative
    path is read from the config file's directory."""
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets" / "kafka", " pass word \n")
    config = write(
        tmp_path / "kafka.toml",
        'security_protocol = "SASL_PLAINTEXT"\nsasl_username = "u"\n'
        'sasl_password_file = "secrets/kafka"\n',
    )
    assert KafkaSecurity.load(config, {}).password == " pass word "


def test_values_are_case_insensitive_and_empty_variables_are_unset() -> None:
    """`sasl_ssl` is SASL_SSL; an empty variable (a compose default) counts as unset."""
    env = {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "KAFKA_SASL_MECHANISM": ""}
    s = KafkaSecurity.load(None, env)
    assert (s.protocol, s.mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")


def test_the_password_stays_out_of_repr() -> None:
    """Settings end up in logs and tracebacks: the password must not."""
    assert "s3cret" not in repr(KafkaSecurity.load(None, SASL_ENV))


# -- one-line errors -----------------------------------------------------------------------


def test_sasl_without_a_user_name_names_the_variable() -> None:
    """A SASL protocol needs a user name, and the message says where to set it."""
    assert "needs a user name: set KAFKA_SASL_USERNAME" in error(KAFKA_SECURITY_PROTOCOL="SASL_SSL")


def test_sasl_without_a_password_names_both_ways_to_give_it() -> None:
    """The password may come inline or from a file: the message offers both."""
    msg = error(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_USERNAME="u")
    assert "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE" in msg


def test_an_unknown_protocol_lists_the_known_ones() -> None:
    """A typo in the protocol is refused with the four valid values."""
    msg = error(KAFKA_SECURITY_PROTOCOL="SASL_TLS")
    assert msg == (
        "KAFKA_SECURITY_PROTOCOL: unknown value 'SASL_TLS'"
        " (one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"
    )


def test_an_unknown_mechanism_is_refused() -> None:
    """Only the SCRAM mechanisms and PLAIN are supported."""
    assert "KAFKA_SASL_MECHANISM: unknown value 'GSSAPI'" in error(
        **SASL_ENV, KAFKA_SASL_MECHANISM="GSSAPI"
    )


def test_an_unreadable_ca_file_is_an_error_at_load_time(tmp_path: Path) -> None:
    """A missing CA file is found when the settings load, not on every reconnection."""
    missing = tmp_path / "nope.pem"
    assert error(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=str(missing)) == (
        f"KAFKA_SSL_CAFILE: cannot read {missing}: No such file or directory"
    )


def test_a_ca_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    """A readable file that holds no certificate is named with the key that gave it."""
    config = write(tmp_path / "k.toml", 'security_protocol = "SSL"\nssl_cafile = "ca.pem"\n')
    write(tmp_path / "ca.pem", "not a certificate\n")
    assert f"{config}: ssl_cafile: {tmp_path / 'ca.pem'} holds no PEM CA certificate" in error(
        config
    )


def test_a_client_certificate_that_does_not_load_is_refused(tmp_path: Path, cafile: str) -> None:
    """A certificate file that is not a certificate and key: one line, no prompt."""
    bad = write(tmp_path / "client.pem", "junk\n")
    msg = error(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=cafile, KAFKA_SSL_CERTFILE=str(bad))
    assert msg.startswith("KAFKA_SSL_CERTFILE: cannot load the client certificate")


def test_a_key_without_a_certificate_is_refused(tmp_path: Path) -> None:
    """A private key alone cannot authenticate."""
    key = write(tmp_path / "client.key", "key\n")
    msg = error(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_KEYFILE=str(key))
    assert msg == "KAFKA_SSL_KEYFILE is set without a certificate"


def test_credentials_with_plaintext_are_refused() -> None:
    """A user name without a SASL protocol would connect unauthenticated: an error."""
    assert error(KAFKA_SASL_USERNAME="alice") == (
        "KAFKA_SASL_USERNAME is set but the security protocol is PLAINTEXT, which does not"
        " use it (set KAFKA_SECURITY_PROTOCOL to SASL_PLAINTEXT or SASL_SSL)"
    )


def test_tls_files_without_a_tls_protocol_are_refused(cafile: str) -> None:
    """A CA file with SASL_PLAINTEXT means TLS was meant: say so instead of ignoring it."""
    msg = error(**SASL_ENV, KAFKA_SSL_CAFILE=cafile)
    assert msg.startswith("KAFKA_SSL_CAFILE is set but the security protocol is SASL_PLAINTEXT")


def test_a_password_and_a_password_file_together_are_refused(tmp_path: Path) -> None:
    """Two passwords from one source: which one was meant is not guessed."""
    pw = write(tmp_path / "pw", "x\n")
    msg = error(**SASL_ENV, KAFKA_SASL_PASSWORD_FILE=str(pw))
    assert msg == "give KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both"


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    """An empty secret file is a deployment mistake, not an empty password."""
    pw = write(tmp_path / "pw", "\n")
    env = {**SASL_ENV, "KAFKA_SASL_PASSWORD_FILE": str(pw)}
    del env["KAFKA_SASL_PASSWORD"]
    assert error(**env) == f"KAFKA_SASL_PASSWORD_FILE: {pw} is empty"


def test_a_bad_hostname_flag_is_refused() -> None:
    """KAFKA_SSL_CHECK_HOSTNAME takes true/false words only."""
    msg = error(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CHECK_HOSTNAME="maybe")
    assert msg == "KAFKA_SSL_CHECK_HOSTNAME: expected true or false, got 'maybe'"


def test_the_config_file_errors_name_the_file(tmp_path: Path) -> None:
    """A missing file, bad TOML, an unknown key and a wrong type each name the file."""
    assert error(tmp_path / "none.toml").startswith(
        f"cannot read the Kafka config file {tmp_path / 'none.toml'}: No such file"
    )
    bad = write(tmp_path / "bad.toml", "security_protocol = \n")
    assert error(bad).startswith(f"{bad}: not valid TOML: ")
    unknown = write(tmp_path / "unknown.toml", 'sasl_user = "x"\n')
    assert error(unknown).startswith(f"{unknown}: sasl_user: unknown setting (known: ")
    typed = write(tmp_path / "typed.toml", 'ssl_check_hostname = "no"\n')
    assert error(typed) == f"{typed}: ssl_check_hostname: must be a boolean"


# -- TLS and Faust ---------------------------------------------------------------------------


def test_sasl_ssl_gives_both_clients_tls_with_the_ca(cafile: str) -> None:
    """SASL_SSL: kafka-python gets the CA file, Faust SASL credentials with a TLS context."""
    import faust

    s = KafkaSecurity.load(
        None,
        {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": cafile},
    )
    kwargs = s.kafka_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert (kwargs["ssl_cafile"], kwargs["ssl_check_hostname"]) == (cafile, True)
    creds = faust_credentials(s)["broker_credentials"]
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.protocol.value, creds.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (creds.username, creds.password) == ("alice", "s3cret")
    assert isinstance(creds.ssl_context, ssl.SSLContext)
    assert creds.ssl_context.check_hostname
    assert creds.ssl_context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_sasl_plaintext_gives_faust_no_tls_context() -> None:
    """Without TLS Faust's SASL credentials carry no context, so it speaks SASL_PLAINTEXT."""
    creds = faust_credentials(KafkaSecurity.load(None, SASL_ENV))["broker_credentials"]
    assert creds.protocol.value == "SASL_PLAINTEXT"
    assert creds.ssl_context is None


def test_ssl_alone_gives_faust_ssl_credentials_and_honours_check_hostname() -> None:
    """SSL without SASL: Faust's SSLCredentials; host name checking can be turned off."""
    import faust

    s = KafkaSecurity.load(
        None, {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CHECK_HOSTNAME": "false"}
    )
    creds = faust_credentials(s)["broker_credentials"]
    assert isinstance(creds, faust.SSLCredentials)
    assert creds.context.check_hostname is False
    assert creds.context.verify_mode == ssl.CERT_REQUIRED
    assert s.kafka_kwargs()["ssl_check_hostname"] is False
    assert "sasl_mechanism" not in s.kafka_kwargs()


def test_the_kafka_arguments_read_back_into_the_same_settings(cafile: str) -> None:
    """from_kafka_kwargs inverts kafka_kwargs (ensure_topics and the producer use it)."""
    s = KafkaSecurity.load(
        None,
        {**SASL_ENV, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": cafile},
    )
    assert KafkaSecurity.from_kafka_kwargs(s.kafka_kwargs()) == s
    assert KafkaSecurity.from_kafka_kwargs({}) == KafkaSecurity()


# -- where the settings go -----------------------------------------------------------------


def test_worker_settings_take_the_security_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's two client configs are the security settings' kwargs."""
    for var, value in SASL_ENV.items():
        monkeypatch.setenv(var, value)
    s = WorkerSettings.from_env()
    assert s.kafka_client_config()["sasl_plain_username"] == "alice"
    assert s.faust_client_config()["broker_credentials"].username == "alice"


def test_worker_settings_take_the_config_file_given(tmp_path: Path) -> None:
    """`--kafka-config` reaches WorkerSettings as `kafka_config`."""
    config = write(tmp_path / "k.toml", 'security_protocol = "SSL"\n')
    assert WorkerSettings.from_env(kafka_config=str(config)).kafka_security.protocol == "SSL"


def test_the_sample_config_uses_only_known_keys() -> None:
    """deploy/kafka/kafka-client.toml stays in step with the settings it documents."""
    sample = Path(__file__).parents[2] / "deploy" / "kafka" / "kafka-client.toml"
    keys = set(tomllib.loads(sample.read_text()))
    assert keys <= set(ENV)
    assert {"security_protocol", "sasl_username", "ssl_cafile"} <= keys


def test_the_option_is_the_same_on_every_command() -> None:
    """`--kafka-config PATH` lands in `args.kafka_config`."""
    p = argparse.ArgumentParser()
    add_kafka_config_option(p)
    assert p.parse_args(["--kafka-config", "k.toml"]).kafka_config == "k.toml"
    assert p.parse_args([]).kafka_config is None


# -- the SCRAM exchange of the credentials check ---------------------------------------------


def test_scram_sha_256_matches_the_rfc_7677_example() -> None:
    """The client messages and the server check of RFC 7677 §3, byte for byte."""
    c = ScramClient("SCRAM-SHA-256", "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert c.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = c.final(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert final == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert c.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert not c.verify(b"v=" + base64.b64encode(b"x" * 32))


def test_scram_refuses_a_server_nonce_that_is_not_its_own() -> None:
    """A server-first message must extend the client's nonce (RFC 5802 §5.1)."""
    c = ScramClient("SCRAM-SHA-512", "u", "p", nonce="abc")
    with pytest.raises(ValueError, match="unexpected server-first"):
        c.final(b"r=xyz123,s=c2FsdA==,i=4096")


# -- the credentials check against a stand-in broker ---------------------------------------


def _exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _answer(conn: socket.socket, refuse_with: int) -> None:
    """SaslHandshake: SCRAM-SHA-512 offered; SaslAuthenticate: `refuse_with` and close at
    once, as Kafka does (the answer and the close arrive together)."""
    while True:
        (size,) = struct.unpack(">i", _exactly(conn, 4))
        api_key, _, correlation = struct.unpack(">hhi", _exactly(conn, size)[:8])
        if api_key == 17:
            body = struct.pack(">hih", 0, 1, 13) + b"SCRAM-SHA-512"
        else:
            body = struct.pack(">hh", refuse_with, 6) + b"denied" + struct.pack(">iq", 0, 0)
        frame = struct.pack(">i", correlation) + body
        conn.sendall(struct.pack(">i", len(frame)) + frame)
        if api_key != 17:
            return


@pytest.fixture
def stand_in() -> Iterator[tuple[str, dict[str, int]]]:
    """A listener on a free port; the dict's "refuse" says how it answers the login, and a
    "close" of 1 makes it hang up before answering anything."""
    server = socket.create_server(("127.0.0.1", 0))
    how = {"refuse": 58, "close": 0}

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            if not how["close"]:
                _answer(conn, how["refuse"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}", how
    server.close()
    thread.join(5)


def test_a_refused_login_is_reported_even_when_the_broker_hangs_up_at_once(
    stand_in: tuple[str, dict[str, int]],
) -> None:
    """SASL_AUTHENTICATION_FAILED followed by the close: KafkaAuthError naming user and
    address (kafka-python loses this answer and times out instead)."""
    bootstrap, _ = stand_in
    with pytest.raises(KafkaAuthError) as caught:
        probe(bootstrap, KafkaSecurity.load(None, SASL_ENV), timeout=5)
    assert str(caught.value) == (
        f"Kafka refused the credentials for user 'alice' at {bootstrap}"
        " (SASL SCRAM-SHA-512 authentication failed)"
    )


def test_a_listener_that_hangs_up_is_a_protocol_mismatch(
    stand_in: tuple[str, dict[str, int]],
) -> None:
    """A connection closed before any answer: most likely not a SASL listener."""
    bootstrap, how = stand_in
    how["close"] = 1
    with pytest.raises(KafkaSecurityError, match="broke off the SASL handshake") as caught:
        probe(bootstrap, KafkaSecurity.load(None, SASL_ENV), timeout=5)
    assert not isinstance(caught.value, KafkaAuthError)


def test_no_broker_is_left_to_the_client_to_report() -> None:
    """Nothing listening: the check says nothing; the client's own error will."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe(f"127.0.0.1:{port}", KafkaSecurity.load(None, SASL_ENV), timeout=2)
