"""Two-way SMS, the pure parts: gateways' signatures (Twilio's own published example), what a
reply says, and the text a page sends."""

from __future__ import annotations

from oncall.messages import MessageKind, sms_text
from oncall.sms import replies
from oncall.sms.replies import Action
from oncall.sms.signatures import (
    normalise,
    phone_digest,
    signed_json_signature,
    signed_json_valid,
    twilio_signature,
    twilio_valid,
)

# Twilio's example in its security documentation (and its libraries' tests)
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


def test_the_twilio_signature_is_twilios_own_published_example():
    assert twilio_signature("12345", URL, PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_valid("12345", URL, list(reversed(PARAMS)), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")  # any order
    # a name given several times: each distinct value, sorted (Twilio's libraries' second example)
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert twilio_signature("12345", URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_a_changed_parameter_url_or_token_and_a_missing_signature_are_refused():
    good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert not twilio_valid("12345", URL + "&x=1", PARAMS, good)
    assert not twilio_valid("12345", URL, [*PARAMS[:2], ("Digits", "9999"), *PARAMS[3:]], good)
    assert not twilio_valid("54321", URL, PARAMS, good)
    assert not twilio_valid("12345", URL, PARAMS, None)
    assert not twilio_valid("", URL, PARAMS, good)  # no token configured: nothing is valid


def test_signed_json_is_refused_when_altered_or_older_than_five_minutes():
    body = b'{"id":"m1","from":"+15550100199","text":"T 4821"}'
    signature = signed_json_signature("s3cret", "1796100000", body)
    assert signed_json_valid("s3cret", "1796100000", body, signature, now=1796100100)
    assert not signed_json_valid("s3cret", "1796100000", body + b" ", signature, now=1796100100)
    assert not signed_json_valid("s3cret", "1796100000", body, signature, now=1796100000 + 301)
    assert not signed_json_valid("s3cret", "not-a-time", body, signature, now=1796100100)
    assert not signed_json_valid("other", "1796100000", body, signature, now=1796100100)


def test_a_phone_is_one_number_however_it_is_written_and_kept_only_as_a_keyed_digest():
    assert normalise("+1 555 010 0199") == normalise("(555) 010-0199") == "+15550100199"
    digest = phone_digest("k", "+1 555 010 0199")
    assert digest == phone_digest("k", "+15550100199") != phone_digest("other key", "+15550100199")
    assert b"5550100199" not in digest


def test_a_reply_takes_or_declines_with_its_code_in_english_or_french():
    assert replies.parse("T 4821") == (Action.TAKE, "4821")
    assert replies.parse(" take4821 ") == (Action.TAKE, "4821")
    assert replies.parse("p 4821") == (Action.TAKE, "4821")
    assert replies.parse("D 0042") == (Action.DECLINE, "0042")
    assert replies.parse("refuser 0042") == (Action.DECLINE, "0042")
    for unclear in ("4821", "T", "T 48211", "maybe 4821", "", "T 4821 please"):
        assert replies.parse(unclear) is None, unclear
    # the replies fit a text message part each and carry no accents (GSM alphabet)
    assert all(len(text) <= 320 and text.isascii() for text in replies.TEXTS.values())


def test_a_pages_text_gives_site_urgency_deadline_and_the_reply_code_never_the_worker():
    detail = {
        "site_id": "north-general",
        "crisis": True,
        "acknowledge_by": "2026-12-01T08:05:00+00:00",
        "time_zone": "America/Toronto",
        "referral_id": "r-1",
    }
    text = sms_text(MessageKind.PAGE, detail, {"acknowledge": "https://x/answer?t=1"}, "4821")
    assert text.startswith("URGENT (crisis) Peer support request at north-general.")
    assert "03:05" in text and "Reply T 4821 to take it, D 4821 to decline." in text
    assert text.endswith("https://x/answer?t=1") and len(text) <= 320
