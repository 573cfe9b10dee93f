"""HTTP sessions for NASA's archive: retries with backoff, and the Earthdata login.

Retries are urllib3's: connection errors and HTTP 429/500/502/503/504 are retried with
exponential backoff, honouring ``Retry-After``.  The login comes, in this order, from
``$EARTHDATA_TOKEN`` (a bearer token), ``$EARTHDATA_USERNAME``/``$EARTHDATA_PASSWORD`` (through
earthaccess, which exchanges them for a token), or ``~/.netrc`` (``$NETRC``) with a ``machine
urs.earthdata.nasa.gov`` entry, which requests applies when the archive redirects to the login
server.  A credentials file others can read is refused; no token or password is ever printed
or stored.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from modisoft.errors import EarthdataLoginError

__all__ = ["LOGIN_HELP", "http_session", "netrc_path"]

LOGIN_HELP = (
    "set up an Earthdata login: create an account at https://urs.earthdata.nasa.gov, then "
    "either put 'machine urs.earthdata.nasa.gov login USER password PASSWORD' in ~/.netrc "
    "(chmod 600 ~/.netrc) or set EARTHDATA_TOKEN (a token from your Earthdata profile)")
"""What a user is told when the archive refuses a request."""

RETRY_STATUS = (429, 500, 502, 503, 504)


def netrc_path() -> Path:
    """The credentials file requests reads: ``$NETRC`` or ``~/.netrc``."""
    return Path(os.environ.get("NETRC") or Path.home() / ".netrc")


def http_session(*, retries: int = 5, backoff: float = 1.0, auth: bool = True) -> Any:
    """A :class:`requests.Session` with retries and (``auth``) the Earthdata login.

    Parameters
    ----------
    retries
        Retries per request on connection errors and HTTP 429/5xx.
    backoff
        Seconds before the first retry, doubling after each (``Retry-After`` wins).
    auth
        Attach the Earthdata login (searches need none).

    Returns
    -------
    requests.Session

    Raises
    ------
    EarthdataLoginError
        When the credentials file can be read by others.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    from modisoft._version import __version__

    session = requests.Session()
    session.headers["User-Agent"] = f"modisoft/{__version__}"
    retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                  backoff_factor=backoff / 2 if backoff else 0,
                  status_forcelist=RETRY_STATUS, allowed_methods=("GET", "HEAD"),
                  respect_retry_after_header=True, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth:
        _login(session)
    return session


def _login(session: Any) -> None:
    token = os.environ.get("EARTHDATA_TOKEN")
    if not token and os.environ.get("EARTHDATA_USERNAME") and \
            os.environ.get("EARTHDATA_PASSWORD"):
        token = _token_from_earthaccess()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
        return
    path = netrc_path()
    if path.is_file():
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise EarthdataLoginError(f"{path} can be read by others (mode "
                                      f"{stat.filemode(mode)}); it holds your Earthdata "
                                      f"password: chmod 600 {path}")


def _token_from_earthaccess() -> str | None:  # pragma: no cover - needs NASA's login server
    import earthaccess

    auth = earthaccess.login(strategy="environment")
    if not getattr(auth, "authenticated", False):
        raise EarthdataLoginError("EARTHDATA_USERNAME/EARTHDATA_PASSWORD were refused by "
                                  f"Earthdata login; {LOGIN_HELP}")
    return (getattr(auth, "token", None) or {}).get("access_token")
