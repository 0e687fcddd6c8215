"""Vietnamese mobile numbers, as staff write them and as ZNS and SMS gateways take them.

People write "0912 345 678", "0912.345.678", "+84 912 345 678" or "(84) 912-345-678";
ZNS wants 84xxxxxxxxx (zalo.cloud/zns/guidelines/handle-error-code, error -108, lists
84xxxx and 0xxxx as the accepted forms) and most SMS gateways take 84… or 0….  One
canonical form, 84 followed by the nine digits after the trunk 0, is stored; the others
are made from it.  Since the 2018 renumbering, a mobile number is 0 + nine digits whose
first is 3, 5, 7, 8 or 9; landlines (02…) cannot receive ZNS or SMS and are refused.
"""

from __future__ import annotations

import re

from streams.contract.errors import AlertDeliveryError

_SEPARATORS = re.compile(r"[\s.\-()]")
_MOBILE = re.compile(r"[35789][0-9]{8}")


class PhoneError(AlertDeliveryError, ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """`raw` as 84xxxxxxxxx, or PhoneError saying why it is not a Vietnamese mobile number."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise PhoneError(f"phone {raw!r}: expected 0xxxxxxxxx or +84xxxxxxxxx")
    if not _MOBILE.fullmatch(national):
        raise PhoneError(f"phone {raw!r}: not a Vietnamese mobile number")
    return "84" + national


def local_form(phone: str) -> str:
    """0xxxxxxxxx, of a normalised number (for gateways that want the national form)."""
    return "0" + phone[2:]


def e164_form(phone: str) -> str:
    """+84xxxxxxxxx, of a normalised number."""
    return "+" + phone
