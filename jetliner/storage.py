"""Remote storage: ``storage_options`` translation, failure classification, retries.

Every request jetliner makes to a remote store goes through `call_with_retries`,
which is the only retry layer: the filesystem's own retry loops are switched off
(s3fs ``retries=1``, botocore ``total_max_attempts=1``), so jetliner attempts a
request at most ``max_retries + 1`` times.  Two lower layers keep one resend each
that no public setting turns off: aiohttp resends an idempotent request once when
a pooled connection proves closed before any response, and botocore resends once
to a bucket's own region when the store answers that the region is wrong.  Only
transient failures are retried (timeouts, connection resets and incomplete
bodies, HTTP 5xx, 429/SlowDown), after 1 s, 2 s, 4 s, ...; everything else
becomes a typed error at once.
"""

from __future__ import annotations

import errno
import inspect
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jetliner.exceptions import (
    AccessDeniedError,
    AuthenticationError,
    ConfigurationError,
    JetlinerError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
)

__all__ = ["ReadCancelled", "RetryPolicy", "call_with_retries", "classify",
           "filesystem_options"]

T = TypeVar("T")

DEFAULT_MAX_RETRIES = 2
# Connections per S3 client: more than the requests a read keeps in flight.
MAX_POOL_CONNECTIONS = 32
# Seconds before the first retry; each further retry waits twice as long.
BACKOFF_BASE = 1.0
# Default socket timeouts for S3 (seconds): a stalled response is a transient
# failure after this long, then retried.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0

# The sleep used between attempts; tests replace it to run fast and to record the
# schedule.
_sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is retried.

    Parameters
    ----------
    max_retries
        Retries after the first attempt (a request is attempted at most
        ``max_retries + 1`` times).
    base_delay
        Seconds before the first retry; each further retry waits twice as long.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay: float = BACKOFF_BASE

    def delay(self, retry: int) -> float:
        """Return the seconds to wait before a retry: 1, 2, 4, ... by default.

        Parameters
        ----------
        retry
            The retry's number, 0 for the first.

        Returns
        -------
        float
            ``base_delay * 2 ** retry``.
        """
        return self.base_delay * 2.0 ** retry


# -- classification -----------------------------------------------------------

TRANSIENT, NOT_FOUND, DENIED, AUTH, CHANGED, FATAL = (
    "transient", "not_found", "denied", "auth", "changed", "fatal")

_AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
               "RequestTimeTooSkewed",
               "InvalidToken", "TokenRefreshRequired", "InvalidClientTokenId",
               "AuthorizationHeaderMalformed", "MissingSecurityHeader"}
_DENIED_CODES = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "Forbidden"}
_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "NotFound", "404", "NoSuchVersion"}
_TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                    "InternalError", "ServiceUnavailable", "TooManyRequests",
                    "RequestLimitExceeded", "503", "500", "429", "408"}
_TRANSIENT_NAMES = {
    # botocore
    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
    "ConnectionClosedError", "HTTPClientError", "ResponseStreamingError",
    "IncompleteReadError", "ResponseParserError", "ProxyConnectionError",
    # aiohttp
    "ClientPayloadError", "ServerDisconnectedError", "ClientConnectionError",
    "ClientConnectorError", "ClientOSError", "ServerTimeoutError",
    "ContentLengthError", "TransferEncodingError",
    # stdlib / fsspec
    "IncompleteRead", "RemoteDisconnected", "FSTimeoutError", "TimeoutError",
    "ShortRead",
}
_TRANSIENT_ERRNOS = {errno.ECONNRESET, errno.ECONNABORTED, errno.ETIMEDOUT, errno.EPIPE,
                     errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}


class ShortRead(Exception):
    """A response body held fewer bytes than asked for (a transient failure)."""


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        out.append(cur)
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return out


def _http_status(exc: BaseException) -> tuple[int | None, str | None]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode")
        return (int(status) if status else None), error.get("Code")
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status, None
    return None, None


def error_code(exc: BaseException) -> str | None:
    """Return the store's error code (``NoSuchKey``, ``InvalidRange``...) of a failure.

    Parameters
    ----------
    exc
        The failure; its causes and contexts are searched too.

    Returns
    -------
    str | None
        The first error code found, or None.
    """
    for e in _chain(exc):
        code = _http_status(e)[1]
        if code:
            return code
    return None


def classify(exc: BaseException) -> str:
    """Classify a failed request by what should happen next.

    Error codes decide first, then HTTP statuses, then exception types and errnos,
    searched along the chain of causes.

    Parameters
    ----------
    exc
        The failure.

    Returns
    -------
    str
        ``"transient"`` (retried), ``"not_found"``, ``"denied"``, ``"auth"``,
        ``"changed"`` (the object was replaced) or ``"fatal"``.
    """
    for e in _chain(exc):
        status, code = _http_status(e)
        # error codes first (they are precise), then bare HTTP statuses
        if code in _NOT_FOUND_CODES:
            return NOT_FOUND
        if code == "PreconditionFailed":
            return CHANGED
        if code in _AUTH_CODES:
            return AUTH
        if code in _TRANSIENT_CODES:
            return TRANSIENT
        if code in _DENIED_CODES:
            return DENIED
        if code is not None and status is not None and status < 500 and status != 429:
            return FATAL  # e.g. InvalidObjectState (archived object), InvalidRange
        if status == 404:
            return NOT_FOUND
        if status == 412:
            return CHANGED
        if status == 401:
            return AUTH
        if status == 403:
            return DENIED
        if status is not None and (status >= 500 or status in (408, 429)):
            return TRANSIENT
        if status is not None:
            return FATAL
        name = type(e).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
            return AUTH
        if name in _TRANSIENT_NAMES or isinstance(e, (TimeoutError, ConnectionError, ShortRead)):
            return TRANSIENT
        if isinstance(e, OSError) and e.errno in _TRANSIENT_ERRNOS:
            return TRANSIENT
    if isinstance(exc, FileNotFoundError):
        return NOT_FOUND
    if isinstance(exc, PermissionError):
        return DENIED
    return FATAL


def typed_error(exc: BaseException, url: str, what: str, attempts: int = 1) -> JetlinerError:
    """Return the jetliner error for a failed request.

    Parameters
    ----------
    exc
        The failure (returned as it is if it is already a `JetlinerError`).
    url
        The object or URL concerned.
    what
        What was being done, such as ``"opening"``; the message reads
        ``f"{what} {url!r} failed ..."``.
    attempts
        How many attempts were made (named for transient failures).

    Returns
    -------
    JetlinerError
        The typed error, per `classify`; the caller chains `exc` to it.
    """
    if isinstance(exc, JetlinerError):
        return exc
    kind = classify(exc)
    detail = str(exc) or type(exc).__name__
    for e in _chain(exc):
        status, code = _http_status(e)
        if code or status:
            detail = f"{code or ''} (HTTP {status}): {detail}".lstrip()
            break
    if kind == NOT_FOUND:
        return SourceNotFoundError(
            f"no such object or bucket: {url!r} ({detail}); check the bucket and key names",
            path=url)
    if kind == AUTH:
        return AuthenticationError(
            f"the store rejected the credentials for {url!r}: {detail}; check "
            "aws_access_key_id / aws_secret_access_key / aws_session_token in "
            "storage_options or the AWS_* environment variables", path=url)
    if kind == DENIED:
        return AccessDeniedError(
            f"access denied to {url!r}: {detail}; the credentials need read access "
            "(s3:GetObject, and s3:ListBucket for globs)", path=url)
    if kind == CHANGED:
        return SourceChangedError(
            f"{url!r} was replaced while it was being read (its ETag changed); read it "
            "again to get the new version", path=url)
    if kind == TRANSIENT:
        return SourceError(
            f"{what} {url!r} failed after {attempts} attempt(s) with transient errors, the "
            f"last: {detail}; raise storage_options['max_retries'] for unreliable "
            "connections", path=url)
    return SourceError(f"{what} {url!r} failed: {detail}", path=url)


class ReadCancelled(SourceError):
    """A request not made because its reader was closed first (nobody awaits its result)."""

    default_variant = "Cancelled"


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, url: str, what: str,
                      cancelled: Callable[[], bool] | None = None) -> T:
    """Call `fn`, retrying transient failures per `policy`.

    Parameters
    ----------
    fn
        The request, called with no arguments.
    policy
        How often and after what delays transient failures are retried.
    url
        The object or URL concerned, for errors.
    what
        What is being done, for errors (see `typed_error`).
    cancelled
        Asked before every attempt: once it says True (the reader that wanted the
        bytes was closed), no further request is made.

    Returns
    -------
    T
        What `fn` returns.

    Raises
    ------
    ReadCancelled
        When `cancelled` said True before an attempt.
    JetlinerError
        A typed error once retries are exhausted, or at once for a failure that
        is not transient (see `typed_error`); a `JetlinerError` raised by `fn`
        propagates unchanged.
    """
    attempt = 0
    while True:
        if cancelled is not None and cancelled():
            msg = f"{what} {url} was not requested: its reader was closed"
            raise ReadCancelled(msg, path=url)
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - every failure is classified
            if isinstance(exc, JetlinerError):
                raise
            if classify(exc) == TRANSIENT and attempt < policy.max_retries:
                if cancelled is not None and cancelled():  # no wait for a retry not made
                    msg = f"{what} {url} was not retried: its reader was closed"
                    raise ReadCancelled(msg, path=url) from exc
                _sleep(policy.delay(attempt))
                attempt += 1
                continue
            raise typed_error(exc, url, what, attempt + 1) from exc


# -- storage_options ----------------------------------------------------------

# jetliner's own keys, accepted for every protocol.
_OWN_KEYS = {"max_retries"}

# S3: accepted spellings -> the canonical name used below.
_S3_ALIASES = {
    "aws_access_key_id": "key", "access_key_id": "key", "key": "key",
    "aws_secret_access_key": "secret", "secret_access_key": "secret", "secret": "secret",
    "aws_session_token": "token", "session_token": "token", "token": "token",
    "aws_token": "token",
    "region": "region", "aws_region": "region", "aws_default_region": "region",
    "region_name": "region",
    "endpoint": "endpoint", "endpoint_url": "endpoint", "aws_endpoint_url": "endpoint",
    "aws_endpoint": "endpoint",
    "profile": "profile", "aws_profile": "profile",
    "anon": "anon", "skip_signature": "anon", "aws_skip_signature": "anon",
    "requester_pays": "requester_pays", "aws_request_payer": "requester_pays",
    "virtual_hosted_style_request": "virtual_hosted",
    "aws_virtual_hosted_style_request": "virtual_hosted",
    "allow_http": "allow_http", "aws_allow_http": "allow_http",
    "timeout": "timeout", "connect_timeout": "connect_timeout",
}


def _s3fs_native_keys() -> set[str]:
    try:
        from s3fs import S3FileSystem
    except ImportError:
        return set()
    params = set(inspect.signature(S3FileSystem.__init__).parameters) - {"self", "kwargs"}
    return params | {"use_listings_cache", "listings_expiry_time", "max_paths",
                     "skip_instance_cache"}


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    msg = f"storage_options[{name!r}] must be true or false, got {value!r}"
    raise ConfigurationError(msg)


def _as_seconds(name: str, value: Any) -> float:
    """``30``, ``2.5``, ``"30"``, ``"30s"``, ``"500ms"``, ``"1m"`` -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*", value)
        if m:
            scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60}[m.group(2)]
            seconds = float(m.group(1)) * scale
            if seconds > 0:
                return seconds
    msg = (
        f"storage_options[{name!r}] must be a positive duration such as 30 or '30s', "
        f"got {value!r}"
    )
    raise ConfigurationError(msg)


def _max_retries(options: dict[str, Any]) -> int:
    value = options.get("max_retries", DEFAULT_MAX_RETRIES)
    try:
        n = int(value) if not isinstance(value, bool) else -1
    except (TypeError, ValueError):
        n = -1
    if n < 0 or (isinstance(value, float) and not value.is_integer()):
        msg = (
            "storage_options['max_retries'] must be an integer >= 0 (or its string), "
            f"got {value!r}"
        )
        raise ConfigurationError(msg)
    return n


def _aws_files() -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse the AWS config and credentials files (empty when absent)."""

    def load(path: str) -> dict[str, Any]:
        path = os.path.expanduser(path)
        if not os.path.isfile(path):
            return {}
        try:
            from botocore.configloader import raw_config_parse
        except ImportError:  # no botocore, no S3: nothing reads these files
            return {}
        try:
            parsed: dict[str, Any] = raw_config_parse(path)  # botocore is untyped
        except Exception as exc:  # botocore's ConfigParseError, OSError, ...
            msg = f"cannot read the AWS settings file {path!r}: {exc}; fix or remove it"
            raise ConfigurationError(msg) from exc
        return parsed
    config = load(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"))
    creds = load(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
    return config, creds


def _profile_setting(profile: str | None, name: str) -> str | None:
    """Look up a profile's setting in the AWS config and credentials files.

    The config file's ``[profile x]`` section (with nested ``s3 =`` and
    ``services`` sections) comes first, then the credentials file's ``[x]``.
    """
    profile = profile or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE")
    config, creds = _aws_files()
    section_names = [f"profile {profile}", profile] if profile else ["default", "profile default"]
    for section_name in section_names:
        section = config.get(section_name)
        if not section:
            continue
        nested = section.get("s3")
        if isinstance(nested, dict) and nested.get(name):
            return str(nested[name])
        services = section.get("services")
        if isinstance(services, str):
            svc = config.get(f"services {services}", {}).get("s3")
            if isinstance(svc, dict) and svc.get(name):
                return str(svc[name])
        if isinstance(section.get(name), str) and section.get(name):
            return str(section[name])
    section = creds.get(profile or "default")
    if isinstance(section, dict) and isinstance(section.get(name), str) and section.get(name):
        return str(section[name])
    return None


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """storage_options -> keyword arguments of ``s3fs.S3FileSystem``."""
    native = _s3fs_native_keys()
    canon: dict[str, Any] = {}
    passthrough: dict[str, Any] = {}
    for name, value in options.items():
        if name in _OWN_KEYS:
            continue
        alias = _S3_ALIASES.get(name.lower()) if isinstance(name, str) else None
        if alias is not None:
            if alias in canon and canon[alias] != value:
                msg = f"storage_options sets {alias!r} twice, with different values"
                raise ConfigurationError(msg)
            canon[alias] = value
        elif name in native:
            passthrough[name] = value
        else:
            known = sorted(set(_S3_ALIASES) | _OWN_KEYS | native)
            msg = (
                f"unknown storage option {name!r} for S3; known options are: "
                f"{', '.join(known)}"
            )
            raise ConfigurationError(msg)

    profile = canon.get("profile")
    endpoint = (canon.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL") or _profile_setting(profile, "endpoint_url"))
    region = (canon.get("region") or os.environ.get("AWS_REGION")
              or os.environ.get("AWS_DEFAULT_REGION") or _profile_setting(profile, "region"))

    kwargs: dict[str, Any] = {
        # a glob must see objects that landed since the last listing
        "use_listings_cache": False,
    }
    client_kwargs = dict(passthrough.pop("client_kwargs", None) or {})
    config_kwargs = dict(passthrough.pop("config_kwargs", None) or {})
    config_kwargs.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
    # botocore's default of 10 connections would cap the 16 objects a glob opens ahead
    # (and a large object's prefetched ranges): requests past it wait for a connection
    config_kwargs.setdefault("max_pool_connections", MAX_POOL_CONNECTIONS)
    config_kwargs.setdefault("connect_timeout", _as_seconds(
        "connect_timeout", canon.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)))
    config_kwargs.setdefault("read_timeout", _as_seconds(
        "timeout", canon.get("timeout", DEFAULT_READ_TIMEOUT)))
    for src, dst in (("key", "key"), ("secret", "secret"), ("token", "token"),
                     ("profile", "profile")):
        if canon.get(src) is not None:
            kwargs[dst] = canon[src]
    if canon.get("anon") is not None:
        kwargs["anon"] = _as_bool("anon", canon["anon"])
    if canon.get("requester_pays") is not None:
        kwargs["requester_pays"] = _as_bool("requester_pays", canon["requester_pays"])
    if endpoint:
        if not re.match(r"^https?://", str(endpoint)):
            msg = (
                f"the S3 endpoint {endpoint!r} must be a URL starting with http:// or "
                "https://, such as 'http://localhost:9000'"
            )
            raise ConfigurationError(msg)
        kwargs["endpoint_url"] = str(endpoint)
        # self-hosted stores (MinIO, Garage, ...) want path-style addressing
        virtual = _as_bool("virtual_hosted_style_request", canon.get("virtual_hosted", False))
        s3_config = dict(config_kwargs.get("s3") or {})
        s3_config.setdefault("addressing_style", "virtual" if virtual else "path")
        config_kwargs["s3"] = s3_config
    if region:
        client_kwargs.setdefault("region_name", str(region))
    kwargs["client_kwargs"] = client_kwargs
    kwargs["config_kwargs"] = config_kwargs
    kwargs.update(passthrough)
    return kwargs


def filesystem_options(protocol: str,
                       options: dict[str, Any] | None) -> tuple[dict[str, Any], RetryPolicy]:
    """Translate ``storage_options`` into filesystem arguments and a retry policy.

    Parameters
    ----------
    protocol
        The URL's protocol, lower case.  For ``s3``/``s3a`` the options are
        checked and translated (aliases such as ``aws_access_key_id``, the
        ``AWS_*`` environment variables and profile files for the endpoint and
        region, jetliner's timeouts and single-attempt retries); for other
        protocols they are passed through.
    options
        The user's ``storage_options`` (``max_retries`` is jetliner's own).

    Returns
    -------
    tuple[dict[str, Any], RetryPolicy]
        Keyword arguments for the filesystem class, and the retry policy.

    Raises
    ------
    ConfigurationError
        If an option is unknown (S3) or has an invalid value.
    """
    options = dict(options or {})
    for name in options:
        if not isinstance(name, str):
            msg = f"storage_options keys must be strings, got {name!r}"
            raise ConfigurationError(msg)
    policy = RetryPolicy(max_retries=_max_retries(options))
    if protocol in ("s3", "s3a"):
        return _s3_options(options), policy
    return {k: v for k, v in options.items() if k not in _OWN_KEYS}, policy
