"""Standard Webhooks signatures, checked against the specification's own
test vector and against HMACs computed here independently."""

import base64
import hashlib
import hmac

import pytest

from conversions.signing import SignatureError, secret_key, sign, verify

# The test vector of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
# test_sign_function): this secret, id, timestamp and payload sign to EXPECTED.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# the reference tests' "invalid signature": the same but for its last character
VECTOR_WRONG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret, 32 bytes long!!!").decode()


def headers(signature, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP):
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def check(signature, secrets=(VECTOR_SECRET,), now=VECTOR_TIMESTAMP, **kwargs):
    return verify(list(secrets), headers(signature, **kwargs), VECTOR_PAYLOAD, now=now)


def test_sign_matches_the_reference_vector():
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD) == VECTOR_SIGNATURE


def test_sign_matches_an_independent_hmac():
    # key = base64-decoded part after whsec_; message = "id.timestamp.body"
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    message = b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + b'{"test": 2432232314}'
    expected = "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    assert expected == VECTOR_SIGNATURE
    body = b'{"goal": "purchase", "value": "49.90"}'
    key2 = base64.b64decode(OTHER_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key2, b"msg_2.1700000000." + body, hashlib.sha256).digest()
    assert (
        sign(OTHER_SECRET, "msg_2", 1700000000, body) == "v1," + base64.b64encode(digest).decode()
    )


def test_the_reference_vector_verifies_and_returns_the_id():
    assert check(VECTOR_SIGNATURE) == VECTOR_ID


def test_the_reference_invalid_signature_is_refused_with_401():
    with pytest.raises(SignatureError) as e:
        check(VECTOR_WRONG)
    assert e.value.status == 401


def test_secret_with_or_without_prefix_and_padding():
    # the reference libraries accept the bare base64 and unpadded base64
    assert secret_key(VECTOR_SECRET) == secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert secret_key("whsec_YQ") == b"a"  # "YQ==" without its padding
    for bad in ("whsec_", "whsec_!!!!", "whsec_Y"):
        with pytest.raises(ValueError):
            secret_key(bad)


def test_several_signatures_one_valid():
    # the reference test_multi_sig_payload_is_valid: wrong v1, a v2, the valid one
    listed = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            VECTOR_SIGNATURE,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    assert check(listed) == VECTOR_ID


def test_only_v1_counts():
    # the right HMAC under another version label is not a v1 signature
    with pytest.raises(SignatureError) as e:
        check("v2," + VECTOR_SIGNATURE.removeprefix("v1,"))
    assert e.value.status == 401


def test_rotation_any_configured_secret_verifies():
    assert check(VECTOR_SIGNATURE, secrets=[OTHER_SECRET, VECTOR_SECRET]) == VECTOR_ID
    new_signature = sign(OTHER_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD)
    assert check(new_signature, secrets=[OTHER_SECRET, VECTOR_SECRET]) == VECTOR_ID
    with pytest.raises(SignatureError):
        check(new_signature, secrets=[VECTOR_SECRET])


def test_body_id_and_timestamp_are_all_signed():
    with pytest.raises(SignatureError):
        verify([VECTOR_SECRET], headers(VECTOR_SIGNATURE), VECTOR_PAYLOAD + b" ", VECTOR_TIMESTAMP)
    with pytest.raises(SignatureError):
        check(VECTOR_SIGNATURE, msg_id="msg_other")
    with pytest.raises(SignatureError):
        check(VECTOR_SIGNATURE, timestamp=VECTOR_TIMESTAMP + 1, now=VECTOR_TIMESTAMP + 1)


@pytest.mark.parametrize(
    ("skew", "accepted"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (86400, False)],
)
def test_timestamp_tolerance_is_five_minutes_either_way(skew, accepted):
    # `now` is the server's clock; skew > 0: the message is old, < 0: ahead
    now = VECTOR_TIMESTAMP + skew
    if accepted:
        assert check(VECTOR_SIGNATURE, now=now) == VECTOR_ID
    else:
        with pytest.raises(SignatureError) as e:
            check(VECTOR_SIGNATURE, now=now)
        assert e.value.status == 400


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        ("", 401),
        ("   ", 401),
        ("v1,", 401),
        ("v1", 401),
        (",", 401),
        ("garbage", 401),
        ("v1,not base64 at all", 401),
        ("v1,,,,", 401),
        ("v1," + "A" * 10000, 401),
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", 401),  # padding cut
        ("\u00e9\u00e9", 401),
    ],
)
def test_malformed_signatures_are_refused(signature, status):
    with pytest.raises(SignatureError) as e:
        check(signature)
    assert e.value.status == status


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"webhook-id": ""}, 400),
        ({"webhook-id": "has space"}, 400),
        ({"webhook-id": "x" * 129}, 400),
        ({"webhook-timestamp": ""}, 400),
        ({"webhook-timestamp": "hello"}, 400),
        ({"webhook-timestamp": "-1"}, 400),
        ({"webhook-timestamp": "1614265330.5"}, 400),
        ({"webhook-timestamp": "1" * 40}, 400),
        ({"webhook-timestamp": "\u0661\u0662"}, 400),  # Arabic-Indic digits are not ASCII
    ],
)
def test_malformed_id_or_timestamp(changes, status):
    given = headers(VECTOR_SIGNATURE) | changes
    with pytest.raises(SignatureError) as e:
        verify([VECTOR_SECRET], given, VECTOR_PAYLOAD, now=VECTOR_TIMESTAMP)
    assert e.value.status == status


def test_no_secret_configured_refuses_everything():
    with pytest.raises(SignatureError) as e:
        check(VECTOR_SIGNATURE, secrets=[])
    assert e.value.status == 401
