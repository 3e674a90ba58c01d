"""The dashboard's settings, with their defaults and meaning (gathered by the
composition root)."""

from shortener.settings import Setting

SETTINGS = [
    Setting(
        "DASHBOARD_SESSION_HOURS",
        12,
        "How long a dashboard sign-in lasts before the user must sign in again.",
    ),
    Setting(
        "SIGN_IN_MAX_FAILURES",
        5,
        "Failed dashboard sign-ins allowed per user name (four times as many per network) "
        "within SIGN_IN_WINDOW_SECONDS before further attempts are refused.",
    ),
    Setting(
        "SIGN_IN_WINDOW_SECONDS",
        900,
        "The window over which failed sign-ins are counted.",
    ),
]


def check(config) -> None:
    """Nothing to refuse: every dashboard setting works at any whole number."""
