"""Credentials stay out of logs and output even when a user puts them in a URL or a remote
echoes them back; ``replay`` gives up on a host name that does not resolve."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from otlp_arrow import Config, ConfigError, OtlpLibrary
from otlp_arrow.forward.senders import auth_headers, scrub, secret_texts
from tests import sample
from tests.forward.endpoint import GrpcEndpoint, HttpEndpoint, Reply
from tests.forward.test_failures import FAST
from tests.forward.test_serve_forwarding import EXE, _environ
from tests.helpers import T0, span_batch, wait_for

PASSWORD = "pw-4b1c9e27"
TOKEN, KEY, TENANT = "tok-77ad02c1", "key-90e1f3aa", "ten-1c2d3e4f"


@pytest.mark.parametrize(
    "url",
    [
        f"http://ada:{PASSWORD}@collector:4318",
        f"https://{PASSWORD}@collector",
        f"http://ada:{PASSWORD}@collector:4318/otlp",
    ],
)
def test_credentials_in_a_url_are_refused_without_being_shown(url: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config.load(env={"OTLP_ARROW_FORWARD_ENDPOINT": url})
    assert "forward_basic_auth" in str(error.value)
    assert PASSWORD not in str(error.value)
    with pytest.raises(ConfigError) as error:
        Config.load(env={}, forward_endpoint=url)
    assert PASSWORD not in str(error.value)


def test_cli_refuses_a_url_with_credentials_and_never_prints_them(tmp_path: Path) -> None:
    url = f"http://ada:{PASSWORD}@127.0.0.1:9"
    env = {**_environ(), "OTLP_ARROW_FORWARD_ENDPOINT": url}
    for args in (["config"], ["serve", "--output-dir", str(tmp_path)]):
        done = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode != 0
        assert "forward_basic_auth" in done.stderr
        assert PASSWORD not in done.stdout + done.stderr
    replay = subprocess.run(
        [EXE, "replay", "--output-dir", str(tmp_path), "--to", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode != 0 and PASSWORD not in replay.stdout + replay.stderr


def test_every_form_of_a_secret_is_scrubbed() -> None:
    config = Config.load(
        env={},
        forward_bearer_token=TOKEN,
        forward_api_key=KEY,
        forward_headers=f"x-tenant={TENANT}",
        forward_basic_auth=f"ada:{PASSWORD}",
    )
    secrets = secret_texts(config)
    text = f"Bearer {TOKEN} {KEY} {TENANT} Basic YWRhOnB3LTRiMWM5ZTI3 ada:{PASSWORD} and {PASSWORD}"
    scrubbed = scrub(text, secrets)
    for secret in (TOKEN, KEY, TENANT, PASSWORD, "YWRhOnB3LTRiMWM5ZTI3"):
        assert secret not in scrubbed
    assert scrubbed == "Bearer *** *** *** Basic *** *** and ***"


@pytest.mark.parametrize(
    ("kind", "refusal"),
    [(HttpEndpoint, 401), (HttpEndpoint, 503), (GrpcEndpoint, "UNAUTHENTICATED")],
)
def test_text_a_remote_echoes_is_scrubbed_before_it_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: Any, refusal: int | str
) -> None:
    endpoint = kind().start()
    endpoint.script.append(Reply(refusal, echo=True))
    auth: dict[str, Any] = {
        "forward_api_key": KEY,
        "forward_headers": f"x-tenant={TENANT}",
        "forward_basic_auth": f"ada:{PASSWORD}",
    }
    protocol = "grpc" if kind is GrpcEndpoint else "http/protobuf"
    try:
        with (
            caplog.at_level(logging.DEBUG),
            OtlpLibrary(
                output_dir=tmp_path,
                forward_endpoint=endpoint.url,
                forward_protocol=protocol,
                **{**FAST, **auth},
            ) as lib,
        ):
            lib.export_traces(span_batch(5))
            lib.flush()
            wait_for(lambda: len(endpoint.attempts) >= 1, "the refused attempt")
            wait_for(lambda: any("***" in r.getMessage() for r in caplog.records), "the log line")
    finally:
        endpoint.stop()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "you sent" in logged  # the echo was logged...
    for secret in (KEY, TENANT, PASSWORD, "YWRhOnB3LTRiMWM5ZTI3"):
        assert secret not in logged  # ...without what it echoed


def test_a_broken_answer_echoing_the_credentials_is_scrubbed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that answers with no status line, only the request's authorization header:
    the transport error that names what it got is scrubbed too."""
    endpoint = HttpEndpoint().start()
    endpoint.script.extend([Reply(garbage=True)] * 2)  # the one resend included
    try:
        with (
            caplog.at_level(logging.DEBUG),
            OtlpLibrary(
                output_dir=tmp_path,
                forward_endpoint=endpoint.url,
                forward_basic_auth=f"ada:{PASSWORD}",
                **FAST,
            ) as lib,
        ):
            lib.export_traces(span_batch(5))
            lib.flush()
            wait_for(lambda: lib.stats()["forward"]["rows_sent"].get("traces") == 5, "delivery")
    finally:
        endpoint.stop()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "cannot reach" in logged and "Basic ***" in logged
    for secret in (PASSWORD, "YWRhOnB3LTRiMWM5ZTI3"):
        assert secret not in logged


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_replay_gives_up_on_a_host_name_that_does_not_resolve(
    tmp_path: Path, protocol: str
) -> None:
    with OtlpLibrary(output_dir=tmp_path) as library:
        library.export_logs(sample.logs(10, start_ns=T0))
    env = {
        **_environ(),
        "OTLP_ARROW_REPLAY_RESOLVE_TIMEOUT": "1s",
        "OTLP_ARROW_FORWARD_RETRY_INITIAL": "50ms",
        "OTLP_ARROW_FORWARD_RETRY_MAX": "200ms",
        "OTLP_ARROW_FORWARD_BREAKER_OPEN": "200ms",
    }
    done = subprocess.run(
        [
            EXE,
            "replay",
            "--output-dir",
            str(tmp_path),
            "--protocol",
            protocol,
            "--to",
            "http://no-such-host.invalid:4318",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert done.returncode == 1, done.stderr
    assert "error:" in done.stderr and "resol" in done.stderr and "giving up" in done.stderr
    assert "run the same command again" in done.stdout


def test_a_bearer_token_and_basic_auth_together_are_refused_without_being_shown() -> None:
    """Both are sent as ``Authorization``, and a request carries one: the last silently won."""
    config = Config.load(
        env={}, forward_bearer_token="tok1234567", forward_basic_auth="user:pw12345"
    )
    with pytest.raises(ConfigError, match="forward_bearer_token and forward_basic_auth") as info:
        auth_headers(config)
    assert "tok1234567" not in str(info.value) and "pw12345" not in str(info.value)
