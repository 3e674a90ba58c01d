"""A realistic spread of user agents for the load tests.

Several hundred distinct strings, the way traffic from social posts looks:
mostly phones (in-app browsers of the networks themselves, Safari, Chrome),
desktops, a few tablets, and link-preview crawlers and scripts (about one
request in ten). Deterministic, so runs compare.
"""

import random

CHROME = [f"{v}.0.0.0" for v in range(109, 132)]
FIREFOX = [f"{v}.0" for v in range(115, 134)]
IOS = ["15_8", "16_6", "16_7_8", "17_0", "17_2_1", "17_4", "17_5_1", "17_6", "18_0", "18_1"]
ANDROID_DEVICES = [
    ("13", "SM-S911B"),
    ("14", "SM-S921B"),
    ("14", "Pixel 8"),
    ("14", "Pixel 7a"),
    ("13", "SM-A536B"),
    ("12", "M2101K6G"),
    ("13", "2201117TY"),
    ("11", "moto g(30)"),
    ("14", "CPH2449"),
    ("10", "K"),
]
ANDROID_TABLETS = [("13", "SM-X200"), ("12", "Lenovo TB-X606F"), ("14", "SM-X710")]
DESKTOP_OS = [
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Linux x86_64",
    "X11; CrOS x86_64 14541.0.0",
]


def humans() -> list[str]:
    uas = []
    for v in CHROME:
        for os_ in DESKTOP_OS:
            uas.append(
                f"Mozilla/5.0 ({os_}) AppleWebKit/537.36 (KHTML, like Gecko)"
                f" Chrome/{v} Safari/537.36"
            )
        uas.append(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
            f" Chrome/{v} Safari/537.36 Edg/{v}"
        )
        for android, model in ANDROID_DEVICES[:6]:
            uas.append(
                f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36"
                f" (KHTML, like Gecko) Chrome/{v} Mobile Safari/537.36"
            )
    for v in FIREFOX:
        uas.append(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}) Gecko/20100101 Firefox/{v}")
        uas.append(
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}) Gecko/20100101 Firefox/{v}"
        )
        uas.append(f"Mozilla/5.0 (Android 14; Mobile; rv:{v}) Gecko/{v} Firefox/{v}")
    for ios in IOS:
        major = ios.split("_")[0]
        minor = ios.replace("_", ".")
        uas.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Version/{minor[:4]} Mobile/15E148 Safari/604.1"
        )
        uas.append(
            f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Version/{minor[:4]} Mobile/15E148 Safari/604.1"
        )
        uas.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/4{major}0.0.0.36.97;"
            f"FBBV/5{major}123456;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/{minor};"
            "FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
        )
        uas.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Mobile/15E148 Instagram 3{major}.0.0.21.108"
            " (iPhone14,2; iOS {minor}; en_US; en; scale=3.00; 1170x2532; 5{major}0412)"
        )
        uas.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Mobile/15E148 LinkedInApp/9.29.{major}"
        )
        uas.append(
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) CriOS/{CHROME[-1]} Mobile/15E148 Safari/604.1"
        )
    for android, model in ANDROID_DEVICES:
        uas.append(
            f"Mozilla/5.0 (Linux; Android {android}; {model} Build/TP1A.220624.014; wv)"
            " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82"
            " Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;]"
        )
        uas.append(
            f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36"
            " (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
        )
        uas.append(
            f"Mozilla/5.0 (Linux; Android {android}; {model}; wv) AppleWebKit/537.36"
            " (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36"
            " trill_340503 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly"
        )
    for android, model in ANDROID_TABLETS:
        uas.append(
            f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36"
            " (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
        )
    for v in ("16.6", "17.4.1", "17.5", "18.0"):
        uas.append(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
            f" (KHTML, like Gecko) Version/{v} Safari/605.1.15"
        )
    return uas


BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1;line-poker/1.0",
    "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slack-ImgProxy (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Pinterestbot/1.0 (+http://www.pinterest.com/bot.html)",
    "redditbot/1.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0;"
    " +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mastodon/4.2.8 (http.rb/5.1.1; +https://mastodon.social/)",
    "Bluesky Cardyb/1.1",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Iframely/1.3.1 (+https://iframely.com/docs/about)",
]


def spread(seed: int = 7) -> list[str]:
    """Distinct human agents and each bot twice (about one in ten), shuffled."""
    rng = random.Random(seed)
    mix = sorted(set(humans())) + BOTS * 2
    rng.shuffle(mix)
    return mix
