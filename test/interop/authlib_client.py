"""A device login and a refresh with Python authlib, for test/interop/authlib.test.ts.

    /usr/bin/python3 authlib_client.py ISSUER CLIENT_ID [SCOPE]

Discovery (RFC 8414) and the device authorization request (RFC 8628 §3.1) go through requests:
authlib 1.2 has no device-flow client. Polling (RFC 8628 §3.4, honouring interval and slow_down)
and the refresh (RFC 6749 §6) go through authlib's OAuth2Session. One JSON object per line on
stdout, each with a "step": "user_code" (for the test to approve), "token", then "refreshed".
Any failure: a message on stderr and a non-zero exit.
"""
import json
import sys
import time
from urllib.parse import urlsplit

try:
    import requests
    from authlib.integrations.requests_client import OAuth2Session, OAuthError
except ImportError as err:  # the test checks first, but say it here too
    sys.exit(f"authlib_client: {err}: install Debian's python3-authlib and python3-requests")

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 10  # seconds, per request


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def token_fields(token):
    """The token response as authlib holds it (OAuth2Token is a dict with expires_at added)."""
    return {k: token.get(k) for k in ("access_token", "token_type", "expires_in", "scope", "refresh_token")}


def discover(issuer):
    """RFC 8414 §3: the well-known path goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    url = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path.rstrip('/')}"
    res = requests.get(url, timeout=TIMEOUT)
    res.raise_for_status()
    metadata = res.json()
    if metadata.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise RuntimeError(f"the metadata at {url} names issuer {metadata.get('issuer')!r}")
    return metadata


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    issuer, client_id = argv[1], argv[2]
    scope = argv[3] if len(argv) == 4 else "openid offline_access"
    metadata = discover(issuer)
    token_endpoint = metadata["token_endpoint"]

    started = requests.post(
        metadata["device_authorization_endpoint"],
        data={"client_id": client_id, "scope": scope},
        headers={"Accept": "application/json"},
        timeout=TIMEOUT,
    )
    if started.status_code != 200:
        raise RuntimeError(f"device authorization: HTTP {started.status_code}: {started.text[:200]}")
    device = started.json()
    interval = device.get("interval", 5)  # RFC 8628 §3.2
    deadline = time.monotonic() + device["expires_in"]
    emit("user_code", user_code=device["user_code"], verification_uri=device["verification_uri"], interval=interval)

    # A public client: authlib sends client_id in the body ("none"); a session without scope keeps
    # the refresh to the grant's scope.
    session = OAuth2Session(client_id=client_id, token_endpoint_auth_method="none", default_timeout=TIMEOUT)
    polls = []
    begun = time.monotonic()
    while True:
        time.sleep(interval)
        if time.monotonic() >= deadline:
            raise RuntimeError("the code expired before it was approved")
        try:
            token = session.fetch_token(token_endpoint, grant_type=DEVICE_CODE_GRANT, device_code=device["device_code"])
            polls.append({"at": round(time.monotonic() - begun, 3), "outcome": "token"})
            break
        except OAuthError as err:
            polls.append({"at": round(time.monotonic() - begun, 3), "outcome": err.error})
            if err.error == "authorization_pending":
                continue
            if err.error == "slow_down":  # RFC 8628 §3.5: 5 s more, for good
                interval += 5
                continue
            raise
    first = token_fields(token)
    emit("token", token=first, polls=polls)

    refreshed = session.refresh_token(token_endpoint, refresh_token=first["refresh_token"])
    emit("refreshed", token=token_fields(refreshed))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OAuthError as err:
        sys.exit(f"authlib_client: the server refused: {err.error}: {err.description}")
    except Exception as err:  # anything else: say what, exit 1
        sys.exit(f"authlib_client: {type(err).__name__}: {err}")
