"""Post tags: one short link, many posts.

People put one link in a bio or reuse it across many posts. `/CODE~POST`
is served as `/CODE` and records POST on the click, so the posts can be
told apart without a link per post. A tag is 1 to 40 letters, digits, `-`
or `_`. An invalid one is ignored: the link is served as if none were
given and the click records no post -- a typo in a caption must never cost
the click.

The tilde is an unreserved character (RFC 3986, 2.3): percent-encoding
leaves it as it is, and link detection keeps it inside the URL
(twitter-text and Android's Linkify list it among a path's characters).
A client that writes it as `%7E` reaches us with `~` all the same: the
server decodes the path (PATH_INFO) before anything here reads it.
"""

import re

SEPARATOR = "~"
MAX_LENGTH = 40
POST_TAG = re.compile(r"[A-Za-z0-9_-]{1,40}")


def split_path(segment: str) -> tuple[str, str | None]:
    """(code, post) of the path segment `CODE~POST` (or `CODE`); post is
    None when there is no tag or it is not a valid one."""
    code, separator, tag = segment.partition(SEPARATOR)
    if separator and POST_TAG.fullmatch(tag):
        return code, tag
    return code, None


def tagged(code: str, post: str | None) -> str:
    """The path segment of `code` shared in `post`."""
    return f"{code}{SEPARATOR}{post}" if post else code
