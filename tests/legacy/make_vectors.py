#!/usr/bin/env python3
"""Writes tests/data/legacy_vectors.json: session cookies written by the released Flask and
Django packages and by webapp2 2.5.2's securecookie code, for the LegacyCookie tests.

    python3 -m venv /tmp/legacy-venv
    /tmp/legacy-venv/bin/pip install 'flask==3.1.*' 'django==5.2.*'
    /tmp/legacy-venv/bin/python tests/legacy/make_vectors.py

The Rust tests read the JSON file only: they need no Python.

- Flask: each cookie is the `Set-Cookie` of a real request through Flask's test client (its
  `SecureCookieSessionInterface`, itsdangerous underneath), with `flash()` and tagged values.
- Django: each cookie is `SessionStore.session_key` of `django.contrib.sessions.backends.
  signed_cookies`, which is the cookie value Django's session middleware sets.
- webapp2 2.5.2 runs on Python 2 only, so `serialize` below is a line-by-line port of its
  `webapp2_extras.securecookie.SecureCookieSerializer.serialize` and of the
  `webapp2_extras.json.encode/b64encode` it calls (from the sdist: `pip download
  webapp2==2.5.2`), changed only where Python 3 needs bytes.

Every cookie is signed at the fixed instant SIGNED_AT (time.time is frozen), and each case
says the instant `now` the Rust test reads it at.
"""

import base64
import datetime
import hashlib
import hmac
import json
from importlib import metadata
import os
import sys
import time
import uuid

SIGNED_AT = 1_765_000_000  # 2025-12-06T05:46:40Z
HOUR = 3600
DAY = 86400

time.time = lambda: float(SIGNED_AT)  # every framework below signs at SIGNED_AT


# --- webapp2 2.5.2, webapp2_extras/json.py and securecookie.py, ported ------------------------

def webapp2_json_encode(value):
    # json.encode: separators (',', ':'), and '</' escaped so the JSON can sit in a <script>.
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def webapp2_serialize(secret_key, name, value):
    # SecureCookieSerializer.serialize
    timestamp = str(int(time.time()))
    value = base64.b64encode(webapp2_json_encode(value).encode()).decode()  # json.b64encode
    signature = hmac.new(secret_key.encode(), digestmod=hashlib.sha1)  # _get_signature
    signature.update("|".join([name, value, timestamp]).encode())
    return "|".join([value, timestamp, signature.hexdigest()])


# --- Flask ---------------------------------------------------------------------------------------

def flask_cookie(secret_key, fill, fallbacks=None):
    import flask

    app = flask.Flask("vectors")
    app.secret_key = secret_key
    if fallbacks:
        app.config["SECRET_KEY_FALLBACKS"] = fallbacks

    @app.route("/")
    def index():
        fill(flask.session, flask.flash)
        return "ok"

    response = app.test_client().get("/")
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "session":
            return rest.split(";", 1)[0]
    raise RuntimeError("Flask set no session cookie")


# --- Django --------------------------------------------------------------------------------------

def django_setup():
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="django-insecure-the-old-apps-secret-key-0123456789",
        SECRET_KEY_FALLBACKS=["django-insecure-an-even-older-secret-key-9876543210"],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        USE_TZ=True,
    )
    django.setup()


def django_cookie(values, secret=None):
    from django.conf import settings
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.test.utils import override_settings

    with override_settings(SECRET_KEY=secret or settings.SECRET_KEY):
        store = SessionStore()
        for key, value in values.items():
            store[key] = value
        store.save()
        return store.session_key


def main():
    import django
    from markupsafe import Markup

    django_setup()
    cases = []

    def case(**fields):
        cases.append(fields)

    # webapp2 ------------------------------------------------------------------------------------
    w_secret = "webapp2 secret key of the old app"
    w_values = {
        "user_id": 42,
        "name": "Zo\u00eb </script>",
        "cart": {"items": [1, 2, 3], "total": 9.5},
        "_flash": [["Welcome back", "success"], ["Plain", None]],
    }
    w_cookie = webapp2_serialize(w_secret, "session", w_values)
    case(name="webapp2 session with flashes", format="webapp2", secret=w_secret,
         cookie_name="session", max_age=DAY, value=w_cookie, now=SIGNED_AT + HOUR,
         expected=w_values)
    case(name="webapp2 value quoted by old WebOb", format="webapp2", secret=w_secret,
         cookie_name="session", max_age=DAY, value='"%s"' % w_cookie, now=SIGNED_AT + HOUR,
         expected=w_values)
    auth = {"_user": [7, True, "token", SIGNED_AT], "user_id": 7}
    case(name="webapp2 auth session: _user kept as legacy_user", format="webapp2",
         secret=w_secret, cookie_name="auth", max_age=DAY,
         value=webapp2_serialize(w_secret, "auth", auth), now=SIGNED_AT + HOUR,
         expected={"legacy_user": auth["_user"], "user_id": 7})
    case(name="webapp2 signed for another cookie name", format="webapp2", secret=w_secret,
         cookie_name="session", max_age=DAY,
         value=webapp2_serialize(w_secret, "other", w_values), now=SIGNED_AT + HOUR,
         refused="BadSignature")
    case(name="webapp2 another secret", format="webapp2", secret=w_secret,
         cookie_name="session", max_age=DAY,
         value=webapp2_serialize("another secret entirely", "session", w_values),
         now=SIGNED_AT + HOUR, refused="BadSignature")
    case(name="webapp2 older than max_age", format="webapp2", secret=w_secret,
         cookie_name="session", max_age=DAY, value=w_cookie, now=SIGNED_AT + DAY + 1,
         refused="Expired")

    # Flask ----------------------------------------------------------------------------------------
    f_secret = "flask secret key of the old app"

    def plain(session, flash):
        session["user_id"] = 42
        session["name"] = "Zo\u00eb </script>"
        session["cart"] = {"items": [1, 2, 3], "total": 9.5}
        flash("Welcome back", "success")
        flash("Plain")

    f_plain = flask_cookie(f_secret, plain)
    f_expected = {
        "user_id": 42,
        "name": "Zo\u00eb </script>",
        "cart": {"items": [1, 2, 3], "total": 9.5},
        "_flash": [["Welcome back", "success"], ["Plain", "message"]],
    }
    case(name="flask session with flashes", format="flask", secret=f_secret,
         cookie_name="session", value=f_plain, now=SIGNED_AT + HOUR, expected=f_expected)

    def small(session, flash):
        session["n"] = 1

    f_small = flask_cookie(f_secret, small)
    assert not f_small.startswith("."), "a short session stays uncompressed"
    case(name="flask uncompressed", format="flask", secret=f_secret, cookie_name="session",
         value=f_small, now=SIGNED_AT + HOUR, expected={"n": 1})

    when = datetime.datetime(2025, 12, 1, 12, 30, tzinfo=datetime.timezone.utc)
    an_id = uuid.UUID("12345678-1234-5678-1234-567812345678")

    def tagged(session, flash):
        session.permanent = True
        session["pair"] = (1, (2, 3))
        session["raw"] = b"\x00bytes\xff"
        session["html"] = Markup("<b>bold</b>")
        session["id"] = an_id
        session["when"] = when
        session["odd"] = {" t": "a key that looks like a tag"}

    case(name="flask tagged values, permanent", format="flask", secret=f_secret,
         cookie_name="session", value=flask_cookie(f_secret, tagged), now=SIGNED_AT + HOUR,
         expected={
             "pair": [1, [2, 3]],
             "raw": base64.b64encode(b"\x00bytes\xff").decode(),
             "html": "<b>bold</b>",
             "id": str(an_id),
             "when": "Mon, 01 Dec 2025 12:30:00 GMT",
             "odd": {" t": "a key that looks like a tag"},
         })

    def big(session, flash):
        session["notes"] = "all work and no play " * 100

    f_big = flask_cookie(f_secret, big)
    assert f_big.startswith("."), "Flask compresses a repetitive session"
    case(name="flask compressed", format="flask", secret=f_secret, cookie_name="session",
         value=f_big, now=SIGNED_AT + HOUR, expected={"notes": "all work and no play " * 100})

    def bomb(session, flash):
        session["bomb"] = "a" * (70 * 1024)

    f_bomb = flask_cookie(f_secret, bomb)
    assert f_bomb.startswith(".") and len(f_bomb) < 1024
    case(name="flask compressed past the bound", format="flask", secret=f_secret,
         cookie_name="session", value=f_bomb, now=SIGNED_AT + HOUR, refused="TooLarge")

    f_old = "the secret flask used before"
    case(name="flask signed with a fallback secret", format="flask", secret=f_secret,
         fallback_secrets=[f_old], cookie_name="session",
         value=flask_cookie(f_old, plain), now=SIGNED_AT + HOUR, expected=f_expected)
    case(name="flask another secret", format="flask", secret=f_secret, cookie_name="session",
         value=flask_cookie("another secret entirely", plain), now=SIGNED_AT + HOUR,
         refused="BadSignature")
    case(name="flask older than 31 days", format="flask", secret=f_secret,
         cookie_name="session", value=f_plain, now=SIGNED_AT + 31 * DAY + 1, refused="Expired")

    # Django ---------------------------------------------------------------------------------------
    from django.conf import settings

    d_secret = settings.SECRET_KEY
    d_values = {
        "_auth_user_id": "42",
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": "0" * 64,
        "name": "Zo\u00eb </script>",
        "cart": {"items": [1, 2, 3], "total": 9.5},
    }
    d_plain = django_cookie(d_values)
    case(name="django session", format="django", secret=d_secret, cookie_name="sessionid",
         value=d_plain, now=SIGNED_AT + HOUR, expected=d_values)
    d_small = django_cookie({"n": 1})
    assert not d_small.startswith("."), "a short session stays uncompressed"
    case(name="django uncompressed", format="django", secret=d_secret, cookie_name="sessionid",
         value=d_small, now=SIGNED_AT + HOUR, expected={"n": 1})
    d_big_values = {"notes": "all work and no play " * 100, "_session_expiry": 600}
    d_big = django_cookie(d_big_values)
    assert d_big.startswith(".")
    case(name="django compressed, _session_expiry dropped", format="django", secret=d_secret,
         cookie_name="sessionid", value=d_big, now=SIGNED_AT + HOUR,
         expected={"notes": "all work and no play " * 100})
    d_large = django_cookie({"large": "a" * 20_000})
    assert len(d_large) < 1024
    case(name="django large, within the bound", format="django", secret=d_secret,
         cookie_name="sessionid", value=d_large, now=SIGNED_AT + HOUR,
         expected={"large": "a" * 20_000})
    d_bomb = django_cookie({"bomb": "a" * (70 * 1024)})
    assert d_bomb.startswith(".") and len(d_bomb) < 1024
    case(name="django compressed past the bound", format="django", secret=d_secret,
         cookie_name="sessionid", value=d_bomb, now=SIGNED_AT + HOUR, refused="TooLarge")
    d_old = settings.SECRET_KEY_FALLBACKS[0]
    case(name="django signed with a fallback secret", format="django", secret=d_secret,
         fallback_secrets=[d_old], cookie_name="sessionid",
         value=django_cookie(d_values, secret=d_old), now=SIGNED_AT + HOUR, expected=d_values)
    case(name="django another secret", format="django", secret=d_secret,
         cookie_name="sessionid", value=django_cookie(d_values, secret="another secret entirely"),
         now=SIGNED_AT + HOUR, refused="BadSignature")
    case(name="django older than 14 days", format="django", secret=d_secret,
         cookie_name="sessionid", value=d_plain, now=SIGNED_AT + 14 * DAY + 1,
         refused="Expired")

    out = {
        "made_by": "tests/legacy/make_vectors.py",
        "python": sys.version.split()[0],
        "flask": metadata.version("flask"),
        "itsdangerous": metadata.version("itsdangerous"),
        "django": django.get_version(),
        "webapp2": "2.5.2 securecookie, ported (see make_vectors.py)",
        "signed_at": SIGNED_AT,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "data", "legacy_vectors.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), os.path.normpath(path)))


if __name__ == "__main__":
    main()
