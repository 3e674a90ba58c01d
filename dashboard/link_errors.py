"""The link form's errors in a marketer's words.

The API's messages name JSON keys ("url is required and must be a string"),
and API clients depend on them, so they stay as they are; the dashboard says
the same thing in the words of the form's labels, and says what to enter.
A message this module does not recognise is shown as the API wrote it.
"""

import re

from shortener.errors import ApiError

# the form's boxes, as a sentence names them
LABELS = {
    "url": "destination URL",
    "channel": "channel",
    "campaign": "campaign",
    "medium": "medium",
    "content": "content",
    "term": "term",
    "tags": "tags",
    "code": "code",
    "expires_at": "expiry",
    "max_clicks": "click limit",
    "expired_url": "address for visitors after expiry or the limit",
    "ios_url": "address for iPhone and iPad visitors",
    "android_url": "address for Android visitors",
    "desktop_url": "address for desktop visitors",
    "destinations": "A/B destinations",
    "country_urls": "country destinations",
    "title": "preview title",
    "description": "preview description",
    "image": "preview image URL",
    "password": "password",
}
# what a destination-like box says when it is refused (shortener.links'
# normalise_destination), by the words of the API's message
URL_PROBLEMS = [
    ("is required", "Enter the {label}, starting with https://"),
    ("must start with http", "Start the {label} with https:// (or http://)"),
    ("spaces or control characters", "Remove the spaces from the {label}"),
    ("user name or password", "Remove the user name and password from the {label}"),
    ("valid host", "Check the {label}: the site's name in it is not valid"),
    ("malformed", "Check the {label}: it is not a web address, e.g. https://www.example.com/"),
    ("longer than", "Shorten the {label} to 2,048 characters or fewer"),
    ("back at this shortener", "Give the page itself as the {label}, not one of our short links"),
    ("another link shortener", "Give the page itself as the {label}, not another short link"),
]
URL_FIELDS = {"url", "expired_url", "ios_url", "android_url", "desktop_url", "image"}
DESTINATION_PROBLEMS = [
    ("one per line", "Write one A/B destination per line: its URL, a whole-number weight"
     " and, if you like, a name, e.g. https://www.example.com/a, 50, Hero video"),
    ("list of 2 to", "Give at least two A/B destinations, one per line"),
    ("weights", "Give each A/B destination a whole-number weight of 1 or more"),
    ("names are", "Name each A/B destination with up to 32 letters, digits, spaces, '.', '-'"
     " or '_', e.g. Hero video"),
    ("is used twice", "Give each A/B destination its own name"),
]  # fmt: skip
EXAMPLES = {"campaign": "spring-sale", "medium": "social", "content": "post-1", "term": "shoes"}
TOO_LONG = re.compile(r"at most (\d+) characters")


def for_marketer(error: ApiError) -> str:
    """What the form shows for an error the API's rules raised."""
    field, message = error.field, error.message
    if field in URL_FIELDS or (field == "destinations" and message.startswith("url ")):
        label = LABELS[field] if field != "destinations" else "URL of each A/B destination"
        return _first(URL_PROBLEMS, message, label) or message
    if field == "destinations":
        return _first(DESTINATION_PROBLEMS, message, "") or message
    if field == "country_urls":
        return _country_problem(message)
    if field == "channel":
        return (
            "Enter the channel in lower-case letters, digits, '.', '-' or '_',"
            " up to 40 characters, e.g. linkedin"
        )
    if field == "code":
        return _code_problem(message)
    if field == "expires_at":
        if "in the past" in message:
            return "Choose an expiry in the future (the time is UTC)"
        return "Enter the expiry as a date and a time"
    if field == "max_clicks":
        return "Enter the click limit as a whole number of 1 or more, or leave it empty"
    if field == "password":
        return "Choose a password of 8 to 128 characters, or leave the box empty"
    if field in LABELS:
        return _text_problem(field, message)
    return message


def _country_problem(message: str) -> str:
    if message.startswith("url "):
        return _first(URL_PROBLEMS, message, "URL of each country destination") or message
    if "one per line" in message:
        return "Write one country destination per line: a two-letter country code and a URL," \
               " e.g. DE https://www.example.com/de"  # fmt: skip
    code = re.search(r"'([^']*)' is not", message)
    if code:
        return f"{code.group(1)} is not a country code: use two letters, e.g. DE, FR or US"
    if "twice" in message:
        return "Give each country one destination"
    return message


def missing(field: str) -> str:
    """A required box left empty."""
    return for_marketer(ApiError(f"{field} is required", field=field))


def _first(problems, message: str, label: str) -> str | None:
    for words, wording in problems:
        if words in message:
            return wording.format(label=label)
    return None


def _code_problem(message: str) -> str:
    quoted = re.search(r"'([^']*)'", message)
    if "is taken" in message and quoted:
        return f"Choose another code: {quoted.group(1)} is already in use (or leave it empty)"
    if "is reserved" in message and quoted:
        return f"Choose another code: {quoted.group(1)} is reserved for the app's own pages"
    return (
        "Enter a code of 3 to 64 letters, digits, '-' or '_', starting with a letter"
        " or digit, or leave it empty for a random one"
    )


def _text_problem(field: str, message: str) -> str:
    label = LABELS[field]
    if "is required" in message:
        example = f", e.g. {EXAMPLES[field]}" if field in EXAMPLES else ""
        return f"Enter the {label}{example}"
    limit = TOO_LONG.search(message)
    if limit and field == "tags":
        return f"Keep each tag to {limit.group(1)} characters or fewer"
    if limit:
        return f"Keep the {label} to {limit.group(1)} characters or fewer"
    if field == "tags":
        return "Give at most 20 tags, separated by commas"
    return message
