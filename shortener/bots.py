"""Telling people from machines.

Link-preview crawlers fetch every link posted on social networks; counting
them would inflate clicks on exactly the channels being measured. They get
the redirect (the preview must work) but no cookie, and their clicks are
stored flagged as bots so they never count as visitors.
"""

import re

PREVIEW_CRAWLERS = [
    ("facebook", r"facebookexternalhit|facebookcatalog|facebot|meta-externalagent"),
    ("x", r"twitterbot"),
    ("linkedin", r"linkedinbot"),
    ("slack", r"slackbot|slack-imgproxy"),
    ("discord", r"discordbot"),
    ("whatsapp", r"whatsapp"),
    ("telegram", r"telegrambot"),
    ("pinterest", r"pinterestbot|pinterest/0\."),
    ("reddit", r"redditbot"),
    ("skype", r"skypeuripreview"),
    ("mastodon", r"mastodon/"),
    ("bluesky", r"bluesky|cardyb"),
    ("apple", r"applebot"),
    ("google", r"googlebot|google-inspectiontool|adsbot-google|mediapartners-google"),
    ("bing", r"bingbot|bingpreview|msnbot"),
    ("other", r"embedly|iframely|vkshare|quora link preview|yandex|baiduspider"
              r"|duckduckbot|petalbot|semrush|ahrefs|mj12bot|dotbot"),
]  # fmt: skip
_CRAWLER = re.compile(
    "|".join(f"(?P<{name}>{pattern})" for name, pattern in PREVIEW_CRAWLERS),
    re.IGNORECASE,
)
_AUTOMATION = re.compile(
    r"^(curl|wget|python-requests|python-urllib|go-http-client|java/|okhttp"
    r"|libwww-perl|httpie|axios|node-fetch|aiohttp|scrapy)",
    re.IGNORECASE,
)
# headless browsers name themselves anywhere in the string; a person's
# browser never does (test suites that drive one override the user agent)
_HEADLESS = re.compile(r"headlesschrome|phantomjs", re.IGNORECASE)


def crawler_platform(user_agent: str) -> str | None:
    """The platform whose link-preview crawler sent this user agent, if any."""
    match = _CRAWLER.search(user_agent)
    return match.lastgroup if match else None


def is_automation(user_agent: str) -> bool:
    return (
        not user_agent.strip()
        or bool(_AUTOMATION.match(user_agent))
        or bool(_HEADLESS.search(user_agent))
    )


def is_prefetch(headers) -> bool:
    """Browsers and apps that fetch a link speculatively say so; those are
    not clicks by a person."""
    purpose = headers.get("Sec-Purpose") or headers.get("Purpose") or headers.get("X-Purpose")
    if purpose and ("prefetch" in purpose.lower() or "preview" in purpose.lower()):
        return True
    return (headers.get("X-Moz") or "").lower() == "prefetch"
