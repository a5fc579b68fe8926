"""Order-tagged reply addresses: `orders+1042c.k3f9az@desk.example` says "order 1042, the
client's thread" (`e` for the executor's), and the token after the dot, an HMAC of the
rest, proves that we made it: a guessed or edited tag does not thread. The spelling is a
pattern (PULT_EMAIL_TAG_PATTERN) for servers without plus-addressing, e.g. a catch-all
domain: `{tag}@orders.desk.example`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import cached_property

SIDES = {"c": "client", "e": "executor"}
LETTERS = {side: letter for letter, side in SIDES.items()}
TOKEN_LENGTH = 6  # base32: 30 bits, far beyond guessing by sending mail
_TAG = rf"(?P<number>\d{{1,9}})(?P<side>[ce])\.(?P<token>[a-z2-7]{{{TOKEN_LENGTH}}})"


@dataclass(frozen=True, slots=True)
class Tag:
    order_number: int
    side: str  # "client" | "executor"


@dataclass(frozen=True)
class ReplyAddresses:
    desk_address: str
    pattern: str
    secret: bytes

    @cached_property
    def _local_domain(self) -> tuple[str, str]:
        local, _, domain = self.desk_address.rpartition("@")
        return local, domain

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        local, domain = self._local_domain
        marker = "\x00TAG\x00"
        spelled = re.escape(self.pattern.format(local=local, domain=domain, tag=marker))
        return re.compile(spelled.replace(re.escape(marker), _TAG), re.I)

    def token(self, order_number: int, side: str) -> str:
        digest = hmac.new(self.secret, f"{order_number}{LETTERS[side]}".encode(), hashlib.sha256)
        return base64.b32encode(digest.digest()).decode().lower()[:TOKEN_LENGTH]

    def reply_address(self, order_number: int, side: str) -> str:
        """Where a reply about `order_number`'s `side` thread comes back to."""
        local, domain = self._local_domain
        tag = f"{order_number}{LETTERS[side]}.{self.token(order_number, side)}"
        return self.pattern.format(local=local, domain=domain, tag=tag)

    def read(self, address: str) -> Tag | None:
        """The tag of a tagged address with a valid token; None for any other address,
        a forged token included."""
        match = self._regex.fullmatch(address.strip())
        if match is None:
            return None
        number, side = int(match["number"]), SIDES[match["side"].lower()]
        if not hmac.compare_digest(match["token"].lower(), self.token(number, side)):
            return None
        return Tag(number, side)

    def looks_tagged(self, address: str) -> bool:
        """Tag-shaped, whatever the token (to tell a forged tag from a plain address)."""
        return self._regex.fullmatch(address.strip()) is not None
