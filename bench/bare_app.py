"""The baseline: a bare Flask app whose /<code> only answers a 302.

No database, no cookie, no tags -- the fastest a Flask redirect can be under
the same gunicorn settings, so clicktrail's figures are read against it.
"""

from flask import Flask, redirect

app = Flask(__name__)
DESTINATION = "https://shop.example.com/landing?utm_source=bench"


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/<code>")
def follow(code):
    return redirect(DESTINATION, 302)
