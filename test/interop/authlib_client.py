"""A device login and a refresh with Python authlib, for test/interop/authlib.test.ts.

    /usr/bin/python3 authlib_client.py ISSUER CLIENT_ID [SCOPE]

Discovery (RFC 8414, and OpenID Connect Discovery for the UserInfo endpoint) and the device
authorization request (RFC 8628 §3.1) go through requests: authlib 1.2 has no device-flow client.
Polling (RFC 8628 §3.4, honouring interval and slow_down) and the refresh (RFC 6749 §6) go through
authlib's OAuth2Session. With openid in the scope, each ID token is verified with authlib.jose
against the issuer's JWKS and validated as OpenID Connect Core §3.1.3.7 says (authlib.oidc.core's
CodeIDToken: iss, aud, azp, exp, iat; there is no nonce in the device flow), a refreshed one must
name the same sub (§12.2), and UserInfo is fetched with the access token and must name the ID
token's sub (§5.3.4). One JSON object per line on stdout, each with a "step": "user_code" (for the
test to approve), "token", then "refreshed". Any failure: a message on stderr and a non-zero exit.
"""
import json
import sys
import time
from urllib.parse import urlsplit

try:
    import requests
    from authlib.integrations.requests_client import OAuth2Session, OAuthError
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oidc.core import CodeIDToken, UserInfo
except ImportError as err:  # the test checks first, but say it here too
    sys.exit(f"authlib_client: {err}: install Debian's python3-authlib and python3-requests")

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 10  # seconds, per request
LEEWAY = 60  # seconds of clock skew allowed on exp and iat
# The asymmetric algorithms the server signs with (its id_token_signing_alg_values_supported);
# never "none" or an HMAC.
ID_TOKEN_ALGORITHMS = ["ES256", "RS256"]


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def token_fields(token):
    """The token response as authlib holds it (OAuth2Token is a dict with expires_at added)."""
    return {k: token.get(k) for k in ("access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token")}


def discover(issuer):
    """RFC 8414 §3: the well-known path goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    return fetch_metadata(f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path.rstrip('/')}", issuer)


def discover_openid(issuer):
    """OpenID Connect Discovery 1.0 §4: the well-known path goes after the issuer."""
    return fetch_metadata(f"{issuer.rstrip('/')}/.well-known/openid-configuration", issuer)


def fetch_metadata(url, issuer):
    res = requests.get(url, timeout=TIMEOUT)
    res.raise_for_status()
    metadata = res.json()
    if metadata.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise RuntimeError(f"the metadata at {url} names issuer {metadata.get('issuer')!r}")
    return metadata


def validate_id_token(id_token, metadata, client_id, expected_sub=None):
    """OpenID Connect Core §3.1.3.7: the signature by a key of jwks_uri, then the claims."""
    jwks = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    jwks.raise_for_status()
    claims = JsonWebToken(ID_TOKEN_ALGORITHMS).decode(
        id_token,
        key=JsonWebKey.import_key_set(jwks.json()),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": client_id},
        },
        # No nonce: the device flow has no authorization request to carry one.
        claims_params={"client_id": client_id},
    )
    claims.validate(leeway=LEEWAY)
    if expected_sub is not None and claims["sub"] != expected_sub:
        raise RuntimeError(f"the refreshed ID token names sub {claims['sub']!r}, not {expected_sub!r}")
    return {"header": dict(claims.header), "claims": dict(claims)}


def fetch_userinfo(session, metadata, sub):
    """OpenID Connect Core §5.3: the access token as a Bearer credential; §5.3.4: the same sub."""
    res = session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    if res.status_code != 200:
        raise RuntimeError(f"UserInfo: HTTP {res.status_code}: {res.text[:200]}")
    info = UserInfo(res.json())
    if info.get("sub") != sub:
        raise RuntimeError(f"UserInfo names sub {info.get('sub')!r}, not the ID token's {sub!r}")
    return dict(info)


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    issuer, client_id = argv[1], argv[2]
    scope = argv[3] if len(argv) == 4 else "openid offline_access"
    metadata = discover(issuer)
    token_endpoint = metadata["token_endpoint"]
    openid = "openid" in scope.split()
    oidc = discover_openid(issuer) if openid else None

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
    identity = {}
    if openid:
        if not first["id_token"]:
            raise RuntimeError("the token response has no id_token although the scope holds openid")
        id_token = validate_id_token(first["id_token"], oidc, client_id)
        identity = {"id_token": id_token, "userinfo": fetch_userinfo(session, oidc, id_token["claims"]["sub"])}
    emit("token", token=first, polls=polls, **identity)

    refreshed = token_fields(session.refresh_token(token_endpoint, refresh_token=first["refresh_token"]))
    renewed = {}
    if openid and refreshed["id_token"]:
        renewed = {"id_token": validate_id_token(refreshed["id_token"], oidc, client_id, identity["id_token"]["claims"]["sub"])}
    emit("refreshed", token=refreshed, **renewed)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except OAuthError as err:
        sys.exit(f"authlib_client: the server refused: {err.error}: {err.description}")
    except Exception as err:  # anything else: say what, exit 1
        sys.exit(f"authlib_client: {type(err).__name__}: {err}")
