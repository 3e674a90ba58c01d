"""The marketer's dashboard: server-rendered pages under /dashboard.

Registered by the composition root (`shortener/app.py`); imports from `shortener` and
`conversions`, never the other way round.
"""


def init_app(app):
    from . import (  # noqa: F401 -- the page modules add their routes to bp
        advocate_pages,
        audit_pages,
        cli,
        conversion_pages,
        cost_pages,
        exports,
        formats,
        link_pages,
        report_catalogue,
        report_pages,
        reward_pages,
        sessions,
        setup_pages,
        signin,
        webhook_pages,
    )
    from .web import bp

    sessions.configure(app)
    for name, function in formats.FILTERS.items():
        app.add_template_filter(function, name)
    app.register_blueprint(bp)
    app.cli.add_command(cli.users_cli)
